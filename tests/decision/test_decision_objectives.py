"""Each objective and constraint picks the right degree on known curves (answers computed from
the same truth that generated the windows, never hard-coded)."""

from __future__ import annotations

import pytest
from decision_helpers import TrueCurves

from autoscaler.decision import Controller, JobSpec, Objective, Progress, Reason

DEGREES = range(1, 13)
# Static power makes the energy optimum interior; kappa makes throughput peak inside the range.
CURVES = TrueCurves(lam=300, sigma=0.03, kappa=0.006, static_w=900, per_worker_w=300)


def _measured_everywhere(spec: JobSpec) -> tuple[Controller, float]:
    """A controller that has measured every degree (noise-free), currently at the last one."""
    ctl = Controller(spec)
    order = [n for n in DEGREES if n != 1] + [1]
    t_s = CURVES.feed(ctl, order, per_degree=3)
    return ctl, t_s


@pytest.mark.parametrize("objective", ["energy", "time", "balanced:0.5", "balanced:0.2"])
def test_each_objective_picks_its_best_degree_on_known_curves(objective: str) -> None:
    obj = Objective.parse(objective)
    expected = CURVES.best(obj, DEGREES)
    ctl, t_s = _measured_everywhere(JobSpec(1, 12, obj, total_samples=1e9))
    decision = ctl.decide(t_s, Progress(1, 0.0))
    assert expected != 1  # the test must be able to fail
    assert decision.replicas == expected
    assert decision.reason is Reason.RESIZE_BETTER
    assert decision.saving_pct is not None and decision.saving_pct > 0


def _time_to_finish_s(n: int, samples: float) -> float:
    return samples / CURVES.throughput_sps(n)


def _energy_to_finish_j(n: int, samples: float) -> float:
    return samples * CURVES.power_w(n) / CURVES.throughput_sps(n)


def _between(low: float, high: float) -> float:
    """A limit halfway between two projections, asserting they are far enough apart that the
    engine's safety margin cannot blur which side a degree falls on."""
    assert high / low > 1.05
    return (low + high) / 2


def test_deadline_restricts_the_energy_choice_to_degrees_fast_enough() -> None:
    total = 2e7
    energy_best = CURVES.best(Objective.parse("energy"), DEGREES)
    faster = sorted((n for n in DEGREES if n > energy_best), key=CURVES.throughput_sps)
    expected = faster[1]  # the deadline rules out the optimum and the next faster degree
    deadline_s = _between(_time_to_finish_s(expected, total), _time_to_finish_s(faster[0], total))
    ctl, t_s = _measured_everywhere(JobSpec(1, 12, total_samples=total))
    # the deadline arrives later, on the caller's clock (annotations changed)
    ctl.update_spec(JobSpec(1, 12, deadline_s=t_s + deadline_s, total_samples=total))
    decision = ctl.decide(t_s, Progress(1, 0.0))
    assert decision.replicas == expected
    assert decision.feasible


def _best_split(budget_j: float, total: float) -> tuple[int, int, float]:
    """The fastest plan within the budget that splits the work between two degrees (the linear
    programme's optimum uses at most two): (first degree, then, share at the first)."""
    e = {n: CURVES.power_w(n) / CURVES.throughput_sps(n) for n in DEGREES}  # J per sample
    t = {n: 1.0 / CURVES.throughput_sps(n) for n in DEGREES}  # s per sample
    per_sample = budget_j / total
    plans = []
    for n in DEGREES:
        for p in DEGREES:
            if e[n] > per_sample >= e[p]:
                f = (per_sample - e[p]) / (e[n] - e[p])
                plans.append((f * t[n] + (1 - f) * t[p], n, p, f))
    _, n, p, f = min(plans)
    return n, p, f


def test_budget_restricts_the_time_choice_to_affordable_degrees() -> None:
    """No single degree faster than the fastest affordable one fits the budget, but part of
    the work can run faster: the engine starts the fastest two-degree plan (decision/mix.py),
    and the degree it ends on is affordable alone."""
    total = 2e7
    by_speed = sorted(DEGREES, key=CURVES.throughput_sps, reverse=True)
    # the budget rules out the two fastest degrees and nothing slower
    alone = by_speed[2]
    dearer = min(_energy_to_finish_j(n, total) for n in by_speed[:2])
    budget_j = _between(_energy_to_finish_j(alone, total), dearer)
    affordable = [n for n in DEGREES if _energy_to_finish_j(n, total) < budget_j]
    assert max(affordable, key=CURVES.throughput_sps) == alone
    first, then, share = _best_split(budget_j, total)
    assert first != alone and then in affordable and 0.05 < share < 0.95  # able to fail
    spec = JobSpec(1, 12, Objective.parse("time"), energy_budget_j=budget_j, total_samples=total)
    ctl, t_s = _measured_everywhere(spec)
    decision = ctl.decide(t_s, Progress(1, 0.0))
    assert decision.replicas == first
    assert f"then {then}, within the budget" in decision.message
    assert decision.feasible


@pytest.mark.parametrize(
    ("constraint", "reason", "fallback"),
    [
        ("deadline", Reason.INFEASIBLE_DEADLINE, "time"),
        ("budget", Reason.INFEASIBLE_BUDGET, "energy"),
    ],
)
def test_unreachable_constraint_runs_the_fallback_degree_and_reports_infeasible(
    constraint: str, reason: Reason, fallback: str
) -> None:
    total = 2e7
    fastest_s = min(_time_to_finish_s(n, total) for n in DEGREES)
    least_j = min(_energy_to_finish_j(n, total) for n in DEGREES)
    ctl, t_s = _measured_everywhere(JobSpec(1, 12, total_samples=total))
    spec = JobSpec(
        1, 12, Objective.parse("balanced:0.5"), total_samples=total,
        deadline_s=t_s + fastest_s * 0.8 if constraint == "deadline" else None,
        energy_budget_j=least_j * 0.8 if constraint == "budget" else None,
    )
    ctl.update_spec(spec)
    decision = ctl.decide(t_s, Progress(1, 0.0))
    assert decision.replicas == CURVES.best(Objective.parse(fallback), DEGREES)
    assert decision.reason is reason
    assert not decision.feasible
    assert constraint in decision.message


def test_without_total_samples_constraints_are_not_projected_and_the_message_says_so() -> None:
    spec = JobSpec(1, 12, deadline_s=10.0, energy_budget_j=1.0)  # both absurdly tight
    ctl, t_s = _measured_everywhere(spec)
    decision = ctl.decide(t_s, Progress(1, 0.0))
    assert decision.feasible
    assert decision.replicas == CURVES.best(Objective.parse("energy"), DEGREES)
    assert "cannot be projected" in decision.message
    assert "assumed" in decision.message  # the pay-back horizon is an assumption, said so
