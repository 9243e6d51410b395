"""The annotation contract: what a job's owner writes, parsed into a :class:`JobSpec`.

Pure and clock-free (``now`` is not needed: the deadline is returned as an absolute POSIX time,
which *is* the operator's clock). Every problem names the annotation key and what is wrong, so
the operator can put it verbatim into an ``InvalidAnnotation`` Warning Event and leave the job
alone. Unknown keys under our prefix are errors too: a typo such as ``min-replica`` silently
ignored would let the operator act on bounds the owner never meant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from autoscaler import units
from autoscaler.decision.prices import Prices, Rate
from autoscaler.decision.types import MAX_REPLICAS as REPLICA_CAP
from autoscaler.decision.types import JobSpec, Objective, ObjectiveKind

PREFIX = "energy-autoscaler.io/"

ENABLED = "enabled"
MODE = "mode"
OBJECTIVE = "objective"
MIN_REPLICAS = "min-replicas"
MAX_REPLICAS = "max-replicas"
ENERGY_BUDGET = "energy-budget"
DEADLINE = "deadline"
TOTAL_SAMPLES = "total-samples"
PRICE_PER_KWH = "price-per-kwh"  # money per kWh drawn, currency-free
PRICE_PER_WORKER_HOUR = "price-per-worker-hour"  # money per worker per hour
CARBON_G_PER_KWH = "carbon-g-per-kwh"  # grid carbon intensity, gCO2 per kWh
MAX_POWER = "max-power"  # peak-power cap with a unit: W, kW, MW
# Which entry of a list holds the workers (a Volcano task, a Ray worker group) when a kind keeps
# its degree in a named list entry and the list has several (autoscaler.kube.kindref).
WORKER_GROUP = "worker-group"
RECOMMENDATION = "recommendation"  # written by the operator
STATE = "state"  # written by the operator: learned model, versioned

USER_KEYS = frozenset(
    {ENABLED, MODE, OBJECTIVE, MIN_REPLICAS, MAX_REPLICAS, ENERGY_BUDGET, DEADLINE, TOTAL_SAMPLES,
     PRICE_PER_KWH, PRICE_PER_WORKER_HOUR, CARBON_G_PER_KWH, MAX_POWER, WORKER_GROUP}
)
OPERATOR_KEYS = frozenset({RECOMMENDATION, STATE})
MAX_PROBLEM = 300  # characters of one problem's text

class Mode(StrEnum):
    DRY_RUN = "dry-run"  # recommend only
    ENFORCE = "enforce"  # resize through /scale


class AnnotationError(ValueError):
    """One bad annotation: ``key`` (full, with prefix) and ``problem`` (what is wrong)."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = PREFIX + key
        # A value echoed back may be 256 KiB of anything: the Event and the log get its start.
        self.problem = problem if len(problem) <= MAX_PROBLEM else problem[:MAX_PROBLEM] + "..."
        super().__init__(f"{self.key}: {problem}")


