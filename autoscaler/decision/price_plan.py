"""Planning across a price change: which degree to run *until the next change point*.

Pricing the remaining work at each degree with the price's mean over its duration (what
:mod:`autoscaler.decision.objectives` does for a constant) misses the lever a schedule gives:
work done now *displaces* work that would otherwise be done after the next change, at the next
price. So with a schedule the remaining work R at degree n is planned in two parts:

- now until the next change point t_c (T = t_c − now), at degree n, at the price's mean over
  that part (a *change* is a step out of ±10 % of the price now: see :data:`SIGNIFICANT`);
- the work still left after t_c, R_after(n) = R − X(n)·T, at the degree m best for it then
  (each m priced at the schedule's mean over [t_c, t_c + R_after/X(m)]), plus one resize
  to m at t_c if m ≠ n (downtime × m's rate then).

A degree that finishes before t_c (R/X(n) ≤ T) costs R·c_now(n). Otherwise its cost is
T·r_now(n) + R_after(n)·λ(n) (+ the resize), with λ the best per-sample objective after the
change: running wide now pays only where a sample now is cheaper than one later
(r_now(n)/X(n) < λ), so while power is dear the plan runs few workers and defers the work,
and while it is cheap it runs wide if the work would otherwise run into dear hours.

The plan is returned as an objective *per sample over the remaining work* (C(n)/R) with the
rate *now* (what a resize's downtime costs now), so the policy's existing pay-back stage decides
with it unchanged: resize only where R·(f_cur − f_tgt) = C(cur) − C(tgt) surely exceeds the
resize cost — i.e. where the resize pays before the next change, counting what follows it.
It is a one-change look-ahead, re-planned at every decision; later changes enter only through
the mean price after t_c. Pure: ``now_s`` is passed in, no clock, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from autoscaler.decision.prices import J_PER_KWH, S_PER_HOUR, Prices, Rate

Array = np.ndarray


@dataclass(frozen=True)
class PlanInputs:
    """The fitted curves on the degree grid and what the plan needs of the job."""

    grid: Array  # degrees
    throughput: Array  # mean samples/s per degree (> 0)
    throughput_sd: Array
    power: Array  # mean W per degree
    power_sd: Array
    remaining_samples: float
    allowed: Array | None = None  # bool per degree (a power cap); None: all
    resize_downtime_s: float = 0.0


@dataclass(frozen=True)
class PricePlan:
    """Per degree: the objective per sample of the two-part plan, its sd, the rate now; and
    what the plan assumed (for the decision's message). The change is the next significant one
    (see :data:`SIGNIFICANT`)."""

    per_sample: Array
    per_sample_sd: Array
    rate_now: Array  # objective units per second at the prices holding now
    price_now: float  # the leading price now (per kWh, gCO2/kWh or per worker-hour)
    price_after: Array  # per degree: the leading price's mean after the change, as planned
    change_at_s: float
    now_s: float
    later_degree: Array  # per degree: the degree planned after the change
    finishes_before: Array  # bool per degree: done before the change at that degree
    unit: str  # of the leading price

    def note(self, i: int) -> str:
        """Which price degree index ``i`` was planned with, and why (one clause)."""
        until = f"{self.price_now:.4g}{self.unit} now until t={self.change_at_s:.0f} s"
        if self.finishes_before[i]:
            return f"{until} (the work left ends before that change)"
        return (
            f"{until}, then {float(self.price_after[i]):.4g}{self.unit}: the work left after "
            f"the change planned at {int(self.later_degree[i])}"
        )


def _values(rate: Rate | None, t_s: float) -> float:
    return 0.0 if rate is None else rate.value_at(t_s)


def _means(rate: Rate | None, t_s: float, durations: Array) -> Array:
    if rate is None:
        return np.zeros_like(durations)
    return np.asarray(rate.mean_over(t_s, durations), dtype=np.float64)


def leading(prices: Prices, carbon: bool) -> tuple[Rate | None, str]:
    """The price whose level the plan reports: intensity for carbon, else electricity (the
    worker price where only it is given)."""
    if carbon:
        return prices.carbon_g_per_kwh, " gCO2/kWh"
    if prices.energy_per_kwh is not None:
        return prices.energy_per_kwh, "/kWh"
    return prices.per_worker_hour, "/worker-h"


# A change is one where the price leaves a band of ±SIGNIFICANT around the price now. Smaller
# steps (an hourly grid curve moves a few % an hour) are within what the fitted objective at an
# unmeasured degree is known to (rarely better than ±10 %): planning on them steers the choice
# by noise, and a one-change look-ahead would stop at every small step before the big one.
SIGNIFICANT = 0.10
MAX_SCAN = 10_000  # change points examined when looking for the next significant one


def next_change(prices: Prices, carbon: bool, now_s: float) -> float:
    """The first significant change after ``now_s`` of any price the objective reads (inf:
    none)."""
    rates = (prices.carbon_g_per_kwh,) if carbon else (prices.energy_per_kwh,
                                                       prices.per_worker_hour)
    return min((_next_significant(r, now_s) for r in rates if r is not None), default=math.inf)


def _next_significant(rate: Rate, now_s: float) -> float:
    """The first change point after ``now_s`` where the value leaves ±SIGNIFICANT of the value
    now (a repeating schedule is scanned for one period)."""
    value, t = rate.value_at(now_s), now_s
    end = now_s + rate.repeat_s if rate.repeat_s is not None else math.inf
    for _ in range(min(len(rate.points) + 1, MAX_SCAN)):
        t = rate.next_change(t)
        if not math.isfinite(t) or t > end:
            return math.inf
        if abs(rate.value_at(t) - value) > SIGNIFICANT * value:
            return t
    return math.inf


def plan(inputs: PlanInputs, prices: Prices, carbon: bool, now_s: float) -> PricePlan | None:
    """The two-part plan of the module doc, or None when no price the objective reads changes
    again (then the plain mean over the remaining work is exact)."""
    t_c = next_change(prices, carbon, now_s)
    if not math.isfinite(t_c):
        return None
    x = np.maximum(np.asarray(inputs.throughput, dtype=np.float64), 1e-12)
    p = np.maximum(np.asarray(inputs.power, dtype=np.float64), 0.0)
    n = np.asarray(inputs.grid, dtype=np.float64)
    big_r = max(float(inputs.remaining_samples), 0.0)
    span = t_c - now_s

    def rate(g_kwh: Array | float, kwh: Array | float, w_h: Array | float,
             p_w: Array, workers: Array) -> Array:
        if carbon:
            return np.asarray(p_w * g_kwh / J_PER_KWH)
        return np.asarray(p_w * kwh / J_PER_KWH + workers * w_h / S_PER_HOUR)

    e, w, g = prices.energy_per_kwh, prices.per_worker_hour, prices.carbon_g_per_kwh
    r_now = rate(_values(g, now_s), _values(e, now_s), _values(w, now_s), p, n)
    # The part before t_c at the mean over its own duration (the small steps within the band).
    first = np.minimum(span, big_r / x)
    r_first = rate(_means(g, now_s, first), _means(e, now_s, first), _means(w, now_s, first),
                   p, n)
    c_now = r_first / x
    after = np.maximum(big_r - x * span, 0.0)  # per degree n: work left at t_c
    finishes = after <= 0.0
    # Later degree m for each n: durations after[n] / x[m], priced at the mean over them.
    dur = after[:, None] / x[None, :]
    r_later = rate(_means(g, t_c, dur), _means(e, t_c, dur), _means(w, t_c, dur),
                   p[None, :], n[None, :])
    per_later = r_later / x[None, :]
    ok = inputs.allowed if inputs.allowed is not None and np.any(inputs.allowed) else None
    if ok is not None:
        per_later = np.where(np.asarray(ok, dtype=bool)[None, :], per_later, np.inf)
    best_m = np.argmin(per_later, axis=1)
    rows = np.arange(x.size)
    lam = per_later[rows, best_m]
    switch = (best_m != rows) & ~finishes
    resize_later = np.where(switch, inputs.resize_downtime_s * r_later[rows, best_m], 0.0)
    done_now = np.where(finishes, big_r, x * span)
    cost = np.where(finishes, big_r * c_now, span * r_first + after * lam + resize_later)
    # Uncertainty: the part done now carries the degree's own band; the displaced later work
    # moves with X(n) (λ is shared by all degrees, so its error cancels in a comparison).
    rel_x = np.asarray(inputs.throughput_sd, dtype=np.float64) / x
    rel_p = np.asarray(inputs.power_sd, dtype=np.float64) / np.maximum(p, 1e-12)
    energy_share = 1.0 if carbon else _energy_share(p, n, e, w, now_s)
    rel_now = np.hypot(rel_x, rel_p * energy_share)
    sd = np.hypot(done_now * c_now * rel_now, np.where(finishes, 0.0, x * span * lam * rel_x))
    scale = big_r if big_r > 0 else 1.0
    lead, unit = leading(prices, carbon)
    lead_after = _means(lead, t_c, dur[rows, best_m])
    return PricePlan(
        per_sample=cost / scale, per_sample_sd=sd / scale, rate_now=r_now,
        price_now=_values(lead, now_s), price_after=lead_after, change_at_s=t_c, now_s=now_s,
        later_degree=np.asarray(inputs.grid)[best_m], finishes_before=finishes, unit=unit,
    )


def _energy_share(p: Array, n: Array, e: Rate | None, w: Rate | None, now_s: float) -> Array:
    """The share of the money rate that electricity is (the part a power error moves)."""
    energy = p * _values(e, now_s) / J_PER_KWH
    workers = n * _values(w, now_s) / S_PER_HOUR
    total = energy + workers
    return np.asarray(np.where(total > 0, energy / np.maximum(total, 1e-300), 0.0))
