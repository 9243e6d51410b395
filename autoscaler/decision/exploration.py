"""Stage 6 of the policy: is measuring another degree worth its cost?

The value of a trial is the remaining work times the *expected improvement* of the degree's
objective per sample over the current one, under the fitted mean and band (a degree predicted
worse but uncertain can still be worth a look; one predicted worse and well known cannot). Its
cost is a resize there and back plus the expected loss while it is measured (warm-up and the
minimum windows). The trial happens only when value > cost × (1 + explore_margin): expected
improvement assumes the trial reveals the truth, while a few noisy windows reveal only part of
it. Candidates are degrees not measured since the last drift (a degree measured before it is
re-measured, not trusted blindly) within a factor ``explore_ratio`` of the current one
(scaling is multiplicative) that could meet the constraints.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from autoscaler.decision.situation import Situation, Verdict
from autoscaler.decision.types import Reason


def expected_excess(u: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E[max(0, Z·sd + u·sd)] for a standard normal Z: sd·(u·Φ(u) + φ(u)).

    With u = (threshold − mean)/sd this is the expected improvement of F ~ N(mean, sd) below
    the threshold; with u = (mean − threshold)/sd, the expected excess above it.
    """
    return np.asarray(sd * (u * ndtr(u) + np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)))


def _nearest_each_side(grid: np.ndarray, open_: np.ndarray, cur: int) -> np.ndarray:
    """Only the closest open degree below and the closest above the current one."""
    keep = np.zeros_like(open_)
    below = np.flatnonzero(open_ & (grid < cur))
    above = np.flatnonzero(open_ & (grid > cur))
    if below.size:
        keep[below[-1]] = True
    if above.size:
        keep[above[0]] = True
    return keep


def stage_exploration(s: Situation, target: int) -> Verdict | None:
    """Measure an unmeasured degree when the information is worth more than it costs (both
    in objective units, so a short job or a well-understood curve explores nothing)."""
    cfg, o, cur = s.evidence.cfg, s.objective, s.evidence.current
    if not cfg.explore:
        return None
    # A short trial commits to nothing: any degree whose mean meets the constraints may be tried.
    plausible = s.constraints.plausible
    open_ = ~s.fresh & (s.constraints.allowed if plausible is None else plausible)
    if cfg.explore_ratio > 0:
        # Scaling is multiplicative: a "neighbour" of 4 is 2..8, of 12 is 6..24. Degrees that
        # fill whole nodes are neighbours at any distance: a curve changes shape at node
        # boundaries, so one node (or k whole nodes) may be best however far it is.
        near = (o.grid * cfg.explore_ratio >= cur) & (o.grid <= cur * cfg.explore_ratio)
        open_ &= near | s.boundary
    if cfg.explore_nearest:
        open_ &= _nearest_each_side(o.grid, open_, cur)
    if not open_.any():
        return None
    i_cur = o.index(cur)
    f_cur = float(o.per_sample[i_cur])
    dwell_s = cfg.warmup_s + cfg.resize_downtime_s + cfg.min_windows_per_degree * s.interval_s
    sd = np.maximum(o.per_sample_sd, 1e-12 * np.abs(o.per_sample) + 1e-300)
    gain = s.remaining_samples * expected_excess((f_cur - o.per_sample) / sd, sd)
    loss_per_sample = expected_excess((o.per_sample - f_cur) / sd, sd)
    cost = cfg.resize_downtime_s * (o.rate_per_s + o.rate_per_s[i_cur])
    cost = cost + dwell_s * s.throughput_sps * loss_per_sample
    net = np.where(open_, gain - cost * (1.0 + cfg.explore_margin), -np.inf)
    best = int(np.argmax(net))
    if net[best] <= 0:
        return None
    m = int(o.grid[best])
    return Verdict(
        m, Reason.EXPLORE,
        f"measuring {m}: expected gain {gain[best]:.4g} {o.unit} over the remaining work "
        f"exceeds the trial's cost {cost[best]:.4g} {o.unit} x (1 + {cfg.explore_margin:g})",
    )
