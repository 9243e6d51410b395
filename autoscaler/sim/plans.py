"""Every Pareto-optimal way to run the job, knowing the true curves: the oracle's search space.

A plan runs each phase at one degree, or — when the job has a deadline or a budget — splits a
phase between two degrees (one resize inside the phase). The split matters: with a deadline
that the energy-best degree misses, running part of the work one degree wider and the rest at a
cheaper one meets the deadline for less energy than any single degree. Without constraints a
split never helps (the objective is linear in the work at each degree and a resize only costs).

Search: a dynamic programme over phases whose state is the current degree and whose value is
the Pareto frontier of (time, energy). Objective and constraints all grow with time and energy,
so the frontier holds the optimum. Splits use a grid of ``mix_steps`` work fractions between
neighbouring vertices of the phase's lower-left convex hull in the (time, energy) plane, which is
where a linear programme's mixes lie; the grid bounds the error at 1/mix_steps of the gap
between two neighbouring degrees.

The frontier can grow combinatorially with phases and degrees (5 phases over 64 degrees took
13 s; 10 over 1,024 ran out of memory). Two things bound the work: a resize at a phase start is
tried only from the frontier over all end degrees (exact, see :func:`_pairs`), and above
:data:`MAX_STATES` states the frontier is thinned to evenly spaced points per end degree, always
keeping each end degree's fastest and least-energy plan and its best for each scoring weight the
caller names (so an unconstrained optimum stays exact). Every bundled scenario stays far below
the caps, so its plans are exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from autoscaler.sim.workload import Segment, Workload

Legs = tuple[tuple[int, float], ...]
Weights = tuple[tuple[float, float], ...]  # (a, b): a plan scores a·energy_j + b·time_s

MAX_STATES = 4096  # frontier states kept between phases before thinning
MAX_SWITCH_PARENTS = 256  # states a resize at a phase start is tried from, before thinning
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Plan:
    """How to run the job: ``legs`` of (degree, samples) in order, and what it costs."""

    legs: Legs
    energy_j: float
    time_s: float

    @property
    def degrees(self) -> tuple[int, ...]:
        """Degrees in run order, one per stretch at a degree, e.g. ``(5, 11, 3)``."""
        legs = self.legs
        return tuple(d for i, (d, _) in enumerate(legs) if i == 0 or d != legs[i - 1][0])

    @property
    def changes(self) -> int:
        return len(self.degrees) - 1


@dataclass(frozen=True)
class _Options:
    """The ways to run one phase: start and end degree, time, energy, resizes inside, legs."""

    start: IntArray
    end: IntArray
    time_s: FloatArray
    energy_j: FloatArray
    changes: IntArray
    legs: list[Legs]


def _options(seg: Segment, degrees: list[int], downtime_s: float, mix_steps: int) -> _Options:
    work = seg.end_samples - seg.start_samples
    rows: list[tuple[int, int, float, float, int, Legs]] = []
    t = {d: work / seg.throughput(d) for d in degrees}
    e = {d: work * seg.power(d) / seg.throughput(d) for d in degrees}
    rows += [(d, d, t[d], e[d], 0, ((d, work),)) for d in degrees]
    hull = _lower_left_hull([(t[d], e[d], d) for d in degrees]) if mix_steps else []
    for a, b in itertools.pairwise(hull):
        for k in range(1, mix_steps):
            f = k / mix_steps
            for first, second, share in ((a, b, f), (b, a, 1.0 - f)):
                rows.append(
                    (
                        first,
                        second,
                        share * t[first] + (1 - share) * t[second] + downtime_s,
                        share * e[first] + (1 - share) * e[second] + downtime_s * seg.power(second),
                        1,
                        ((first, share * work), (second, (1 - share) * work)),
                    )
                )
    return _Options(
        start=np.array([r[0] for r in rows], dtype=np.int64),
        end=np.array([r[1] for r in rows], dtype=np.int64),
        time_s=np.array([r[2] for r in rows], dtype=np.float64),
        energy_j=np.array([r[3] for r in rows], dtype=np.float64),
        changes=np.array([r[4] for r in rows], dtype=np.int64),
        legs=[r[5] for r in rows],
    )


def _lower_left_hull(points: list[tuple[float, float, int]]) -> list[int]:
    """Degrees on the lower-left convex hull of (time, energy) points, fastest first."""
    pareto: list[tuple[float, float, int]] = []
    for p in sorted(points):
        if not pareto or p[1] < pareto[-1][1]:
            pareto.append(p)
    hull: list[tuple[float, float, int]] = []
    for p in pareto:  # monotone chain: drop the middle point while the turn is not convex
        while len(hull) >= 2:
            (x1, y1, _), (x2, y2, _) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) <= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return [d for _, _, d in hull]


def pareto_plans(
    workload: Workload,
    lo: int,
    hi: int,
    *,
    mix_steps: int = 0,
    weights: Weights = (),
    allowed: Callable[[Segment], list[int]] | None = None,
) -> list[Plan]:
    """Every plan over degrees in [lo, hi] that no other plan beats on both time and energy
    (thinned above MAX_STATES, keeping the best plan for each of ``weights``). ``allowed``
    narrows the degrees a phase may run at (a power cap), never to none."""
    downtime_s = workload.resize_downtime_s
    back: list[tuple[IntArray, IntArray, _Options]] = []  # per phase: parent, option, options
    t = e = np.zeros(0)
    end = changes = np.zeros(0, dtype=np.int64)
    for k, seg in enumerate(workload.segments):
        degrees = list(range(lo, hi + 1)) if allowed is None else allowed(seg)
        opt = _options(seg, degrees, downtime_s, mix_steps)
        if k == 0:  # the oracle starts at its chosen degree at no cost
            parent = np.full(len(opt.start), -1, dtype=np.int64)
            choice = np.arange(len(opt.start), dtype=np.int64)
            t, e, changes = opt.time_s, opt.energy_j, opt.changes
        else:
            parent, choice = _pairs(end, t, e, changes, opt.start, weights)
            switch = end[parent] != opt.start[choice]
            start_power = np.array([seg.power(int(d)) for d in opt.start])[choice]
            t = t[parent] + opt.time_s[choice] + downtime_s * switch
            e = e[parent] + opt.energy_j[choice] + downtime_s * start_power * switch
            changes = changes[parent] + opt.changes[choice] + switch
        end = opt.end[choice]
        keep = _frontier_per_end(end, t, e, changes)
        if len(keep) > MAX_STATES:
            keep = _thin(keep, end, t, e, weights, MAX_STATES)
        parent, choice = parent[keep], choice[keep]
        t, e, end, changes = t[keep], e[keep], end[keep], changes[keep]
        back.append((parent, choice, opt))
    overall = _frontier_per_end(np.zeros_like(end), t, e, changes)
    return [_plan(back, int(i), float(e[i]), float(t[i])) for i in overall]


def _frontier_per_end(end: IntArray, t: FloatArray, e: FloatArray, changes: IntArray) -> IntArray:
    """Indices of the (time, energy) Pareto frontier within each end degree; ties: fewer
    resizes first."""
    order = np.lexsort((changes, e, t, end))
    if len(order) == 0:
        return order.astype(np.int64)
    e_sorted = e[order]
    end_sorted = end[order]
    # A point is kept when its energy is below every earlier one in its end degree (earlier:
    # faster, or as fast with less energy or fewer resizes): a running minimum per group.
    starts = np.flatnonzero(np.r_[True, end_sorted[1:] != end_sorted[:-1]])
    best_before = np.empty_like(e_sorted)
    for a, b in itertools.pairwise([*starts.tolist(), len(order)]):
        best_before[a] = np.inf
        if b - a > 1:
            best_before[a + 1 : b] = np.minimum.accumulate(e_sorted[a : b - 1])
    return order[e_sorted < best_before].astype(np.int64)


def _pairs(
    end: IntArray,
    t: FloatArray,
    e: FloatArray,
    changes: IntArray,
    start: IntArray,
    weights: Weights,
) -> tuple[IntArray, IntArray]:
    """(state, option) pairs worth extending, in state-major order.

    An option starting at degree s extends, without a resize, every state ending at s; with a
    resize, whose cost depends on s alone, only states on the frontier over all end degrees
    (any other state is beaten by a frontier state plus the same resize, or by one ending at s
    without it). That keeps the work near states + options x frontier, not states x options.
    """
    n_opt = len(start)
    order = np.argsort(end, kind="stable")
    sorted_end = end[order]
    first = np.searchsorted(sorted_end, start, side="left")
    counts = np.searchsorted(sorted_end, start, side="right") - first
    same_choice = np.repeat(np.arange(n_opt, dtype=np.int64), counts)
    offsets = np.arange(len(same_choice)) - np.repeat(np.cumsum(counts) - counts, counts)
    same_parent = order[np.repeat(first, counts) + offsets]
    front = _frontier_per_end(np.zeros_like(end), t, e, changes)
    if len(front) > MAX_SWITCH_PARENTS:
        front = _thin(front, np.zeros_like(end), t, e, weights, MAX_SWITCH_PARENTS)
    sw_parent, sw_choice = (a.ravel() for a in np.indices((len(front), n_opt)))
    sw_parent = front[sw_parent]
    differs = end[sw_parent] != start[sw_choice]
    parent = np.concatenate([same_parent, sw_parent[differs]]).astype(np.int64)
    choice = np.concatenate([same_choice, sw_choice[differs]]).astype(np.int64)
    rows = np.lexsort((choice, parent))  # the order of the exhaustive pairing: ties resolve alike
    return parent[rows], choice[rows]


def _thin(
    keep: IntArray, end: IntArray, t: FloatArray, e: FloatArray, weights: Weights, cap: int
) -> IntArray:
    """At most about ``cap`` of the frontier ``keep``: per end degree, evenly spaced points
    plus the fastest, the least-energy and the best for each weight."""
    ends = end[keep]
    groups = np.unique(ends)
    per_group = max(2, cap // len(groups))
    kept: list[IntArray] = []
    for g in groups:
        idx = keep[ends == g]
        idx = idx[np.argsort(t[idx], kind="stable")]
        picks = set(np.linspace(0, len(idx) - 1, per_group).round().astype(int).tolist())
        picks |= {int(np.argmin(e[idx]))}
        picks |= {int(np.argmin(a * e[idx] + b * t[idx])) for a, b in weights}
        kept.append(idx[sorted(picks)])
    return np.concatenate(kept)


def _plan(back: list[tuple[IntArray, IntArray, _Options]], index: int, e: float, t: float) -> Plan:
    legs: Legs = ()
    for parent, choice, opt in reversed(back):
        legs = opt.legs[int(choice[index])] + legs
        index = int(parent[index])
    return Plan(legs, e, t)
