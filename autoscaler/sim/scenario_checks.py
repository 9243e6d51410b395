"""Scenario checks that span fields (each names the field the user should edit), apart from
the contract's models in :mod:`autoscaler.sim.scenario` so that both stay readable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoscaler.decision.types import ObjectiveKind
from autoscaler.errors import PermanentError

if TYPE_CHECKING:
    from autoscaler.sim.scenario import Scenario
    from autoscaler.sim.specs import StepSpec, ThroughputSpec

MAX_DEGREE_PHASES = 2048  # degrees in [min, max] x phases: the oracle's search grows with both


class ScenarioError(ValueError, PermanentError):
    """A scenario file the simulator cannot run; the message names the file and the field."""


def _fail(label: str, field: str, msg: str) -> None:
    raise ScenarioError(f"{label}: {field}: {msg}")


def check_cross_fields(s: Scenario, label: str) -> None:
    """Checks that span fields; each names the field the user should edit."""
    job, wl = s.job, s.workload
    if job.max_replicas < job.min_replicas:
        _fail(label, "job.max_replicas", "must be >= min_replicas")
    if not job.min_replicas <= job.initial_replicas <= job.max_replicas:
        _fail(
            label,
            "job.initial_replicas",
            f"must be between min_replicas ({job.min_replicas}) "
            f"and max_replicas ({job.max_replicas})",
        )
    kind = job.objective_parsed.kind
    prices = s.prices
    if kind is ObjectiveKind.COST and (
        prices is None or (prices.energy_per_kwh is None and prices.per_worker_hour is None)
    ):
        _fail(label, "prices", "objective cost needs prices.energy_per_kwh or per_worker_hour")
    if kind is ObjectiveKind.CARBON and (prices is None or prices.carbon_g_per_kwh is None):
        _fail(label, "prices", "objective carbon needs prices.carbon_g_per_kwh")
    degrees = job.max_replicas - job.min_replicas + 1
    if degrees * (len(wl.phases) + 1) > MAX_DEGREE_PHASES:
        _fail(
            label,
            "workload.phases",
            f"{degrees} degrees x {len(wl.phases) + 1} phases is more than {MAX_DEGREE_PHASES:,} "
            "for the oracle's search; use fewer phases or a narrower [min_replicas, max_replicas]",
        )
    if (wl.throughput is None) == (wl.step is None):
        _fail(label, "workload", "give exactly one of throughput, step")
    tables: list[tuple[str, dict[int, float] | None]] = [
        ("workload.power.table", wl.power.table),
        *_curve_tables("workload", wl.throughput, wl.step),
    ]
    _check_batch(label, "workload.step", wl.step, job.max_replicas)
    previous = 0.0
    for i, phase in enumerate(wl.phases):
        where = f"workload.phases.{i}"
        if phase.throughput is None and phase.step is None and phase.power is None:
            _fail(label, where, "give throughput (or step), power or both")
        if phase.throughput is not None and phase.step is not None:
            _fail(label, where, "give at most one of throughput, step")
        if phase.at_fraction <= previous:
            _fail(
                label,
                f"{where}.at_fraction",
                f"must be greater than the previous phase's ({previous})",
            )
        previous = phase.at_fraction
        tables += _curve_tables(where, phase.throughput, phase.step)
        _check_batch(label, f"{where}.step", phase.step, job.max_replicas)
        if phase.power is not None:
            tables.append((f"{where}.power.table", phase.power.table))
    for field, table in tables:
        if table is None:
            continue
        lo, hi = min(table), max(table)
        if job.min_replicas < lo or job.max_replicas > hi:
            _fail(
                label,
                field,
                f"lists n {lo}..{hi} but job allows {job.min_replicas}..{job.max_replicas}; "
                "n outside a table's listed range is not allowed",
            )


def _curve_tables(
    where: str, throughput: ThroughputSpec | None, step: StepSpec | None
) -> list[tuple[str, dict[int, float] | None]]:
    """Tables indexed by degree that must cover [min_replicas, max_replicas]."""
    if throughput is not None:
        return [(f"{where}.throughput.table", throughput.table)]
    if step is not None:
        return [(f"{where}.step.sync_s.table", step.sync_s.table)]
    return []


def _check_batch(label: str, where: str, step: StepSpec | None, max_replicas: int) -> None:
    """A global batch must give each of max_replicas workers at least one sample per step."""
    if step is None or step.batch.global_batch is None:
        return
    if step.batch.global_batch < max_replicas:
        _fail(
            label,
            f"{where}.batch.global",
            f"{step.batch.global_batch:g} gives less than one sample per worker "
            f"at max_replicas ({max_replicas})",
        )
