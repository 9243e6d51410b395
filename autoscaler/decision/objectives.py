"""Objectives in one currency: *objective units per second* while running at degree n.

- ``energy``: watts (J/s); per sample that is joules per sample, P(n)/X(n).
- ``time``: seconds per second (1); per sample that is 1/X(n).
- ``balanced:η``: η·P(n) + (1−η)·P_max (Zeus: η·E + (1−η)·P_max·T), with P_max the largest
  predicted job power over the allowed degrees, so both terms are joules.
- ``cost``: money per second, P(n)·price_per_J + n·price_per_worker_s.
- ``carbon``: grams of CO2 per second, P(n)·g_per_J.

A price that follows a schedule is planned with its *mean over the remaining work's expected
duration at that degree*, [now, now + R/X(n)]: a wide degree that finishes inside tonight's
cheap hours is priced at tonight's price, a narrow one that runs into tomorrow at the day's
mean. (A first version: it does not yet plan a change of degree at a change point.) The price
planned with, per degree, is kept on the curve so that the decision can say it.

Writing every objective as a rate c(n) makes the costs comparable: running the remaining R
samples at n costs R·c(n)/X(n), and a resize costs downtime × c(new n) (no progress, the new
degree's power drawn) — the pay-back test and exploration use exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.decision.models import Curve
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

    def index(self, replicas: int) -> int:
        return int(replicas - self.grid[0])

    def price_note(self, replicas: int) -> str:
        """Which price the decision at ``replicas`` was planned with (empty: no prices)."""
        if self.planned_price is None:
            return ""
        price = float(self.planned_price[self.index(replicas)])
        return f"planned with {self.price_label}: {price:.4g}"


def objective_unit(objective: Objective) -> str:
    return UNITS[objective.kind]


@dataclass(frozen=True)
class PriceContext:
    """What a schedule needs: the prices, the time now and the remaining work (samples)."""

    prices: Prices
    now_s: float
    remaining_samples: float


def _planned(rate: Rate | None, ctx: PriceContext, x: np.ndarray) -> tuple[np.ndarray, str]:
    """Per degree: the rate's mean over [now, now + R/X(n)] (0 where not given), and its kind."""
    if rate is None:
        return np.zeros_like(x), ""
    if rate.is_constant:
        return np.full(x.shape, rate.points[0][1]), ""
    scheduled = ", scheduled: mean over the work left"
    return rate.mean_over(ctx.now_s, ctx.remaining_samples / x), scheduled


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
    else:
        p_max = float(np.max(p))
        rate = objective.eta * p + (1.0 - objective.eta) * p_max
        rate_sd = objective.eta * power.sd
    per_sample = rate / x
    rel_rate = rate_sd / np.maximum(rate, 1e-12)
    sd = per_sample * np.sqrt(rel_rate**2 + rel_x**2)
    return ObjectiveCurve(
        grid=throughput.grid, per_sample=per_sample, per_sample_sd=sd, rate_per_s=rate,
        unit=objective_unit(objective), planned_price=planned, price_label=label,
    )
