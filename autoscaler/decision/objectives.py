"""Objectives in one currency: *objective units per second* while running at degree n.

- ``energy``: watts (J/s); per sample that is joules per sample, P(n)/X(n).
- ``time``: seconds per second (1); per sample that is 1/X(n).
- ``balanced:η``: η·P(n) + (1−η)·P_max (Zeus: η·E + (1−η)·P_max·T), with P_max the largest
  predicted job power over the allowed degrees, so both terms are joules.
- ``cost``: money per second, P(n)·price_per_J + n·price_per_worker_s.
- ``carbon``: grams of CO2 per second, P(n)·g_per_J.

A price that follows a schedule is planned across its next change point
(:mod:`autoscaler.decision.price_plan`): the work until the change at the price holding now,
the work left after it at the degree best then, so that a degree's objective per sample counts
the work it displaces into dearer or cheaper hours. The rate per second stays the rate *now*
(what a resize's downtime costs now). Without a change ahead the price's mean over the
remaining work's expected duration at that degree, [now, now + R/X(n)], is exact. The price
planned with, per degree, is kept on the curve so that the decision can say it. With a plan the
curve also keeps the objective per sample at the prices holding now, one price for every degree
(``at_prices_now``): what a trial reveals about a degree, free of what the schedule makes of its
*predicted* speed; exploration orders its trials by it (:mod:`autoscaler.decision.exploration`).

Writing every objective as a rate c(n) makes the costs comparable: running the remaining R
samples at n costs R·c(n)/X(n), and a resize costs downtime × c(new n) (no progress, the new
degree's power drawn) — the pay-back test and exploration use exactly these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from autoscaler.decision.models import Curve
from autoscaler.decision.price_plan import PlanInputs, PricePlan, plan
from autoscaler.decision.prices import J_PER_KWH, S_PER_HOUR, Prices, Rate
from autoscaler.decision.types import Objective, ObjectiveKind

UNITS = {
    ObjectiveKind.ENERGY: "J", ObjectiveKind.TIME: "s", ObjectiveKind.BALANCED: "J",
    ObjectiveKind.COST: "money", ObjectiveKind.CARBON: "gCO2",
}


@dataclass(frozen=True)
class ObjectiveCurve:
    """Per-degree objective per sample (mean, sd) and objective rate per second."""

    grid: np.ndarray
    per_sample: np.ndarray  # objective units per sample
    per_sample_sd: np.ndarray
    rate_per_s: np.ndarray  # objective units per second while running (or resizing) at n
    unit: str
    # cost / carbon: the per-unit price planned with at each degree (per kWh for electricity
    # or carbon, per worker-hour for workers) and what to call it; empty otherwise.
    planned_price: np.ndarray | None = None
    price_label: str = ""
    price_plan: PricePlan | None = None  # a schedule's plan across its next change point
    # With a plan: the objective per sample (mean, sd) at the prices holding now, every degree
    # at the same price: the degree's own curve, P(n)/X(n) priced, not its place in the plan.
    at_prices_now: tuple[np.ndarray, np.ndarray] | None = None

    def index(self, replicas: int) -> int:
        return int(replicas - self.grid[0])

    def price_note(self, replicas: int) -> str:
        """Which price the decision at ``replicas`` was planned with (empty: no prices)."""
        if self.planned_price is None:
            return ""
        i = self.index(replicas)
        if self.price_plan is not None:
            return f"planned with {self.price_label}: {self.price_plan.note(i)}"
        return f"planned with {self.price_label}: {float(self.planned_price[i]):.4g}"


def objective_unit(objective: Objective) -> str:
    return UNITS[objective.kind]


@dataclass(frozen=True)
class PriceContext:
    """What a schedule needs: the prices, the time now and the remaining work (samples); to
    plan across a change also the degrees allowed (a power cap) and the resize downtime."""

    prices: Prices
    now_s: float
    remaining_samples: float
    allowed: np.ndarray | None = None
    resize_downtime_s: float = 0.0


def _planned(rate: Rate | None, ctx: PriceContext, x: np.ndarray) -> tuple[np.ndarray, str]:
    """Per degree: the rate's mean over [now, now + R/X(n)] (0 where not given), and its kind."""
    if rate is None:
        return np.zeros_like(x), ""
    if rate.is_constant:
        return np.full(x.shape, rate.points[0][1]), ""
    scheduled = ", scheduled: mean over the work left"
    return rate.mean_over(ctx.now_s, ctx.remaining_samples / x), scheduled


ArrayOrFloat = TypeVar("ArrayOrFloat", float, np.ndarray)


def balanced_max_power_w(powers: Iterable[float] | np.ndarray) -> float:
    """P_max of ``balanced:η``: the largest job power over the degrees compared (predicted by
    the engine, measured by the sweep baseline, true in the oracle), so that (1−η)·P_max·T is
    in joules like η·E."""
    values = powers if isinstance(powers, np.ndarray) else np.fromiter(powers, dtype=float)
    return float(np.max(values))


def balanced_value(eta: float, energy: ArrayOrFloat, time: ArrayOrFloat,
                   max_power_w: float) -> ArrayOrFloat:
    """η·E + (1−η)·P_max·T (Zeus): with E in J and T in s, or as rates with E in W and T = 1."""
    return eta * energy + (1.0 - eta) * max_power_w * time


