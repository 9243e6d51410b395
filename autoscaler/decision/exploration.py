"""Stage 7 of the policy: is measuring another degree worth its cost, and which one first?

The value of a trial is the remaining work times the *expected improvement* of the degree's
objective per sample over the current one, under the fitted mean and band (a degree predicted
worse but uncertain can still be worth a look; one predicted worse and well known cannot). Its
cost is a resize there and back plus the expected loss while it is measured (warm-up and the
minimum windows). A trial is worth it only when value > cost × (1 + explore_margin): expected
improvement assumes the trial reveals the truth, while a few noisy windows reveal only part of
it. Candidates are degrees not measured since the last drift (a degree measured before it is
re-measured, not trusted blindly) within a factor ``explore_ratio`` of the current one
(scaling is multiplicative) or filling whole nodes, that could meet the constraints.

Among the trials worth it, the one measured first is the one with the lowest *reservation
value* (Weitzman's Pandora rule, 1979: with independent boxes, each with an opening cost and an
uncertain prize, open the box whose reservation value r — the level at which the expected
improvement below r just pays the cost, R·E[max(0, r − F)] = cost — is lowest, while it beats
the best in hand). The go/no-go test above is exactly "r below the current value", so the rule
changes only the order: a wide band that might be much better comes before a narrow one that
is a little better on average, and the margin, which hedges the worth of a few windows, no
longer reorders the candidates in favour of cheap near ones (ranking by the largest
gain − cost·(1 + margin) did). Measured on the realistic suite (3 seeds): worst regret 13.7 % →
12.3 %, four runs better, none worse; the synthetic suite unchanged but for two runs better.

Inside the first node the band is clipped by physics (:func:`one_node_floor`): no network, so
m workers deliver at most m/a times what a measured a < m did (+10 %). A wide band there can
no longer promise what linear scaling from below could not deliver (realistic suite: median
3.5 → 2.9 %, one scenario changed on all seeds, nothing else in either suite).

Under a price plan (a schedule with a change ahead) *whether* a trial is worth it is the plan's
question, but *which* comes first is ordered by the degrees' curves at one price, the prices
holding now (:func:`ranking_curve`). The plan's objective per sample folds in the hours a
degree's *predicted* speed pushes work into; a trial exists to replace that prediction, and the
plan treats the price after the change as fixed whatever the trial shows, though the degree
measured could be the one run then. Ordered by the plan, a degree the prior thinks slow (too
slow to finish before dirty or dear hours) is pushed behind faster ones, and the fit that
follows their measurement can close the question without ever measuring it: bert on a daily
carbon curve, clean now and dirty in 6 h, tried 8, the fit through 8 and 16 put 4 at half its
speed with a narrow band, and the job ran at 16 for 80 % more carbon than one at 4 (the
energy objective tries 4 first). The curve at the prices now is rescaled to the plan's level at
the current degree, so that it is in the units of the trial's cost (a transient price now
neither inflates nor shrinks the prize against the cost).

Where a trial may go. A trial commits to nothing, so a degree whose *mean* projection meets
budget and deadline may be tried, and two more: a whole-node degree whose optimistic band
(mean − z·sd of the time) reaches the deadline, since at a node boundary the fit is least sure
(deepspeech2 under a deadline: 12 workers on three whole nodes are fast enough, the fit through
13..15 on four nodes put 12 just short, it was never tried and the job ran 13 for +18 % cost;
now +2.5 %); and under a power cap the narrowest and widest degree under it, at any distance,
since a cap cuts the curve where a time objective often peaks (cifar10, 1300 W cap: from 4 a
trial reached 3, 5 and the whole-node 8, never 10, the fastest under the cap: +10.1 % → +3.3 %).
A budget stays judged at its mean, even for a trial: the trial spends what it tests, and the
optimistic band opened 16 to a time job on a tight budget whose trial then cost the rest of
the run its margin (synthetic `budget-binding` 7.4 → 11.0 %). The cap's edges only, not a
budget's or a deadline's: those move with the progress, and opened the budget's edge to
`cifar10-pw129-time-budget` for no gain (9.2 → 10.9 %).
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


def reservation_value(mean: np.ndarray, sd: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Weitzman's reservation value of each degree: the objective level r with
    E[max(0, r − F)] = price for F ~ N(mean, sd), price = trial cost per remaining sample.

    E[max(0, r − F)] = sd·ψ(u) with u = (r − mean)/sd and ψ(u) = u·Φ(u) + φ(u), increasing
    (ψ' = Φ). Newton's method on log ψ, which is concave: from the right of the root the first
    step lands at or left of it, and from there every step climbs onto it without passing it.
    Eight steps solve it to 1e-12 (in u) for prices from 1e-12 to 30 band-widths (tested
    against a bracketing solver); it runs only when some trial is worth it.
    """
    log_target = np.log(np.maximum(np.asarray(price / sd, dtype=float), 1e-300))
    u = np.maximum(np.exp(log_target), 0.5)
    for _ in range(_NEWTON_STEPS):
        psi = u * ndtr(u) + np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
        step = (np.log(np.maximum(psi, 1e-300)) - log_target) * psi / np.maximum(ndtr(u), 1e-300)
        u = np.maximum(u - step, -38.0)
    return np.asarray(mean + sd * u)


_NEWTON_STEPS = 8


ONE_NODE_SLACK = 0.1  # within one node, n workers deliver at most n/a × what a did, +10 %


