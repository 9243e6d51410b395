"""Tunable knobs of the decision policy, in one frozen value so that a decision is a pure
function of (spec, config, history, now_s, progress).

Defaults are chosen for training jobs measured in 30-second windows that run for hours: every
resize costs ``resize_downtime_s`` of zero progress at the new degree's power, so the policy
only pays that when the predicted saving over the remaining work exceeds it by ``margin``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class PolicyConfig:
    """Knobs of :class:`autoscaler.decision.Controller`. All durations in seconds."""

    # --- resize economics -------------------------------------------------------------
    resize_downtime_s: float = 30.0  # zero progress after a resize, drawing the new power
    margin: float = 0.25  # resize only if saving > cost * (1 + margin)
    resize_z: float = 1.0  # ... where saving is its lower bound: mean − resize_z·sd
    unmeasured_z: float = 2.0  # ... and mean − unmeasured_z·sd to a degree never measured
    default_horizon_s: float = 3600.0  # remaining run time assumed without total_samples
    near_end_saving: float = 0.2  # no saving this large could repay a resize: "near end"

    # --- measurement validity ---------------------------------------------------------
    warmup_s: float = 30.0  # windows starting this soon after a resize are not steady state
    stale_after_s: float = 300.0  # newest window older than this: hold
    min_windows_per_degree: int = 2  # OK windows at a new degree before acting on it
    history_per_degree: int = 240  # OK windows kept per degree (oldest dropped first)

    # --- fitting and model selection --------------------------------------------------
    prior_cv: float = 0.05  # per-window noise assumed until windows tell otherwise
    min_cv: float = 0.005  # floor on the per-window noise estimate
    extrapolation_cv: float = 0.15  # model error at relative distance 1 from a measurement,
    # multiplied by (1 + number of parameters pinned because the data cannot identify them)
    table_z: float = 3.0  # USL residual (in standard errors) that switches to the table
    table_p: float = 0.01  # ... or all residuals together this unlikely (chi-square) ...
    table_min_rel: float = 0.03  # ... and one miss is at least this large relative to the value
    refit_tolerance_se: float = 0.25  # refit once a degree's mean moved this many SE
    prior_scaling_exponent: float = 1.0  # one degree measured: X(m) = X(n)·(m/n)^alpha ...
    prior_scaling_sd: float = 0.5  # ... with alpha this uncertain (0 = no gain, < 0 retrograde)

    # --- exploration ------------------------------------------------------------------
    explore: bool = True
    explore_margin: float = 3.0  # value of a trial must exceed its cost x (1 + this)
    explore_nearest: bool = False  # only the nearest unmeasured degree on each side
    explore_ratio: float = 2.0  # try degrees within this factor of the current; 0: any

    # --- constraints ------------------------------------------------------------------
    constraint_safety: float = 0.0  # extra slack on projections (the band already hedges)
    constraint_z: float = 1.0  # move to a degree if it meets them at mean + z·sd; leave the
    # current one only when it breaks one at mean − z·sd

    # --- drift ------------------------------------------------------------------------
    drift_z: float = 4.5  # recent windows this many standard errors from older ones ...
    drift_min_rel: float = 0.05  # ... and at least this relative change => forget the past
    drift_recent_windows: tuple[int, ...] = (3, 6, 12)
    stale_cv: float = 0.6  # ... and at least this relative standard error
    stale_se_factor: float = 10.0  # standard errors of degrees measured before a drift, widened

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"PolicyConfig.{f.name} must be >= 0, got {value}")
        if self.min_windows_per_degree < 1 or self.history_per_degree < 1:
            raise ValueError("PolicyConfig.min_windows_per_degree/history_per_degree must be >= 1")
        if not self.drift_recent_windows or min(self.drift_recent_windows) < 2:
            raise ValueError("PolicyConfig.drift_recent_windows needs sizes >= 2")

    def dwell_s(self, interval_s: float) -> float:
        """How long a new degree takes to be measured: the resize's downtime, the warm-up and
        the minimum windows (a trial's stay; the shortest first part of a two-degree plan)."""
        return self.warmup_s + self.resize_downtime_s + self.min_windows_per_degree * interval_s

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["drift_recent_windows"] = list(self.drift_recent_windows)
        return data
