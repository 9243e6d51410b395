"""Budget and deadline, projected over the remaining work at every degree.

Finishing the remaining R samples at degree n takes R/X(n) seconds and R·P(n)/X(n) joules,
plus one resize (downtime at n's power, no progress) when n is not the current degree. A degree
meets a constraint when that projection, inflated by ``constraint_safety``, fits in what is
left. The budget left is ``energy_budget_j − progress.energy_used_j`` (the caller counts energy
from when the budget was set); the time left is ``deadline_s − now_s``.

When no degree can meet a constraint the job is infeasible and the engine still acts: for a
deadline it runs the fastest degree (finish as early as possible), for a budget the
minimum-energy degree (overrun as little as possible). It does so by swapping the objective
(``fallback``: time, resp. energy) so that exploration and the pay-back test still apply.
Without ``total_samples`` neither can be projected, and the decision says so instead of
guessing.

A peak-power cap (``max_power_w``) needs no projection: a degree is allowed only when its
predicted power, at its upper band (mean + z·sd with z = the larger of ``constraint_z`` and
``unmeasured_z``: a cap is a hard limit, not a target), is under the cap, and the current degree
gets no hysteresis. Every other constraint is then met among those degrees only (the cap wins).
When no degree fits, the job runs the least-power degree (``InfeasiblePower``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.decision.config import PolicyConfig
from autoscaler.decision.models import Curve
from autoscaler.decision.types import JobSpec, Objective, ObjectiveKind, Progress, Reason


@dataclass(frozen=True)
class Usage:
    """A lone budget as a resource, for plans that split the remaining work between two
    degrees (:mod:`autoscaler.decision.mix`): what finishing all of it at each degree uses at
    the sure (upper) band, a resize to each degree, and what is left."""

    sure: np.ndarray  # per degree, without a resize
    resize: np.ndarray  # per degree: the downtime's seconds or joules
    left: float
    under_cap: np.ndarray  # bool per degree


@dataclass(frozen=True)
class ConstraintOutcome:
    """Which degrees the objective may choose from, and whether the job is feasible."""

    allowed: np.ndarray  # bool per grid degree
    feasible: bool
    reason: Reason | None  # INFEASIBLE_* when not feasible
    message: str
    binding: Reason | None = None  # RESIZE_DEADLINE / RESIZE_BUDGET when the current is excluded
    remaining_samples: float | None = None
    fallback: Objective | None = None  # what an infeasible job optimises instead
    plausible: np.ndarray | None = None  # bool per degree: the mean projection meets them
    # bool per degree: the deadline is met at the optimistic band (mean − z·sd of the time)
    # and the rest at the mean; exploration may try such a degree where the fit is least sure
    reachable: np.ndarray | None = None
    caveat: str = ""  # said with every decision (e.g. constraints that cannot be projected)
    usage: Usage | None = None  # a lone budget, for two-degree plans
    # Degrees allowed only as the first part of a two-degree plan: degree -> (the degree the
    # rest of the work runs at, the share of the work left run at the first)
    mixes: tuple[tuple[int, int, float], ...] = ()

    def mix_note(self, replicas: int) -> str:
        """How a two-degree plan starting at ``replicas`` splits the work (empty: none)."""
        for n, partner, share in self.mixes:
            if n == replicas:
                return (f"{n} for about {100 * share:.0f}% of the work left, then {partner}, "
                        "within the budget")
        return ""


@dataclass(frozen=True)
class _Check:
    """One constraint per degree: met at the mean, surely (upper band), maybe (lower band)."""

    meets: np.ndarray
    sure: np.ndarray
    maybe: np.ndarray

    @classmethod
    def absent(cls, size: int) -> _Check:
        yes = np.ones(size, dtype=bool)
        return cls(yes, yes, yes)

    @classmethod
    def of(cls, projected: np.ndarray, rel_sd: np.ndarray, limit: float, z: float,
           z_sure: np.ndarray | float | None = None) -> _Check:
        zs = z if z_sure is None else z_sure
        return cls(
            meets=projected <= limit,
            sure=projected * (1.0 + zs * rel_sd) <= limit,
            maybe=projected * (1.0 - z * rel_sd) <= limit,
        )


def remaining_samples(spec: JobSpec, progress: Progress) -> float | None:
    if spec.total_samples is None:
        return None
    return max(spec.total_samples - progress.samples_done, 0.0)


def _power_cap(spec: JobSpec, power: Curve, cfg: PolicyConfig) -> tuple[np.ndarray, str]:
    """Degrees under the power cap (all when there is none), and how to say it."""
    size = power.grid.size
    if spec.max_power_w is None:
        return np.ones(size, dtype=bool), ""
    p = np.maximum(power.mean, 0.0)
    z = max(cfg.constraint_z, cfg.unmeasured_z)
    cap = _Check.of(p, power.sd / np.maximum(p, 1e-12), spec.max_power_w, z)
    return cap.sure, f"power cap {spec.max_power_w:.4g} W"


def _power_infeasible(
    power: Curve, cap_text: str, left: float | None, current: int, caveat: str = ""
) -> ConstraintOutcome:
    """No degree surely fits under the cap: only the least-power degree is allowed, and the job
    moves there whatever the pay-back (a cap is not a saving to weigh)."""
    only = np.zeros(power.grid.size, dtype=bool)
    least = int(np.argmin(power.mean))
    only[least] = True
    binding = None if int(power.grid[least]) == current else Reason.RESIZE_POWER
    return ConstraintOutcome(
        only, False, Reason.INFEASIBLE_POWER,
        f"no degree fits under the {cap_text}: running the least-power degree "
        f"{int(power.grid[least])} ({float(power.mean[least]):.4g} W predicted)",
        binding=binding, remaining_samples=left, plausible=only, caveat=caveat,
    )


def evaluate_constraints(
    spec: JobSpec,
    progress: Progress,
    now_s: float,
    throughput: Curve,
    power: Curve,
    cfg: PolicyConfig,
    *,
    measured: np.ndarray | None = None,
) -> ConstraintOutcome:
    """Filter the grid by power cap, budget and deadline; pick the fallback degree when none
    qualifies. ``measured`` (bool per degree): a degree never measured is sure to meet budget
    and deadline only at ``unmeasured_z`` (an extrapolation, as the pay-back stage has it)."""
    grid = throughput.grid
    under_cap, cap_text = _power_cap(spec, power, cfg)
    wants = spec.deadline_s is not None or spec.energy_budget_j is not None
    left = remaining_samples(spec, progress)
    is_current = grid == progress.current_replicas
    if left is None:
        caveat = "no total_samples: budget/deadline cannot be projected" if wants else ""
        if not under_cap.any():
            return _power_infeasible(power, cap_text, None, progress.current_replicas, caveat)
        over = is_current.any() and not under_cap[is_current][0]
        binding = Reason.RESIZE_POWER if over else None
        summary = f"{int(under_cap.sum())} degree(s) under the {cap_text}" if cap_text else ""
        return ConstraintOutcome(under_cap, True, None, summary or "unconstrained",
                                 binding=binding, caveat=caveat, plausible=under_cap)
    if not under_cap.any():
        return _power_infeasible(power, cap_text, left, progress.current_replicas)
    x = np.maximum(throughput.mean, 1e-12)
    p = np.maximum(power.mean, 0.0)
    rel_x = throughput.sd / x
    rel_e = np.hypot(rel_x, power.sd / np.maximum(p, 1e-12))
    resize_s = np.where(is_current, 0.0, cfg.resize_downtime_s)
    time_s = (left / x + resize_s) * (1.0 + cfg.constraint_safety)
    energy_j = (left * p / x + resize_s * p) * (1.0 + cfg.constraint_safety)
    deadline = _Check.absent(grid.size)
    budget = _Check.absent(grid.size)
    parts: list[str] = [cap_text] if cap_text else []
    usage: Usage | None = None
    slack, z = 1.0 + cfg.constraint_safety, cfg.constraint_z
    z_sure: np.ndarray | float = z
    if measured is not None:
        z_sure = np.where(measured, z, max(z, cfg.unmeasured_z))
    if spec.deadline_s is not None:
        time_left_s = spec.deadline_s - now_s
        deadline = _Check.of(time_s, rel_x, time_left_s, z, z_sure)
        parts.append(f"{time_left_s:.0f} s to deadline")
    if spec.energy_budget_j is not None:
        budget_left_j = spec.energy_budget_j - progress.energy_used_j
        budget = _Check.of(energy_j, rel_e, budget_left_j, z, z_sure)
        parts.append(f"{budget_left_j:.4g} J budget left")
        if spec.deadline_s is None:  # a lone budget (see autoscaler.decision.mix)
            k = slack * (1.0 + z_sure * rel_e)  # the sure band, as budget.sure has it
            usage = Usage(left * p / x * k, cfg.resize_downtime_s * p * k,
                          budget_left_j, under_cap)
    # The power cap filters first: every test below is among the degrees under it.
    meets_deadline, meets_budget = deadline.meets & under_cap, budget.meets & under_cap
    meets = meets_deadline & meets_budget
    # Hysteresis from the uncertainty: move to a degree only when its upper band meets the
    # constraints; leave the current one only when its lower band breaks one.
    allowed = (deadline.sure & budget.sure) | (is_current & deadline.maybe & budget.maybe)
    allowed &= under_cap
    if not allowed.any():
        allowed = meets
    summary = ", ".join(parts) if parts else "no constraints"
    if allowed.any():
        binding = None
        if is_current.any() and not allowed[is_current][0]:
            broken_deadline = not deadline.maybe[is_current][0]
            binding = Reason.RESIZE_DEADLINE if broken_deadline else Reason.RESIZE_BUDGET
            if not under_cap[is_current][0]:
                binding = Reason.RESIZE_POWER
        return ConstraintOutcome(
            allowed, True, None, f"{int(allowed.sum())} degree(s) meet the constraints ({summary})",
            binding=binding, remaining_samples=left, plausible=meets,
            reachable=meets | (deadline.maybe & meets_budget), usage=usage,
        )
    fallback, reason, keep_deadline = infeasible_fallback(
        deadline_reachable=bool(meets_deadline.any()), budget_reachable=bool(meets_budget.any()))
    if not keep_deadline:
        what = ("no degree meets the deadline ({}): running the fastest"
                if reason is Reason.INFEASIBLE_DEADLINE
                else "no degree meets the budget ({}): running the min-energy degree")
        return ConstraintOutcome(under_cap, False, reason, what.format(summary),
                                 remaining_samples=left, fallback=fallback)
    return ConstraintOutcome(
        meets_deadline, False, reason,
        f"deadline and budget cannot both be met ({summary}): meeting the deadline at least "
        "energy",
        remaining_samples=left, fallback=fallback,
    )


def infeasible_fallback(*, deadline_reachable: bool,
                        budget_reachable: bool) -> tuple[Objective, Reason, bool]:
    """The product's rule when no degree (or plan) meets every constraint, used by the engine,
    the oracle and the sweep baseline alike: an unreachable deadline → run fastest (time);
    else an unreachable budget → least energy; else (each reachable alone, not both) the
    deadline is kept, at least energy. Returns (what to optimise instead, the reason, whether
    the deadline is still a constraint)."""
    if not deadline_reachable:
        return Objective(ObjectiveKind.TIME), Reason.INFEASIBLE_DEADLINE, False
    if not budget_reachable:
        return Objective(ObjectiveKind.ENERGY), Reason.INFEASIBLE_BUDGET, False
    return Objective(ObjectiveKind.ENERGY), Reason.INFEASIBLE_BUDGET, True
