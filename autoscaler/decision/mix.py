"""Two-degree plans under a lone energy budget: part of the work at a degree that could not
finish all of it within the budget, the rest at one that surely can.

A degree that would overrun the budget if it ran *all* the work left may still run *part* of
it. With U(n) the sure energy of finishing the work left at n (upper band, from
:mod:`autoscaler.decision.constraints`; a degree never measured at ``unmeasured_z``) and p a
degree that surely finishes alone (the current one included), the plan "a share f at n, then
p" uses

    f·U(n) + (1 − f)·U(p) + a resize to n (unless n is the current degree) + a resize to p

which is linear in f, so the largest share that fits is solved for exactly. Its objective per
sample is f·F(n) + (1 − f)·F(p) plus the resize to p spread over the work left (the resize to n
is the pay-back stage's). This is the linear programme's answer: under one resource constraint
the best split of the work over degrees uses at most two. The oracle plans the same way; on
`cifar10-pw129-time-budget` (time objective) it runs 16, the fastest, until the budget left
allows only 4, the most frugal, while the single-degree rule waited at 4 for the whole job,
since 16 alone never surely fits (9.2–10.9 % → 1.4–1.5 % on three seeds).

The share shrinks as the job runs at n, which spends the budget faster than p; once less than
two decisions' worth of work is left to n, n is no longer allowed and the constraint stage
moves the job to p (``ResizeBudget``), p having been sure all along. A plan must leave time to
measure n (warm-up, downtime and the minimum windows) before it switches back.

Not for deadlines: there the single-degree rule already runs the two-degree plan in its safe
order (the fast degree while the frugal one cannot finish alone, then the frugal one once it
alone surely can); the mix's order, frugal first and the fast degree last, measured worse
(`deepspeech2-pw40-energy-deadline` 1.1–2.5 % → 8.6–8.7 %, cost suite 2.2 % / 6.0 % → 2.6 % /
8.6 %) and leaves the switch to the last moment on a model's word.

Pure: arrays in, arrays out.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from autoscaler.decision.constraints import ConstraintOutcome
from autoscaler.decision.objectives import ObjectiveCurve


def plan_mixes(
    objective: ObjectiveCurve,
    c: ConstraintOutcome,
    *,
    current: int,
    throughput_sps: np.ndarray,
    remaining_samples: float,
    min_stint_s: float,
    interval_s: float,
    resize_downtime_s: float,
) -> tuple[ObjectiveCurve, ConstraintOutcome]:
    """Allow the degrees a two-degree plan can start at, each valued at its best plan."""
    u = c.usage
    if u is None or not c.feasible or c.fallback is not None or remaining_samples <= 0:
        return objective, c
    grid = objective.grid
    is_cur = grid == current
    # A partner surely finishes the rest by itself, a resize to it included (the current
    # degree too: the plan leaves it and comes back).
    partners = np.flatnonzero(c.allowed & (u.sure + u.resize <= u.left))
    starts = np.flatnonzero(u.under_cap & ~c.allowed)
    if partners.size == 0 or starts.size == 0:
        return objective, c
    f_obj, sd = objective.per_sample, objective.per_sample_sd
    # Rows: first degrees n; columns: partners p.
    un, up = u.sure[starts, None], u.sure[None, partners]
    extra = np.where(is_cur[starts], 0.0, u.resize[starts])[:, None] + u.resize[None, partners]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(un > up, (u.left - up - extra) / (un - up), 0.0)
    share = np.minimum(share, 1.0)
    stint_s = share * remaining_samples / np.maximum(throughput_sps[starts, None], 1e-12)
    # A new plan must leave time to measure its first degree; the current one, two decisions
    # more (the switch must not come a window too late).
    need_s = np.where(is_cur[starts], 2.0 * interval_s, min_stint_s)[:, None]
    ok = (share > 0) & (stint_s >= need_s)
    back = resize_downtime_s * objective.rate_per_s[partners] / remaining_samples
    value = share * f_obj[starts, None] + (1.0 - share) * (f_obj[partners] + back)[None, :]
    value = np.where(ok, value, np.inf)
    best = np.argmin(value, axis=1)
    rows = np.flatnonzero(np.isfinite(value[np.arange(starts.size), best]))
    if rows.size == 0:
        return objective, c
    per_sample, per_sample_sd = f_obj.copy(), sd.copy()
    allowed = c.allowed.copy()
    mixes: list[tuple[int, int, float]] = []
    for r in rows:
        i, j = int(starts[r]), int(partners[best[r]])
        f = float(share[r, best[r]])
        per_sample[i] = float(value[r, best[r]])
        per_sample_sd[i] = float(np.hypot(f * sd[i], (1.0 - f) * sd[j]))
        allowed[i] = True
        mixes.append((int(grid[i]), int(grid[j]), f))
    binding = c.binding
    if binding is not None and allowed[is_cur].any():
        binding = None  # the current degree can still run part of the work
    return (
        dataclasses.replace(objective, per_sample=per_sample, per_sample_sd=per_sample_sd),
        dataclasses.replace(c, allowed=allowed, binding=binding, mixes=tuple(mixes)),
    )
