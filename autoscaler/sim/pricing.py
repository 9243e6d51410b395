"""What a run costs at the scenario's true prices, and the oracle's priced candidate plans.

A plan (:class:`autoscaler.sim.plans.Plan`) says which degree runs which work; laid out in time
(:func:`stretches`: each leg, and each resize's downtime at the new degree's power) it can be
priced exactly against a schedule: money = ∫ power × electricity price + workers × worker
price, carbon = ∫ power × intensity (:func:`price_stretches`).

The ``cost`` and ``carbon`` objectives are not functions of (time, energy) alone (workers cost
money whatever they draw; a joule at night is cheaper than at noon), so the (time, energy)
frontier of :func:`autoscaler.sim.plans.pareto_plans` need not hold their optimum. The oracle
adds candidates that *follow the price* (:func:`priced_candidates`): every constant degree; per
phase, the degree best at the price holding at each moment (switching at change points); and,
for a schedule of at most :data:`MAX_LEVELS` distinct levels, every assignment of one degree per
level. Each is priced exactly and the oracle keeps the best, so a switch at a change point is
planned only where it pays. The search is not exhaustive (a plan that switches at some change
points but not at others of the same level is not tried); docs/simulator.md says so.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from autoscaler.decision.prices import J_PER_KWH, S_PER_HOUR, Prices, Rate
from autoscaler.decision.types import ObjectiveKind
from autoscaler.sim.plans import Plan
from autoscaler.sim.workload import Segment, Workload

Stretch = tuple[float, float, int, float]  # start s, end s, workers, power W
Allowed = Callable[[Segment], list[int]]
Priced = tuple[float | None, float | None]  # (money, gCO2)
Chooser = Callable[[int, float], int]  # (phase, t_s) -> degree

MAX_LEVELS = 3  # per-level assignments are tried for schedules with at most this many levels
MAX_ASSIGNMENTS = 4096  # ... and at most this many assignments
MAX_STEPS = 100_000  # stretches of one price-following plan (more: the candidate is skipped)


def stretches(plan: Plan, workload: Workload) -> list[Stretch]:
    """The plan in time, from t = 0: its legs, and a downtime before each change of degree."""
    out: list[Stretch] = []
    downtime_s = workload.resize_downtime_s
    segments = workload.segments
    k, consumed, t, prev = 0, 0.0, 0.0, None
    for d, samples in plan.legs:
        seg = segments[min(k, len(segments) - 1)]
        if prev is not None and d != prev and downtime_s > 0:
            out.append((t, t + downtime_s, d, seg.power(d)))
            t += downtime_s
        if samples > 0:
            dur = samples / seg.throughput(d)
            out.append((t, t + dur, d, seg.power(d)))
            t += dur
        prev = d
        consumed += samples
        work = seg.end_samples - seg.start_samples
        if consumed >= work * (1 - 1e-9):
            k, consumed = k + 1, 0.0
    return out


def price_stretches(parts: list[Stretch], prices: Prices | None) -> Priced:
    """(money, gCO2) of the stretches; None where the prices do not say."""
    if prices is None:
        return None, None
    cost = sum(prices.cost(t0, t1, n, p) for t0, t1, n, p in parts)
    carbon = sum(prices.carbon_g(t0, t1, p) for t0, t1, _, p in parts)
    return (cost if prices.has_cost else None), (carbon if prices.has_carbon else None)


def price_plan(plan: Plan, workload: Workload, prices: Prices | None) -> Priced:
    return price_stretches(stretches(plan, workload), prices)


def leading_rate(prices: Prices, kind: ObjectiveKind) -> Rate | None:
    """The rate whose changes a plan follows: intensity for carbon, else the electricity
    price (the worker price where only it is given)."""
    if kind is ObjectiveKind.CARBON:
        return prices.carbon_g_per_kwh
    return prices.energy_per_kwh or prices.per_worker_hour


def rate_per_sample(prices: Prices, kind: ObjectiveKind, seg: Segment, d: int, t_s: float) -> float:
    """The objective per sample at degree ``d`` with the prices holding at ``t_s``."""
    p, x = seg.power(d), seg.throughput(d)
    if kind is ObjectiveKind.CARBON:
        g = prices.carbon_g_per_kwh
        return p * (g.value_at(t_s) if g else 0.0) / J_PER_KWH / x
    e, w = prices.energy_per_kwh, prices.per_worker_hour
    money = p * (e.value_at(t_s) if e else 0.0) / J_PER_KWH
    return (money + d * (w.value_at(t_s) if w else 0.0) / S_PER_HOUR) / x


def priced_rate(
    prices: Prices, kind: ObjectiveKind, now_s: float, duration_s: float, n: int, power_w: float
) -> float:
    """Objective per second at ``n`` workers drawing ``power_w``, each price averaged over
    [now, now + duration] (what the decision engine plans with)."""

    def mean(rate: Rate | None) -> float:
        return 0.0 if rate is None else float(rate.mean_over(now_s, duration_s))

    if kind is ObjectiveKind.CARBON:
        return power_w * mean(prices.carbon_g_per_kwh) / J_PER_KWH
    return (power_w * mean(prices.energy_per_kwh) / J_PER_KWH
            + n * mean(prices.per_worker_hour) / S_PER_HOUR)


def follow(workload: Workload, choose: Chooser, rate: Rate | None) -> Plan | None:
    """The plan that runs ``choose(phase, t)`` at every moment, re-choosing at each change point
    of ``rate`` and each phase start (None when it would take more than MAX_STEPS stretches)."""
    downtime_s = workload.resize_downtime_s
    t, energy, steps = 0.0, 0.0, 0
    legs: list[tuple[int, float]] = []
    cur: int | None = None
    for k, seg in enumerate(workload.segments):
        left = seg.end_samples - seg.start_samples
        while left > 0:
            steps += 1
            if steps > MAX_STEPS:
                return None
            d = choose(k, t)
            if cur is not None and d != cur:
                energy += downtime_s * seg.power(d)
                t += downtime_s
            cur = d
            x = seg.throughput(d)
            until = (rate.next_change(t) if rate is not None else math.inf) - t
            if until >= left / x:
                dur, done = left / x, left
            else:
                dur, done = until, x * until
            legs.append((d, done))
            energy += seg.power(d) * dur
            t += dur
            left = 0.0 if done >= left else left - done
    return Plan(tuple(legs), energy, t)


def priced_candidates(
    workload: Workload, lo: int, hi: int, kind: ObjectiveKind, prices: Prices, allowed: Allowed
) -> list[Plan]:
    """Plans that follow the price (see the module doc); every degree they run is allowed."""
    per_phase = [allowed(seg) for seg in workload.segments]
    everywhere = sorted(set.intersection(*(set(a) for a in per_phase)))
    rate = leading_rate(prices, kind)
    out: list[Plan] = []

    def add(plan: Plan | None) -> None:
        if plan is not None:
            out.append(plan)

    for d in everywhere:
        add(follow(workload, _constant(d), None))
    segs = workload.segments

    def myopic(k: int, t: float) -> int:
        return min(per_phase[k], key=lambda d: rate_per_sample(prices, kind, segs[k], d, t))

    add(follow(workload, myopic, rate))
    if rate is None or rate.is_constant or not everywhere:
        return out
    levels = rate.levels()
    if len(levels) > MAX_LEVELS or len(everywhere) ** len(levels) > MAX_ASSIGNMENTS:
        return out
    for assignment in itertools.product(everywhere, repeat=len(levels)):
        if len(set(assignment)) == 1:
            continue  # a constant degree: already tried
        add(follow(workload, _by_level(rate, dict(zip(levels, assignment, strict=True))), rate))
    return out


def _constant(d: int) -> Chooser:
    def choose(k: int, t: float) -> int:
        del k, t
        return d

    return choose


def _by_level(rate: Rate, degree_at: dict[float, int]) -> Chooser:
    def choose(k: int, t: float) -> int:
        del k
        return degree_at[rate.value_at(t)]

    return choose
