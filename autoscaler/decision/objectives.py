"""Objectives in one currency: *objective units per second* while running at degree n.

- ``energy``: watts (J/s); per sample that is joules per sample, P(n)/X(n).
- ``time``: seconds per second (1); per sample that is 1/X(n).
- ``balanced:η``: η·P(n) + (1−η)·P_max (Zeus: η·E + (1−η)·P_max·T), with P_max the largest
  predicted job power over the allowed degrees, so both terms are joules.

Writing every objective as a rate c(n) makes the costs comparable: running the remaining R
samples at n costs R·c(n)/X(n), and a resize costs downtime × c(new n) (no progress, the new
degree's power drawn) — the pay-back test and exploration use exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.decision.models import Curve
from autoscaler.decision.types import Objective, ObjectiveKind


@dataclass(frozen=True)
class ObjectiveCurve:
    """Per-degree objective per sample (mean, sd) and objective rate per second."""

    grid: np.ndarray
    per_sample: np.ndarray  # objective units per sample
    per_sample_sd: np.ndarray
    rate_per_s: np.ndarray  # objective units per second while running (or resizing) at n
    unit: str

    def index(self, replicas: int) -> int:
        return int(replicas - self.grid[0])


def objective_unit(objective: Objective) -> str:
    return "s" if objective.kind is ObjectiveKind.TIME else "J"


def evaluate(objective: Objective, throughput: Curve, power: Curve) -> ObjectiveCurve:
    """Objective per sample on the grid, with a one-sigma band from both curves."""
    x = np.maximum(throughput.mean, 1e-12)
    p = np.maximum(power.mean, 0.0)
    rel_x = throughput.sd / x
    if objective.kind is ObjectiveKind.ENERGY:
        rate = p
        rate_sd = power.sd
    elif objective.kind is ObjectiveKind.TIME:
        rate = np.ones_like(x)
        rate_sd = np.zeros_like(x)
    else:
        p_max = float(np.max(p))
        rate = objective.eta * p + (1.0 - objective.eta) * p_max
        rate_sd = objective.eta * power.sd
    per_sample = rate / x
    rel_rate = rate_sd / np.maximum(rate, 1e-12)
    sd = per_sample * np.sqrt(rel_rate**2 + rel_x**2)
    return ObjectiveCurve(
        grid=throughput.grid, per_sample=per_sample, per_sample_sd=sd, rate_per_s=rate,
        unit=objective_unit(objective),
    )
