"""The true workload: throughput and power curves per phase, and the measurement noise.

The simulator's honesty rests on one split. The *truth* (what the job really does at n workers
in a phase) drives the accounting of work, time and energy; the *noise* perturbs only what the
policy gets to see in each window. Regret then measures decisions, not the luck of one noise
draw, and the oracle (which knows the truth but not the noise) is a fair yardstick.

A ``step:`` workload gives the step's parts instead of the throughput curve; it is turned into
the same throughput(n) curve here, so the oracle, the baselines and the accounting never need to
know which form a scenario used. Only the windows carry the split (see the engine).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from autoscaler.decision.objectives import balanced_max_power_w
from autoscaler.sim.specs import (
    COMPUTE_FLOOR_FRACTION,
    BatchSpec,
    ComputeSpec,
    PowerSpec,
    StepSpec,
    ThroughputSpec,
)

if TYPE_CHECKING:
    from autoscaler.sim.scenario import Scenario

Curve = Callable[[int], float]
Nodes = Callable[[int], int]

# Smallest compute time per step an extrapolation may reach, whatever the table says.
_ABS_COMPUTE_FLOOR_S = 1e-12


def nodes_fn(workers_per_node: int | None) -> Nodes:
    """Nodes spanned by n workers: ceil(n / workers_per_node); without it, every degree is one
    node. Integer arithmetic, so an absurdly large ``workers_per_node`` still gives 1."""
    if workers_per_node is None:
        return lambda n: 1
    per = workers_per_node
    return lambda n: -(-n // per)


def throughput_curve(spec: ThroughputSpec) -> Curve:
    """Samples/s of the whole job at n workers (USL, or a table with linear interpolation)."""
    if spec.usl is not None:
        t1, sigma, kappa = spec.usl.t1_sps, spec.usl.sigma, spec.usl.kappa

        def usl(n: int) -> float:
            return t1 * n / (1.0 + sigma * (n - 1) + kappa * n * (n - 1))

        return usl
    assert spec.table is not None  # the schema guarantees exactly one
    return _table_curve(spec.table)


def power_curve(spec: PowerSpec, nodes: Nodes | None = None) -> Curve:
    """Watts drawn by the whole job at n workers (static + per-worker + per-node, or a table)."""
    if spec.linear is not None:
        lin = spec.linear
        static_w, per_worker_w, per_node_w = lin.static_w, lin.per_worker_w, lin.per_node_w
        if per_node_w == 0 or nodes is None:
            # Exactly the pre-extension arithmetic, so old scenarios score bit for bit the same.
            def linear(n: int) -> float:
                return static_w + per_worker_w * n

            return linear
        count = nodes

        def linear_nodes(n: int) -> float:
            return static_w + per_worker_w * n + per_node_w * count(n)

        return linear_nodes
    assert spec.table is not None
    return _table_curve(spec.table)


def _table_curve(table: dict[int, float]) -> Curve:
    xs = np.array(sorted(table), dtype=float)
    ys = np.array([table[int(x)] for x in xs], dtype=float)

    def interp(n: int) -> float:
        # The schema rejects bounds outside the listed range, so this never extrapolates.
        return float(np.interp(float(n), xs, ys))

    return interp


def compute_curve(spec: ComputeSpec) -> Callable[[float], float]:
    """Seconds of compute per step at per-worker batch b: linear between listed batches, linear
    beyond (from the two nearest points), never below 1 % of the smallest listed time. A single
    point means compute proportional to the batch."""
    xs = sorted(spec.table)
    ys = [spec.table[x] for x in xs]
    floor = max(COMPUTE_FLOOR_FRACTION * min(ys), _ABS_COMPUTE_FLOOR_S)
    if len(xs) == 1:
        x0, y0 = xs[0], ys[0]
        return lambda b: max(floor, y0 * b / x0)
    ax, ay = np.array(xs), np.array(ys)

    def compute(b: float) -> float:
        if b < xs[0]:
            i = 0
        elif b > xs[-1]:
            i = len(xs) - 2
        else:
            return max(floor, float(np.interp(b, ax, ay)))
        slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
        return max(floor, ys[i] + slope * (b - xs[i]))

    return compute


@dataclass(frozen=True)
class StepCurves:
    """The true step of a ``step:`` workload at n workers: per-worker batch, compute, sync."""

    batch: BatchSpec
    compute: Callable[[float], float]
    sync: Curve

    def batch_at(self, n: int) -> float:
        return self.batch.per_worker_at(n)

    def compute_at(self, n: int) -> float:
        return self.compute(self.batch_at(n))

    def step_at(self, n: int) -> float:
        """Seconds per step: compute at this per-worker batch plus synchronisation at n."""
        return self.compute_at(n) + self.sync(n)

    def throughput(self, n: int) -> float:
        """X(n) = n·b / (compute_s(b) + sync_s(n))."""
        return n * self.batch_at(n) / self.step_at(n)


def step_curves(spec: StepSpec) -> StepCurves:
    return StepCurves(spec.batch, compute_curve(spec.compute_s), _table_curve(spec.sync_s.table))


@dataclass(frozen=True)
class Segment:
    """The work ``[start_samples, end_samples)`` during which one pair of curves holds.

    ``step`` is the step split behind ``throughput`` when the scenario gave one, else None.
    """

    start_samples: float
    end_samples: float
    throughput: Curve
    power: Curve
    step: StepCurves | None = None


class Workload:
    """True curves over the job's work, and the noise applied to measurements."""

    def __init__(self, scenario: Scenario) -> None:
        wl = scenario.workload
        self.total_samples = wl.total_samples
        self.resize_downtime_s = wl.resize_downtime_s
        self.throughput_cv = wl.noise.throughput_cv
        self.power_cv = wl.noise.power_cv
        self.nodes = nodes_fn(wl.workers_per_node)
        self.segments = _segments(scenario, self.nodes)

    def segment_at(self, samples_done: float) -> Segment:
        """The segment holding at ``samples_done`` (the last one at or after the end)."""
        for seg in self.segments:
            if samples_done < seg.end_samples:
                return seg
        return self.segments[-1]

    def max_power_w(self, min_replicas: int, max_replicas: int) -> float:
        """Largest true power over [min, max] in any phase: the P_max of ``balanced``."""
        return balanced_max_power_w(
            seg.power(n) for seg in self.segments for n in range(min_replicas, max_replicas + 1)
        )

    def slowest_sps(self, min_replicas: int, max_replicas: int) -> float:
        """Smallest true throughput over [min, max] in any phase (bounds the run's length)."""
        return min(
            seg.throughput(n)
            for seg in self.segments
            for n in range(min_replicas, max_replicas + 1)
        )

    def expected_intervals(self, min_replicas: int, max_replicas: int, interval_s: float) -> float:
        """Controller intervals of the slowest possible run plus one resize downtime per degree
        (what the ``sweep`` baseline pays): the size of the work one simulation can take.
        ``inf`` when a curve is 0 or the figure overflows."""
        slowest = self.slowest_sps(min_replicas, max_replicas)
        if not slowest > 0:
            return math.inf
        degrees = max_replicas - min_replicas + 1
        return (self.total_samples / slowest + degrees * self.resize_downtime_s) / interval_s

    def noise_factors(self, rng: np.random.Generator) -> tuple[float, float]:
        """One window's multiplicative noise on (throughput, power): 1 + cv·N(0,1) each.

        Both draws are always taken, so a run's noise sequence depends only on the seed and the
        number of windows, not on which values are zero.
        """
        z_x, z_p = rng.standard_normal(2)
        return 1.0 + self.throughput_cv * float(z_x), 1.0 + self.power_cv * float(z_p)

    def noisy(
        self, rng: np.random.Generator, throughput_sps: float, power_w: float
    ) -> tuple[float, float]:
        """One window's measured (throughput, power): truth times (1 + cv·N(0,1)), never < 0."""
        f_x, f_p = self.noise_factors(rng)
        return max(0.0, throughput_sps * f_x), max(0.0, power_w * f_p)


def _segments(scenario: Scenario, nodes: Nodes) -> tuple[Segment, ...]:
    wl = scenario.workload
    total = wl.total_samples
    x, step = _throughput_of(wl.throughput, wl.step)
    p = power_curve(wl.power, nodes)
    starts = [0.0]
    curves = [(x, p, step)]
    for phase in wl.phases:
        if phase.throughput is not None or phase.step is not None:
            x, step = _throughput_of(phase.throughput, phase.step)
        if phase.power is not None:
            p = power_curve(phase.power, nodes)
        starts.append(phase.at_fraction * total)
        curves.append((x, p, step))
    ends = [*starts[1:], total]
    return tuple(
        Segment(start, end, cx, cp, cs)
        for start, end, (cx, cp, cs) in zip(starts, ends, curves, strict=True)
    )


def _throughput_of(
    throughput: ThroughputSpec | None, step: StepSpec | None
) -> tuple[Curve, StepCurves | None]:
    """The throughput curve of whichever form was given (the schema guarantees exactly one)."""
    if step is not None:
        curves = step_curves(step)
        return curves.throughput, curves
    assert throughput is not None
    return throughput_curve(throughput), None
