"""The scenario file: schema, loading, and the checks that turn a mistake into one clear line.

A scenario describes a workload whose *true* curves are known (so that an oracle can say what the
best possible run would have cost) and the job's bounds and goals. The schema is a contract
(README, ``docs/simulator.md``); everything a user can get wrong is reported as
``FILE: dotted.field.path: what is wrong`` by :class:`ScenarioError`, which the CLI turns into a
``UserError`` (exit 2, no traceback). That includes numbers out of range and scenarios whose run
would be too long to simulate (:data:`MAX_INTERVALS`): every accepted file runs in bounded work.

YAML 1.1 (PyYAML) reads ``1.2e8`` as a *string* and ``1.2e+8`` as a float; pydantic's lax mode
coerces numeric strings for float fields, so both spellings load the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from autoscaler.decision.types import Objective
from autoscaler.sim.scenario_checks import MAX_DEGREE_PHASES, ScenarioError, check_cross_fields
from autoscaler.sim.specs import (
    MAX_DOWNTIME_S,
    MAX_INTERVAL_S,
    MAX_PHASES,
    MAX_POWER_W,
    MAX_REPLICAS,
    MAX_SAMPLES,
    MAX_SEED,
    MIN_INTERVAL_S,
    LinearPowerSpec,
    NoiseSpec,
    PowerSpec,
    PricesSpec,
    StepSpec,
    ThroughputSpec,
    UslSpec,
    _Strict,
)
from autoscaler.sim.workload import Workload

__all__ = [
    "MAX_DEGREE_PHASES",
    "MAX_FILE_BYTES",
    "MAX_INTERVALS",
    "ControllerSpec",
    "JobSpecModel",
    "LinearPowerSpec",
    "NoiseSpec",
    "PhaseSpec",
    "PowerSpec",
    "PricesSpec",
    "Scenario",
    "ScenarioError",
    "StepSpec",
    "ThroughputSpec",
    "UslSpec",
    "WorkloadSpec",
    "load_scenario",
    "parse_scenario",
]

# The slowest possible run, plus one resize downtime per degree, may span at most this many
# controller intervals: a simulation is then bounded (about 1 ms per decision of the engine).
MAX_INTERVALS = 200_000
MAX_FILE_BYTES = 1 << 20  # a scenario is a few hundred bytes; /dev/zero must not be read forever
_MAX_NODES = 100_000  # YAML values after alias expansion ("billion laughs")
_MAX_DEPTH = 32


class PhaseSpec(_Strict):
    """From ``at_fraction`` of the work on, these curves replace the current ones (drift)."""

    at_fraction: float = Field(gt=0, lt=1)
    throughput: ThroughputSpec | None = None
    step: StepSpec | None = None
    power: PowerSpec | None = None


class WorkloadSpec(_Strict):
    total_samples: float = Field(gt=0, le=MAX_SAMPLES)
    throughput: ThroughputSpec | None = None  # exactly one of throughput, step (checked later)
    step: StepSpec | None = None
    power: PowerSpec
    workers_per_node: int | None = Field(default=None, ge=1, le=MAX_REPLICAS)
    noise: NoiseSpec = NoiseSpec()
    resize_downtime_s: float = Field(default=30.0, ge=0, le=MAX_DOWNTIME_S)
    phases: tuple[PhaseSpec, ...] = Field(default=(), max_length=MAX_PHASES)


class JobSpecModel(_Strict):
    initial_replicas: int
    min_replicas: int = Field(ge=1, le=MAX_REPLICAS)
    max_replicas: int = Field(le=MAX_REPLICAS)
    objective: str = "energy"
    energy_budget_j: float | None = Field(default=None, gt=0, le=1e21)
    deadline_s: float | None = Field(default=None, gt=0, le=1e12)
    max_power_w: float | None = Field(default=None, gt=0, le=MAX_POWER_W)  # peak-power cap

    @field_validator("objective")
    @classmethod
    def _objective(cls, text: str) -> str:
        return str(Objective.parse(text))  # ValueError -> reported at job.objective

    @property
    def objective_parsed(self) -> Objective:
        return Objective.parse(self.objective)


class ControllerSpec(_Strict):
    interval_s: float = Field(default=30.0, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S)


class Scenario(_Strict):
    """A whole scenario file, validated."""

    name: str = Field(default="", max_length=200)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    workload: WorkloadSpec
    job: JobSpecModel
    controller: ControllerSpec = ControllerSpec()
    prices: PricesSpec | None = None  # required by the cost and carbon objectives


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate ``path``. Raises :class:`ScenarioError` naming the file and field."""
    p = Path(path)
    label = str(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{label}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"{label}: cannot read: {e}") from e
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"{label}: larger than {MAX_FILE_BYTES} bytes; not a scenario file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise ScenarioError(f"{label}: {where}{problem}") from None
    except RecursionError:
        raise ScenarioError(f"{label}: nested too deeply to be a scenario file") from None
    return parse_scenario(data, label=label, default_name=p.stem)


def parse_scenario(data: Any, *, label: str, default_name: str = "scenario") -> Scenario:
    """Validate already-parsed YAML data (tests use this directly)."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{label}: must be a mapping with workload: and job:")
    _check_size(data, label)
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        if loc and loc[-1] == "[key]":  # a table key that is not a number
            where = ".".join(str(p) for p in loc[:-2]) or "(top level)"
            what = "an integer number of workers"
            if "compute_s" in loc:
                what = "a per-worker batch size"
            raise ScenarioError(f"{label}: {where}: key {loc[-2]!r}: must be {what}") from None
        raise ScenarioError(f"{label}: {_loc(loc)}: {_msg(first['msg'])}") from None
    check_cross_fields(scenario, label)
    _check_work_bound(scenario, label)
    if not scenario.name:
        scenario = scenario.model_copy(update={"name": default_name})
    return scenario


def _check_size(data: Any, label: str) -> None:
    """Refuse absurdly large or deep data before validation walks it (aliases can make a small
    file expand to billions of values)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > _MAX_NODES or depth > _MAX_DEPTH:
            raise ScenarioError(f"{label}: too large or nested too deeply to be a scenario file")
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values())
            stack.extend((k, depth + 1) for k in node)
        elif isinstance(node, list | tuple):
            stack.extend((v, depth + 1) for v in node)


def _loc(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _msg(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg[:1].lower() + msg[1:]


def _fail(label: str, field: str, msg: str) -> None:
    raise ScenarioError(f"{label}: {field}: {msg}")


def _check_work_bound(s: Scenario, label: str) -> None:
    """Refuse a scenario whose slowest run would take more than MAX_INTERVALS intervals, so
    that every accepted file simulates in bounded time and memory."""
    job = s.job
    interval_s = s.controller.interval_s
    workload = Workload(s)
    intervals = workload.expected_intervals(job.min_replicas, job.max_replicas, interval_s)
    if not (math.isfinite(intervals) and intervals <= MAX_INTERVALS):
        slowest = workload.slowest_sps(job.min_replicas, job.max_replicas)
        _fail(
            label,
            "workload.total_samples",
            f"the slowest run (at {slowest:.4g} samples/s, plus one resize per degree) spans "
            f"{intervals:.3g} controller intervals of {interval_s:g} s, more than the "
            f"{MAX_INTERVALS:,} a simulation may take; lower total_samples or raise "
            "controller.interval_s",
        )
