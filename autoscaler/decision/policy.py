"""The replica decision as a numbered pipeline of small stages (after Kubernetes' HPA).

Each stage returns a :class:`Verdict` (replicas, reason, message) or passes:

1. bounds      — a current degree outside [min, max] is moved inside first.
2. validity    — no fittable window yet (HoldNoData), or the newest window stale, missing or
                 invalid, or too old (HoldStale).
3. warm-up     — inside the warm-up after a resize, or too few steady-state windows at the
                 current degree (HoldWarmup).
4. constraints — a power cap keeps only the degrees under it (none: the least-power degree,
                 InfeasiblePower); budget/deadline projected over the remaining work keep only
                 the degrees that meet them; when none can, the objective becomes the fallback
                 (time for a deadline, energy for a budget) and the decision says Infeasible*.
5. objective   — the allowed degree surely best for the objective per sample (largest saving
                 at its lower bound), else the best by the mean.
6. pay-back    — resize only when the saving over the remaining work, at its lower bound
                 (mean − z·sd; z = unmeasured_z to a degree outside the measured range, which
                 only an extrapolation speaks for, else resize_z), exceeds the resize cost
                 (downtime × objective rate at the new degree) × (1 + margin); a degree that
                 breaks a constraint is left anyway.
7. exploration — when holding, measure an unmeasured degree if that is worth its cost
                 (:mod:`autoscaler.decision.exploration`).

Stages 1–3 need no fit; 4–7 read fitted curves that the controller caches.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from autoscaler.decision.exploration import stage_exploration
from autoscaler.decision.situation import Evidence, Situation, Verdict
from autoscaler.decision.types import Reason


def stage_bounds(ev: Evidence) -> Verdict | None:
    lo, hi = ev.spec.min_replicas, ev.spec.max_replicas
    if lo <= ev.current <= hi:
        return None
    target = min(max(ev.current, lo), hi)
    return Verdict(target, Reason.RESIZE_BOUNDS, f"{ev.current} is outside [{lo}, {hi}]")


def stage_validity(ev: Evidence) -> Verdict | None:
    if ev.newest_problem is not None:
        return Verdict(ev.current, Reason.HOLD_STALE, ev.newest_problem)
    if ev.fitted_windows == 0:
        return Verdict(ev.current, Reason.HOLD_NO_DATA, "no steady-state window measured yet")
    return None


def stage_warmup(ev: Evidence) -> Verdict | None:
    if ev.warmup_message is None:
        return None
    return Verdict(ev.current, Reason.HOLD_WARMUP, ev.warmup_message)


def _pct(better: float, worse: float) -> float:
    return 100.0 * (worse - better) / worse if worse > 0 else 0.0


def finish(s: Situation, verdict: Verdict) -> Verdict:
    """Stage 4's say on the final verdict: the price planned with (cost, carbon), caveats, and
    an infeasible job's reason.

    On an infeasible job the objective was already swapped for the fallback, so the chosen
    degree is the fastest (deadline) or the min-energy one (budget); the verdict keeps
    Explore when exploring, else takes the Infeasible* reason, and is marked not feasible.
    """
    c = s.constraints
    note = "; ".join(x for x in (c.mix_note(verdict.replicas),
                                 s.objective.price_note(verdict.replicas)) if x)
    if note:
        verdict = Verdict(
            verdict.replicas, verdict.reason, f"{verdict.message}; {note}", verdict.feasible,
            verdict.saving_pct,
        )
    if c.caveat:
        verdict = Verdict(
            verdict.replicas, verdict.reason, f"{verdict.message}; {c.caveat}", verdict.feasible,
            verdict.saving_pct,
        )
    if c.feasible or c.reason is None:
        return verdict
    reason = verdict.reason if verdict.reason is Reason.EXPLORE else c.reason
    return Verdict(
        verdict.replicas, reason, f"{c.message}; {verdict.message}", False, verdict.saving_pct
    )


def choose(s: Situation) -> int:
    """Stage 5: among allowed degrees the fit can speak for, the one with the largest *sure*
    saving per sample over the current degree (mean − resize_z·sd of the difference); when
    none is surely better, the best by the mean (the pay-back stage then says why it holds).

    Ranking by the sure saving prefers a well-measured good degree over a far, barely
    extrapolated one that is better only on paper; the far one is exploration's business.
    """
    cfg, o, cur = s.evidence.cfg, s.objective, s.evidence.current
    trusted = s.measured | s.identified
    candidates = s.constraints.allowed & trusted
    if not candidates.any():
        candidates = s.constraints.allowed
    i_cur = o.index(cur)
    f_cur, sd_cur = float(o.per_sample[i_cur]), float(o.per_sample_sd[i_cur])
    z = np.where(s.extrapolated, cfg.unmeasured_z, cfg.resize_z)
    sure = f_cur - o.per_sample - z * np.hypot(sd_cur, o.per_sample_sd)
    sure = np.where(candidates & (o.grid != cur), sure, -np.inf)
    best_sure = int(np.argmax(sure))
    if sure[best_sure] > 0:
        return int(o.grid[best_sure])
    score = np.where(candidates, o.per_sample, np.inf)
    best = int(np.argmin(score))
    if candidates[i_cur] and score[i_cur] <= score[best] * (1.0 + 1e-9):
        return cur  # ties stay put
    return int(o.grid[best])


def stage_payback(s: Situation, target: int) -> Verdict:
    """Resize to ``target`` only when the remaining work surely repays the resize."""
    cfg, o, cur = s.evidence.cfg, s.objective, s.evidence.current
    i_cur, i_tgt = o.index(cur), o.index(target)
    f_cur, f_tgt = float(o.per_sample[i_cur]), float(o.per_sample[i_tgt])
    assumed = f" (remaining work assumed: {cfg.default_horizon_s:g} s)"
    horizon = "" if s.remaining_known else assumed
    if target == cur:
        message = f"{cur} is the best known degree; {s.constraints.message}{horizon}"
        return Verdict(cur, Reason.HOLD_OPTIMAL, message)
    saving_pct = _pct(f_tgt, f_cur)
    if s.constraints.binding is not None:
        message = f"{cur} would break a constraint; {s.constraints.message}"
        return Verdict(target, s.constraints.binding, message, saving_pct=saving_pct)
    left = s.remaining_samples
    saving = left * (f_cur - f_tgt)
    # A measurement beats an extrapolation: leaving for a degree outside the measured range on
    # the model's word needs the gap beyond doubt (unmeasured_z); within it, resize_z.
    z = cfg.unmeasured_z if s.extrapolated[i_tgt] else cfg.resize_z
    sure = saving - z * left * math.hypot(
        float(o.per_sample_sd[i_cur]), float(o.per_sample_sd[i_tgt])
    )
    cost = cfg.resize_downtime_s * float(o.rate_per_s[i_tgt])
    unit = o.unit
    if sure > cost * (1.0 + cfg.margin):
        return Verdict(
            target, Reason.RESIZE_BETTER,
            f"{target} saves {saving_pct:.1f}% per sample: {saving:.4g} {unit} (at least "
            f"{sure:.4g}) over the remaining work vs a resize cost of {cost:.4g} {unit}{horizon}",
            saving_pct=saving_pct,
        )
    # Near the end: not even a large saving (near_end_saving per sample) could repay a resize.
    near_end = left * f_cur * cfg.near_end_saving <= cost * (1.0 + cfg.margin)
    return Verdict(
        cur, Reason.HOLD_NEAR_END if near_end else Reason.HOLD_NOT_WORTH_IT,
        f"{target} would save {saving:.4g} {unit} (at least {sure:.4g}) over the remaining work, "
        f"not clearly more than the resize cost {cost:.4g} {unit} x (1 + {cfg.margin:g}){horizon}",
        saving_pct=saving_pct,
    )


PRE_FIT_STAGES: tuple[Callable[[Evidence], Verdict | None], ...] = (
    stage_bounds, stage_validity, stage_warmup,
)


def run_pre_fit(ev: Evidence) -> Verdict | None:
    """Stages 1–3."""
    for stage in PRE_FIT_STAGES:
        verdict = stage(ev)
        if verdict is not None:
            return verdict
    return None


def run_post_fit(s: Situation) -> Verdict:
    """Stages 4–7."""
    target = choose(s)
    verdict = stage_payback(s, target)
    if verdict.reason in (Reason.HOLD_OPTIMAL, Reason.HOLD_NOT_WORTH_IT):
        explored = stage_exploration(s, target)
        if explored is not None:
            verdict = explored
    return finish(s, verdict)
