"""The scenario file: schema, loading, and the checks that turn a mistake into one clear line.

A scenario describes a workload whose *true* curves are known (so that an oracle can say what the
best possible run would have cost) and the job's bounds and goals. The schema is a contract
(README, ``docs/simulator.md``); everything a user can get wrong is reported as
``FILE: dotted.field.path: what is wrong`` by :class:`ScenarioError`, which the CLI turns into a
``UserError`` (exit 2, no traceback).

YAML 1.1 (PyYAML) reads ``1.2e8`` as a *string* and ``1.2e+8`` as a float; pydantic's lax mode
coerces numeric strings for float fields, so both spellings load the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from autoscaler.decision.types import Objective


class ScenarioError(ValueError):
    """A scenario file the simulator cannot run; the message names the file and the field."""


class _Strict(BaseModel):
    # Unknown keys are typos far more often than intent: reject them, naming the key.
    model_config = ConfigDict(extra="forbid", frozen=True)


class UslSpec(_Strict):
    """Universal Scalability Law: X(n) = t1·n / (1 + σ(n−1) + κ·n(n−1))."""

    t1_sps: float = Field(gt=0)
    sigma: float = Field(ge=0)
    kappa: float = Field(ge=0)


class ThroughputSpec(_Strict):
    """True throughput of the whole job (samples/s) at n workers: a USL curve or a table."""

    usl: UslSpec | None = None
    table: dict[int, float] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ThroughputSpec:
        if (self.usl is None) == (self.table is None):
            raise ValueError("give exactly one of usl, table")
        return self

    @field_validator("table")
    @classmethod
    def _table_values(cls, table: dict[int, float] | None) -> dict[int, float] | None:
        return _check_table(table)


class LinearPowerSpec(_Strict):
    """P(n) = static_w + per_worker_w·n: static is the host power charged to the job."""

    static_w: float = Field(ge=0)
    per_worker_w: float = Field(ge=0)

    @model_validator(mode="after")
    def _draws_power(self) -> LinearPowerSpec:
        # A job that draws no power makes every energy regret 0/0.
        if self.static_w == 0 and self.per_worker_w == 0:
            raise ValueError("static_w and per_worker_w cannot both be 0")
        return self


class PowerSpec(_Strict):
    """True power drawn by the whole job (W) at n workers: linear or a table."""

    linear: LinearPowerSpec | None = None
    table: dict[int, float] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PowerSpec:
        if (self.linear is None) == (self.table is None):
            raise ValueError("give exactly one of linear, table")
        return self

    @field_validator("table")
    @classmethod
    def _table_values(cls, table: dict[int, float] | None) -> dict[int, float] | None:
        return _check_table(table)


def _check_table(table: dict[int, float] | None) -> dict[int, float] | None:
    """Degrees >= 1 with positive values (no job runs at 0 samples/s or draws 0 W), sorted."""
    if table is None:
        return None
    if not table:
        raise ValueError("table must list at least one degree")
    for n, value in table.items():
        if n < 1:
            raise ValueError(f"degree {n}: must be >= 1")
        if not value > 0:
            raise ValueError(f"degree {n}: value must be > 0, got {value}")
    return dict(sorted(table.items()))


class NoiseSpec(_Strict):
    """Coefficient of variation of the multiplicative Gaussian measurement noise per window."""

    throughput_cv: float = Field(default=0.0, ge=0, le=1)
    power_cv: float = Field(default=0.0, ge=0, le=1)


class PhaseSpec(_Strict):
    """From ``at_fraction`` of the work on, these curves replace the current ones (drift)."""

    at_fraction: float = Field(gt=0, lt=1)
    throughput: ThroughputSpec | None = None
    power: PowerSpec | None = None


class WorkloadSpec(_Strict):
    total_samples: float = Field(gt=0)
    throughput: ThroughputSpec
    power: PowerSpec
    noise: NoiseSpec = NoiseSpec()
    resize_downtime_s: float = Field(default=30.0, ge=0)
    phases: tuple[PhaseSpec, ...] = ()


class JobSpecModel(_Strict):
    initial_replicas: int
    min_replicas: int = Field(ge=1)
    max_replicas: int
    objective: str = "energy"
    energy_budget_j: float | None = Field(default=None, gt=0)
    deadline_s: float | None = Field(default=None, gt=0)

    @field_validator("objective")
    @classmethod
    def _objective(cls, text: str) -> str:
        return str(Objective.parse(text))  # ValueError -> reported at job.objective

    @property
    def objective_parsed(self) -> Objective:
        return Objective.parse(self.objective)


class ControllerSpec(_Strict):
    interval_s: float = Field(default=30.0, gt=0)


class Scenario(_Strict):
    """A whole scenario file, validated."""

    name: str = ""
    seed: int = 0
    workload: WorkloadSpec
    job: JobSpecModel
    controller: ControllerSpec = ControllerSpec()


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate ``path``. Raises :class:`ScenarioError` naming the file and field."""
    p = Path(path)
    label = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{label}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"{label}: cannot read: {e}") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise ScenarioError(f"{label}: {where}{problem}") from None
    return parse_scenario(data, label=label, default_name=p.stem)


def parse_scenario(data: Any, *, label: str, default_name: str = "scenario") -> Scenario:
    """Validate already-parsed YAML data (tests use this directly)."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{label}: must be a mapping with workload: and job:")
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        if loc and loc[-1] == "[key]":  # a table key that is not an integer degree
            where = ".".join(str(p) for p in loc[:-2]) or "(top level)"
            raise ScenarioError(
                f"{label}: {where}: key {loc[-2]!r}: must be an integer number of workers"
            ) from None
        raise ScenarioError(f"{label}: {_loc(loc)}: {_msg(first['msg'])}") from None
    _check_cross_fields(scenario, label)
    if not scenario.name:
        scenario = scenario.model_copy(update={"name": default_name})
    return scenario


def _loc(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _msg(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg[:1].lower() + msg[1:]


def _check_cross_fields(s: Scenario, label: str) -> None:
    """Checks that span fields; each names the field the user should edit."""
    job = s.job

    def fail(field: str, msg: str) -> None:
        raise ScenarioError(f"{label}: {field}: {msg}")

    if job.max_replicas < job.min_replicas:
        fail("job.max_replicas", "must be >= min_replicas")
    if not job.min_replicas <= job.initial_replicas <= job.max_replicas:
        fail(
            "job.initial_replicas",
            f"must be between min_replicas ({job.min_replicas}) "
            f"and max_replicas ({job.max_replicas})",
        )
    tables: list[tuple[str, dict[int, float] | None]] = [
        ("workload.throughput.table", s.workload.throughput.table),
        ("workload.power.table", s.workload.power.table),
    ]
    previous = 0.0
    for i, phase in enumerate(s.workload.phases):
        where = f"workload.phases.{i}"
        if phase.throughput is None and phase.power is None:
            fail(where, "give throughput, power or both")
        if phase.at_fraction <= previous:
            fail(f"{where}.at_fraction", f"must be greater than the previous phase's ({previous})")
        previous = phase.at_fraction
        if phase.throughput is not None:
            tables.append((f"{where}.throughput.table", phase.throughput.table))
        if phase.power is not None:
            tables.append((f"{where}.power.table", phase.power.table))
    for field, table in tables:
        if table is None:
            continue
        lo, hi = min(table), max(table)
        if job.min_replicas < lo or job.max_replicas > hi:
            fail(
                field,
                f"lists n {lo}..{hi} but job allows {job.min_replicas}..{job.max_replicas}; "
                "n outside a table's listed range is not allowed",
            )
