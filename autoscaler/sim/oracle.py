"""The oracle: the best run anyone could have had, knowing the true curves and phases.

It knows the truth but not the noise, starts at its best degree at no cost, and changes degree
only where that pays (paying the resize downtime at the new degree's power). Its search space and
search are in :mod:`autoscaler.sim.plans`; this module picks the plan for the job's objective and
constraints and defines the objective value every run is scored by.

When no plan meets the constraints, the oracle does what the product is specified to do, and its
objective becomes the one that rule optimises (see :func:`solve`).

With prices it knows the schedule: every plan is priced with the true time-varying price
(:mod:`autoscaler.sim.pricing`), and for ``cost`` / ``carbon`` it also tries plans that change
degree at the schedule's change points. With a power cap it runs only degrees whose true power is
under the cap (in a phase where none is, the least-power degree, and the job is infeasible).
"""

from __future__ import annotations

from dataclasses import dataclass

from autoscaler.decision.constraints import infeasible_fallback
from autoscaler.decision.objectives import objective_value
from autoscaler.decision.prices import Prices
from autoscaler.decision.types import Objective, ObjectiveKind
from autoscaler.sim.plans import Plan, pareto_plans
from autoscaler.sim.pricing import Allowed, price_plan, priced_candidates
from autoscaler.sim.workload import Segment, Workload

MIX_STEPS = 20  # grid of work fractions when a phase is split between two degrees

__all__ = ["OracleResult", "Plan", "objective_value", "solve"]

_REL_TOL = 1e-9


@dataclass(frozen=True)
class OracleResult:
    """The oracle's plan, whether the constraints could be met, and the objective it minimised.

    ``objective`` is the job's objective when ``feasible``; otherwise ``time`` if the deadline
    cannot be met (the rule: run the fastest degree), else ``energy`` (the rule for an
    unreachable budget: run the min-energy degree). Regret is measured in this objective.
    """

    plan: Plan
    feasible: bool
    objective: Objective
    max_power_w: float  # P_max of the balanced objective
    cost: float | None = None  # the plan's money and gCO2 at the true prices (None: no prices)
    carbon_g: float | None = None

    @property
    def replicas(self) -> int:
        return self.plan.degrees[0]

    def value(
        self, energy_j: float, time_s: float, cost: float | None = None,
        carbon_g: float | None = None,
    ) -> float:
        return objective_value(self.objective, energy_j, time_s, self.max_power_w, cost, carbon_g)


def _weight(objective: Objective, max_power_w: float) -> tuple[float, float]:
    """(a, b) with objective_value = a·energy_j + b·time_s (cost and carbon: energy's, the
    closest such score; their own candidates are added apart)."""
    if objective.kind in (ObjectiveKind.COST, ObjectiveKind.CARBON):
        return (1.0, 0.0)
    return (
        objective_value(objective, 1.0, 0.0, max_power_w),
        objective_value(objective, 0.0, 1.0, max_power_w),
    )


def cap_filter(workload: Workload, lo: int, hi: int, cap_w: float | None) -> Allowed:
    """Degrees a phase may run at under a power cap: those whose true power is at most the cap,
    else (none fits) the least-power degree."""

    def allowed(seg: Segment) -> list[int]:
        degrees = list(range(lo, hi + 1))
        if cap_w is None:
            return degrees
        fits = [d for d in degrees if seg.power(d) <= cap_w * (1 + _REL_TOL)]
        return fits or [min(degrees, key=seg.power)]

    return allowed


def solve(
    workload: Workload,
    *,
    min_replicas: int,
    max_replicas: int,
    objective: Objective,
    deadline_s: float | None,
    energy_budget_j: float | None,
    prices: Prices | None = None,
    power_cap_w: float | None = None,
) -> OracleResult:
    """The best plan for the objective among those meeting the constraints.

    Infeasible cases follow the product's rules: a cap no degree fits under -> the least-power
    degree (in that phase); an unreachable deadline -> the fastest plan; else an unreachable
    budget -> the least-energy plan; when each alone is reachable but not both, the deadline is
    kept and the least-energy plan meeting it is chosen.
    """
    lo, hi = min_replicas, max_replicas
    constrained = deadline_s is not None or energy_budget_j is not None
    max_power_w = workload.max_power_w(min_replicas, max_replicas)
    allowed = cap_filter(workload, lo, hi, power_cap_w)
    cap_met = power_cap_w is None or all(
        workload_fits(seg, allowed(seg), power_cap_w) for seg in workload.segments
    )
    # Scores whose optimum a thinned frontier must keep: the objective, time and energy.
    weights = tuple(
        _weight(obj, max_power_w)
        for obj in (objective, Objective(ObjectiveKind.TIME), Objective(ObjectiveKind.ENERGY))
    )
    plans = pareto_plans(
        workload,
        min_replicas,
        max_replicas,
        mix_steps=MIX_STEPS if constrained else 0,
        weights=weights,
        allowed=None if power_cap_w is None else allowed,
    )
    priced = objective.kind in (ObjectiveKind.COST, ObjectiveKind.CARBON)
    money: dict[int, tuple[float | None, float | None]] = {}
    if priced:
        assert prices is not None  # the scenario's checks guarantee it
        plans += priced_candidates(workload, lo, hi, objective.kind, prices, allowed)
        money = {id(p): price_plan(p, workload, prices) for p in plans}

    def meets_deadline(p: Plan) -> bool:
        return deadline_s is None or p.time_s <= deadline_s * (1 + _REL_TOL)

    def meets_budget(p: Plan) -> bool:
        return energy_budget_j is None or p.energy_j <= energy_budget_j * (1 + _REL_TOL)

    def best(pool: list[Plan], obj: Objective) -> Plan:
        return min(
            pool,
            key=lambda p: (
                objective_value(obj, p.energy_j, p.time_s, max_power_w, *money.get(id(p),
                                                                                   (None, None))),
                p.changes,
            ),
        )

    def result(plan: Plan, feasible: bool, obj: Objective) -> OracleResult:
        cost, carbon = money.get(id(plan)) or price_plan(plan, workload, prices)
        return OracleResult(plan, feasible and cap_met, obj, max_power_w, cost, carbon)

    ok = [p for p in plans if meets_deadline(p) and meets_budget(p)]
    if ok:
        return result(best(ok, objective), True, objective)
    fallback, _, keep_deadline = infeasible_fallback(
        deadline_reachable=any(meets_deadline(p) for p in plans),
        budget_reachable=any(meets_budget(p) for p in plans))
    pool = [p for p in plans if meets_deadline(p)] if keep_deadline else plans
    return result(best(pool, fallback), False, fallback)


def workload_fits(seg: Segment, degrees: list[int], cap_w: float) -> bool:
    """Whether the phase's allowed degrees are truly under the cap (not the fallback)."""
    return all(seg.power(d) <= cap_w * (1 + _REL_TOL) for d in degrees)
