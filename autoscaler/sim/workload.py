"""The true workload: throughput and power curves per phase, and the measurement noise.

The simulator's honesty rests on one split. The *truth* (what the job really does at n workers
in a phase) drives the accounting of work, time and energy; the *noise* perturbs only what the
policy gets to see in each window. Regret then measures decisions, not the luck of one noise
draw, and the oracle (which knows the truth but not the noise) is a fair yardstick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autoscaler.sim.scenario import PowerSpec, Scenario, ThroughputSpec

Curve = Callable[[int], float]


def throughput_curve(spec: ThroughputSpec) -> Curve:
    """Samples/s of the whole job at n workers (USL, or a table with linear interpolation)."""
    if spec.usl is not None:
        t1, sigma, kappa = spec.usl.t1_sps, spec.usl.sigma, spec.usl.kappa

        def usl(n: int) -> float:
            return t1 * n / (1.0 + sigma * (n - 1) + kappa * n * (n - 1))

        return usl
    assert spec.table is not None  # the schema guarantees exactly one
    return _table_curve(spec.table)


def power_curve(spec: PowerSpec) -> Curve:
    """Watts drawn by the whole job at n workers (static + per-worker, or a table)."""
    if spec.linear is not None:
        static_w, per_worker_w = spec.linear.static_w, spec.linear.per_worker_w

        def linear(n: int) -> float:
            return static_w + per_worker_w * n

        return linear
    assert spec.table is not None
    return _table_curve(spec.table)


def _table_curve(table: dict[int, float]) -> Curve:
    xs = np.array(sorted(table), dtype=float)
    ys = np.array([table[int(x)] for x in xs], dtype=float)

    def interp(n: int) -> float:
        # The schema rejects bounds outside the listed range, so this never extrapolates.
        return float(np.interp(float(n), xs, ys))

    return interp


@dataclass(frozen=True)
class Segment:
    """The work ``[start_samples, end_samples)`` during which one pair of curves holds."""

    start_samples: float
    end_samples: float
    throughput: Curve
    power: Curve


class Workload:
    """True curves over the job's work, and the noise applied to measurements."""

    def __init__(self, scenario: Scenario) -> None:
        wl = scenario.workload
        self.total_samples = wl.total_samples
        self.resize_downtime_s = wl.resize_downtime_s
        self.throughput_cv = wl.noise.throughput_cv
        self.power_cv = wl.noise.power_cv
        self.segments = _segments(scenario)

    def segment_at(self, samples_done: float) -> Segment:
        """The segment holding at ``samples_done`` (the last one at or after the end)."""
        for seg in self.segments:
            if samples_done < seg.end_samples:
                return seg
        return self.segments[-1]

    def max_power_w(self, min_replicas: int, max_replicas: int) -> float:
        """Largest true power over [min, max] in any phase: the P_max of ``balanced``."""
        return max(
            seg.power(n) for seg in self.segments for n in range(min_replicas, max_replicas + 1)
        )

    def noisy(
        self, rng: np.random.Generator, throughput_sps: float, power_w: float
    ) -> tuple[float, float]:
        """One window's measured (throughput, power): truth times (1 + cv·N(0,1)), never < 0.

        Both draws are always taken, so a run's noise sequence depends only on the seed and the
        number of windows, not on which values are zero.
        """
        z_x, z_p = rng.standard_normal(2)
        return (
            max(0.0, throughput_sps * (1.0 + self.throughput_cv * float(z_x))),
            max(0.0, power_w * (1.0 + self.power_cv * float(z_p))),
        )


def _segments(scenario: Scenario) -> tuple[Segment, ...]:
    wl = scenario.workload
    total = wl.total_samples
    x = throughput_curve(wl.throughput)
    p = power_curve(wl.power)
    starts = [0.0]
    curves = [(x, p)]
    for phase in wl.phases:
        if phase.throughput is not None:
            x = throughput_curve(phase.throughput)
        if phase.power is not None:
            p = power_curve(phase.power)
        starts.append(phase.at_fraction * total)
        curves.append((x, p))
    ends = [*starts[1:], total]
    return tuple(
        Segment(start, end, cx, cp)
        for start, end, (cx, cp) in zip(starts, ends, curves, strict=True)
    )