class InvalidAnnotations(ValueError):
    """All problems found on one object, in key order; ``str()`` is the Event message."""

    def __init__(self, errors: list[AnnotationError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass(frozen=True)
class JobAnnotations:
    """A job's parsed opt-in: its mode and the spec the decision engine works with."""

    mode: Mode
    spec: JobSpec


def is_enabled(annotations: Mapping[str, str]) -> bool:
    """Whether the object opted in. Only the literal ``"true"`` counts (any case)."""
    return annotations.get(PREFIX + ENABLED, "").strip().lower() == "true"


def parse_energy_j(text: str) -> float:
    """``"5 kWh"`` -> 1.8e7. A unit is required (see :mod:`autoscaler.units`)."""
    return units.parse_energy_j(text)


def parse_power_w(text: str) -> float:
    """``"12 kW"`` -> 12000.0. A unit is required (see :mod:`autoscaler.units`)."""
    return units.parse_power_w(text)


def parse_rfc3339_s(text: str) -> float:
    """RFC 3339 timestamp -> POSIX seconds. A timezone offset (or ``Z``) is required: a local
    time would mean a different instant on every node."""
    raw = text.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}", raw):
        raise ValueError(f"needs an RFC 3339 timestamp like 2026-01-31T18:00:00Z, got {text!r}")
    try:
        when = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"is not a valid RFC 3339 timestamp: {text!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"needs a timezone offset or Z (RFC 3339), got {text!r}")
    try:
        return when.timestamp()
    except (OverflowError, OSError):  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError(f"is out of range: {text!r}") from None


def _replica_bound(text: str) -> int:
    """A replica bound: a whole number in [1, REPLICA_CAP] (``decision.types.MAX_REPLICAS``:
    see there for why a cap)."""
    raw = text.strip()
    if not re.fullmatch(r"[0-9]{1,12}", raw) or not 1 <= int(raw) <= REPLICA_CAP:
        raise ValueError(f"must be a whole number from 1 to {REPLICA_CAP} (the operator's "
                         f"cap), got {text!r}")
    return int(raw)


def _positive_float(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be a positive number, got {text!r}")
    return value


def parse_job_annotations(
    annotations: Mapping[str, str],
    *,
    current_replicas: int,
    elastic_min: int | None = None,
    elastic_max: int | None = None,
    default_prices: Prices | None = None,
) -> JobAnnotations:
    """Parse an opted-in object's annotations into its mode and :class:`JobSpec`.

    ``default_prices`` are the operator's (its settings: a constant, a schedule or a query's
    current value); a price the job gives in its own annotation wins over the default.

    Bounds default to the PyTorchJob's ``elasticPolicy`` (``elastic_min``/``elastic_max``) and
    otherwise to ``[1, current]``: without a stated upper bound the operator may shrink a job but
    never grow it past what its owner asked for. Raises :class:`InvalidAnnotations`.
    """
    errors: list[AnnotationError] = []
    ours = {k[len(PREFIX) :]: v for k, v in annotations.items() if k.startswith(PREFIX)}

    for key in sorted(set(ours) - USER_KEYS - OPERATOR_KEYS):
        known = ", ".join(sorted(USER_KEYS))
        errors.append(AnnotationError(key, f"unknown annotation (known: {known})"))

    enabled = ours.get(ENABLED, "").strip().lower()
    if enabled not in ("true", "false"):
        errors.append(AnnotationError(ENABLED, f'must be "true" or "false", got {enabled!r}'))

    mode = Mode.DRY_RUN
    if MODE in ours:
        try:
            mode = Mode(ours[MODE].strip().lower())
        except ValueError:
            errors.append(AnnotationError(MODE, f"must be dry-run or enforce, got {ours[MODE]!r}"))

    objective = Objective()
    if OBJECTIVE in ours:
        try:
            objective = Objective.parse(ours[OBJECTIVE])
        except ValueError as e:
            errors.append(AnnotationError(OBJECTIVE, str(e)))

    def field(key: str, parse: Callable[[str], Any]) -> Any:
        if key not in ours:
            return None
        try:
            return parse(ours[key])
        except ValueError as e:
            errors.append(AnnotationError(key, str(e)))
            return None

    min_r: int | None = field(MIN_REPLICAS, _replica_bound)
    max_r: int | None = field(MAX_REPLICAS, _replica_bound)
    budget_j: float | None = field(ENERGY_BUDGET, parse_energy_j)
    deadline_s: float | None = field(DEADLINE, parse_rfc3339_s)
    total: float | None = field(TOTAL_SAMPLES, _positive_float)
    max_power_w: float | None = field(MAX_POWER, parse_power_w)
    prices = _prices(ours, objective.kind, field, errors, default_prices)

    # Defaults are capped, not refused: an elasticPolicy may allow more than the cap, and the
    # operator then recommends within [.., REPLICA_CAP] (an owner's own annotation is refused).
    lo = min_r if min_r is not None else min(max(1, elastic_min or 1), REPLICA_CAP)
    hi = max_r if max_r is not None else min(elastic_max or max(current_replicas, lo),
                                             REPLICA_CAP)
    if lo > hi:
        if max_r is not None or min_r is not None:
            key = MAX_REPLICAS if max_r is not None else MIN_REPLICAS
            origin = "" if min_r is not None and max_r is not None else " (other bound defaulted)"
            errors.append(
                AnnotationError(key, f"max-replicas {hi} is below min-replicas {lo}{origin}")
            )
        else:
            hi = lo  # defaults only: an elasticPolicy minimum above the current size

    if errors:
        raise InvalidAnnotations(errors)
    spec = JobSpec(
        min_replicas=lo,
        max_replicas=hi,
        objective=objective,
        energy_budget_j=budget_j,
        deadline_s=deadline_s,
        total_samples=total,
        max_power_w=max_power_w,
        prices=prices,
    )
    return JobAnnotations(mode=mode, spec=spec)


def _prices(ours: Mapping[str, str], kind: ObjectiveKind,
            field: Callable[[str, Callable[[str], Any]], Any],
            errors: list[AnnotationError], defaults: Prices | None = None) -> Prices | None:
    """The job's constant prices (None when it gives none), and, for ``cost`` or ``carbon``,
    an error naming the annotation the objective needs but the job lacks. A price that is
    there but invalid has its own error already: the objective's would only repeat it."""
    per_kwh: float | None = field(PRICE_PER_KWH, units.parse_rate)
    per_worker_h: float | None = field(PRICE_PER_WORKER_HOUR, units.parse_rate)
    carbon: float | None = field(CARBON_G_PER_KWH, units.parse_rate)
    d = defaults or Prices()
    has_cost = bool({PRICE_PER_KWH, PRICE_PER_WORKER_HOUR} & ours.keys()) or d.has_cost
    if kind is ObjectiveKind.COST and not has_cost:
        errors.append(AnnotationError(OBJECTIVE, f"cost needs {PREFIX}{PRICE_PER_KWH} or "
                                      f"{PREFIX}{PRICE_PER_WORKER_HOUR}, and the job has neither "
                                      "(nor does the operator's prices setting)"))
    if kind is ObjectiveKind.CARBON and CARBON_G_PER_KWH not in ours and not d.has_carbon:
        errors.append(AnnotationError(OBJECTIVE, f"carbon needs {PREFIX}{CARBON_G_PER_KWH}, "
                                      "and the job does not have it (nor does the operator's "
                                      "prices setting)"))
    kwh = d.energy_per_kwh if per_kwh is None else Rate.constant(per_kwh)
    worker = d.per_worker_hour if per_worker_h is None else Rate.constant(per_worker_h)
    grams = d.carbon_g_per_kwh if carbon is None else Rate.constant(carbon)
    if kwh is None and worker is None and grams is None:
        return None
    return Prices(energy_per_kwh=kwh, per_worker_hour=worker, carbon_g_per_kwh=grams)