def objective_value(
    objective: Objective, energy_j: float, time_s: float, max_power_w: float,
    cost: float | None = None, carbon_g: float | None = None,
) -> float:
    """A whole run's (or one sample's) objective as a total: J, s, η·E + (1−η)·P_max·T, money
    or gCO2 (those two need the run priced). The simulator scores every run by it and the
    sweep baseline chooses by it; :func:`evaluate` is the same objective as a rate per second."""
    if objective.kind in (ObjectiveKind.COST, ObjectiveKind.CARBON):
        value = cost if objective.kind is ObjectiveKind.COST else carbon_g
        if value is None:
            raise ValueError(f"objective {objective} needs the run priced")
        return value
    if objective.kind is ObjectiveKind.ENERGY:
        return energy_j
    if objective.kind is ObjectiveKind.TIME:
        return time_s
    return balanced_value(objective.eta, energy_j, time_s, max_power_w)


def evaluate(
    objective: Objective, throughput: Curve, power: Curve, prices: PriceContext | None = None
) -> ObjectiveCurve:
    """Objective per sample on the grid, with a one-sigma band from both curves."""
    x = np.maximum(throughput.mean, 1e-12)
    p = np.maximum(power.mean, 0.0)
    rel_x = throughput.sd / x
    planned: np.ndarray | None = None
    label = ""
    if objective.kind is ObjectiveKind.ENERGY:
        rate = p
        rate_sd = power.sd
    elif objective.kind is ObjectiveKind.TIME:
        rate = np.ones_like(x)
        rate_sd = np.zeros_like(x)
    elif objective.kind in (ObjectiveKind.COST, ObjectiveKind.CARBON):
        if prices is None:
            raise ValueError(f"objective {objective} needs prices")
        p_rates = prices.prices
        if objective.kind is ObjectiveKind.CARBON:
            g_kwh, how = _planned(p_rates.carbon_g_per_kwh, prices, x)
            rate, rate_sd = p * g_kwh / J_PER_KWH, power.sd * g_kwh / J_PER_KWH
            planned, label = g_kwh, f"carbon intensity (gCO2/kWh{how})"
        else:
            kwh, how_e = _planned(p_rates.energy_per_kwh, prices, x)
            worker_h, how_w = _planned(p_rates.per_worker_hour, prices, x)
            n = throughput.grid.astype(float)
            rate = p * kwh / J_PER_KWH + n * worker_h / S_PER_HOUR
            rate_sd = power.sd * kwh / J_PER_KWH
            if p_rates.energy_per_kwh is not None:
                planned, label = kwh, f"electricity price (per kWh{how_e})"
            else:
                planned, label = worker_h, f"worker price (per worker-hour{how_w})"
        scheduled = _across_change(objective, throughput, power, prices)
        if scheduled is not None:
            rate_sd_now = _rate_sd_now(objective, power, prices)
            now_per_sample = scheduled.rate_now / x
            now_sd = now_per_sample * np.sqrt(
                (rate_sd_now / np.maximum(scheduled.rate_now, 1e-12)) ** 2 + rel_x**2)
            return ObjectiveCurve(
                grid=throughput.grid, per_sample=scheduled.per_sample,
                per_sample_sd=scheduled.per_sample_sd, rate_per_s=scheduled.rate_now,
                unit=objective_unit(objective),
                planned_price=np.full(x.shape, scheduled.price_now),
                price_label=label.split(" (")[0] + " (scheduled)", price_plan=scheduled,
                at_prices_now=(now_per_sample, now_sd),
            )
    else:
        rate = balanced_value(objective.eta, p, np.ones_like(p), balanced_max_power_w(p))
        rate_sd = objective.eta * power.sd
    per_sample = rate / x
    rel_rate = rate_sd / np.maximum(rate, 1e-12)
    sd = per_sample * np.sqrt(rel_rate**2 + rel_x**2)
    return ObjectiveCurve(
        grid=throughput.grid, per_sample=per_sample, per_sample_sd=sd, rate_per_s=rate,
        unit=objective_unit(objective), planned_price=planned, price_label=label,
    )


def _across_change(
    objective: Objective, throughput: Curve, power: Curve, ctx: PriceContext
) -> PricePlan | None:
    """The plan across the next change point of a scheduled price (None: no change ahead)."""
    inputs = PlanInputs(
        grid=throughput.grid, throughput=throughput.mean, throughput_sd=throughput.sd,
        power=power.mean, power_sd=power.sd, remaining_samples=ctx.remaining_samples,
        allowed=ctx.allowed, resize_downtime_s=ctx.resize_downtime_s,
    )
    return plan(inputs, ctx.prices, objective.kind is ObjectiveKind.CARBON, ctx.now_s)


def _rate_sd_now(objective: Objective, power: Curve, ctx: PriceContext) -> np.ndarray:
    """The sd of the objective rate at the prices now: the power's band priced (the worker
    price is exact)."""
    p = ctx.prices
    rate = p.carbon_g_per_kwh if objective.kind is ObjectiveKind.CARBON else p.energy_per_kwh
    per_kwh = 0.0 if rate is None else rate.value_at(ctx.now_s)
    return np.asarray(power.sd * per_kwh / J_PER_KWH)
