"""The oracle: the best run anyone could have had, knowing the true curves and phases.

It knows the truth but not the noise, starts at its best degree at no cost, and changes degree
only where that pays (paying the resize downtime at the new degree's power). Its search space and
search are in :mod:`autoscaler.sim.plans`; this module picks the plan for the job's objective and
constraints and defines the objective value every run is scored by.

When no plan meets the constraints, the oracle does what the product is specified to do, and its
objective becomes the one that rule optimises (see :func:`solve`).
"""

from __future__ import annotations

from dataclasses import dataclass

from autoscaler.decision.types import Objective, ObjectiveKind
from autoscaler.sim.plans import Plan, pareto_plans
from autoscaler.sim.workload import Workload

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

    @property
    def replicas(self) -> int:
        return self.plan.degrees[0]

    def value(self, energy_j: float, time_s: float) -> float:
        return objective_value(self.objective, energy_j, time_s, self.max_power_w)


def objective_value(
    objective: Objective, energy_j: float, time_s: float, max_power_w: float
) -> float:
    """The number a run is scored by: J, s, or η·E + (1−η)·P_max·T (joules, as in Zeus)."""
    if objective.kind is ObjectiveKind.ENERGY:
        return energy_j
    if objective.kind is ObjectiveKind.TIME:
        return time_s
    return objective.eta * energy_j + (1.0 - objective.eta) * max_power_w * time_s


def _weight(objective: Objective, max_power_w: float) -> tuple[float, float]:
    """(a, b) with objective_value = a·energy_j + b·time_s."""
    return (
        objective_value(objective, 1.0, 0.0, max_power_w),
        objective_value(objective, 0.0, 1.0, max_power_w),
    )


def solve(
    workload: Workload,
    *,
    min_replicas: int,
    max_replicas: int,
    objective: Objective,
    deadline_s: float | None,
    energy_budget_j: float | None,
) -> OracleResult:
    """The best plan for the objective among those meeting the constraints.

    Infeasible cases follow the product's rules: an unreachable deadline -> the fastest plan;
    else an unreachable budget -> the least-energy plan; when each alone is reachable but not
    both, the deadline is kept and the least-energy plan meeting it is chosen.
    """
    constrained = deadline_s is not None or energy_budget_j is not None
    max_power_w = workload.max_power_w(min_replicas, max_replicas)
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
    )

    def meets_deadline(p: Plan) -> bool:
        return deadline_s is None or p.time_s <= deadline_s * (1 + _REL_TOL)

    def meets_budget(p: Plan) -> bool:
        return energy_budget_j is None or p.energy_j <= energy_budget_j * (1 + _REL_TOL)

    def best(pool: list[Plan], obj: Objective) -> Plan:
        return min(
            pool,
            key=lambda p: (
                objective_value(obj, p.energy_j, p.time_s, max_power_w),
                p.changes,
            ),
        )

    ok = [p for p in plans if meets_deadline(p) and meets_budget(p)]
    if ok:
        return OracleResult(best(ok, objective), True, objective, max_power_w)
    energy = Objective(ObjectiveKind.ENERGY)
    if not any(meets_deadline(p) for p in plans):
        time = Objective(ObjectiveKind.TIME)
        return OracleResult(best(plans, time), False, time, max_power_w)
    if not any(meets_budget(p) for p in plans):
        return OracleResult(best(plans, energy), False, energy, max_power_w)
    on_time = [p for p in plans if meets_deadline(p)]
    return OracleResult(best(on_time, energy), False, energy, max_power_w)