def one_node_floor(s: Situation, per_sample: np.ndarray | None = None) -> np.ndarray:
    """The lowest objective per sample each degree could have: −inf (no bound) except on the
    first node, where nothing crosses the network and workers sharing a host do not each get
    faster as more join, so X(m) ≤ (m/a)·X(a)·(1 + ``ONE_NODE_SLACK``) for every measured
    a < m (Pollux's traces: at most 5 % above that inside a node; up to 67 % across nodes,
    where sync can drop from 2 to 3 nodes, so no bound there). The floor is the objective at
    that cap, per_sample(m)·X(m)/cap(m) (``per_sample``: default the objective's). The
    placement is read from the whole-node degrees; with fewer than two of them in range it is
    ambiguous and nothing is bounded.
    """
    o, x = s.objective, s.throughput_sps
    ends = o.grid[s.boundary]
    out = np.full(o.grid.size, -np.inf)
    if ends.size < 2:
        return out
    per_node = int(np.gcd.reduce(ends.astype(np.int64)))
    first = o.grid <= per_node
    rate = np.where(s.measured & first, x / o.grid, 0.0)
    best = np.maximum.accumulate(rate)  # the best per-worker rate measured at or below m
    prior = np.concatenate(([0.0], best[:-1]))  # ... strictly below m
    capped = first & (prior > 0)
    cap = o.grid * prior * (1.0 + ONE_NODE_SLACK)
    f = o.per_sample if per_sample is None else per_sample
    out[capped] = (f * x / np.maximum(cap, 1e-300))[capped]
    return out


def ranking_curve(s: Situation) -> tuple[np.ndarray, np.ndarray]:
    """The objective per sample (mean, sd) trials are ordered by: the objective's own, or under
    a price plan its curve at the prices now, scaled to the plan's value at the current degree
    (see the module doc)."""
    o = s.objective
    if o.at_prices_now is None:
        return o.per_sample, o.per_sample_sd
    mean, sd = o.at_prices_now
    i_cur = o.index(s.evidence.current)
    level = float(o.per_sample[i_cur]) / max(float(mean[i_cur]), 1e-300)
    return mean * level, sd * level


def _floored_band(s: Situation, mean: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The band (kept > 0) and, per degree, the clip EI(floor) of the one-node floor (0 where
    unbounded) for the curve ``mean``."""
    sd = np.maximum(sd, 1e-12 * np.abs(mean) + 1e-300)
    floor = one_node_floor(s, mean)
    bounded = np.isfinite(floor)
    clip = np.where(bounded, expected_excess(np.where(bounded, floor - mean, 0.0) / sd, sd), 0.0)
    return sd, clip


def _cap_edges(s: Situation, may: np.ndarray) -> np.ndarray:
    """Under a power cap, the narrowest and the widest degree open to a trial: neighbours at
    any distance, as node boundaries are (see the module doc)."""
    edges = np.zeros_like(may)
    if s.evidence.spec.max_power_w is not None and may.any() and not may.all():
        idx = np.flatnonzero(may)
        edges[idx[0]] = edges[idx[-1]] = True
    return edges


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
    # A short trial commits to nothing: any degree whose mean meets the constraints may be
    # tried, and a whole-node degree whose band reaches the deadline (see the module doc).
    c = s.constraints
    may = c.allowed if c.plausible is None else c.plausible
    if c.reachable is not None:
        may = may | (s.boundary & c.reachable)
    open_ = ~s.fresh & may
    if cfg.explore_ratio > 0:
        # Scaling is multiplicative: a "neighbour" of 4 is 2..8, of 12 is 6..24. Degrees that
        # fill whole nodes are neighbours at any distance: a curve changes shape at node
        # boundaries, so one node (or k whole nodes) may be best however far it is.
        near = (o.grid * cfg.explore_ratio >= cur) & (o.grid <= cur * cfg.explore_ratio)
        open_ &= near | s.boundary | _cap_edges(s, may)
    if cfg.explore_nearest:
        open_ &= _nearest_each_side(o.grid, open_, cur)
    if not open_.any():
        return None
    i_cur = o.index(cur)
    f_cur = float(o.per_sample[i_cur])
    dwell_s = cfg.dwell_s(s.interval_s)
    # Within one node the objective cannot beat its value at the throughput cap: a trial's
    # improvement is that of F clipped there, E[max(0, f − max(F, floor))] = EI(f) − EI(floor).
    sd, clip = _floored_band(s, o.per_sample, o.per_sample_sd)
    gain = s.remaining_samples * np.maximum(
        expected_excess((f_cur - o.per_sample) / sd, sd) - clip, 0.0)
    loss_per_sample = expected_excess((o.per_sample - f_cur) / sd, sd)
    cost = cfg.resize_downtime_s * (o.rate_per_s + o.rate_per_s[i_cur])
    cost = cost + dwell_s * s.throughput_sps * loss_per_sample
    worth = open_ & (gain > cost * (1.0 + cfg.explore_margin))
    if not worth.any():
        return None
    # Which one first: the lowest reservation value (Pandora's rule), not the largest net gain.
    # Under a price plan, by the degrees' curves at the prices now (see the module doc).
    at = np.flatnonzero(worth)
    rank_mean, rank_sd = ranking_curve(s)
    rank_sd, rank_clip = _floored_band(s, rank_mean, rank_sd)
    index = reservation_value(rank_mean[at], rank_sd[at],
                              cost[at] * (1.0 + cfg.explore_margin) / s.remaining_samples
                              + rank_clip[at])
    best = int(at[np.argmin(index)])
    m = int(o.grid[best])
    return Verdict(
        m, Reason.EXPLORE,
        f"measuring {m}: expected gain {gain[best]:.4g} {o.unit} over the remaining work "
        f"exceeds the trial's cost {cost[best]:.4g} {o.unit} x (1 + {cfg.explore_margin:g})",
    )
