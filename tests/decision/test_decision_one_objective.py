"""One definition of the objective's value and of the infeasible fallback, shared by the
engine, the oracle and the sweep baseline (tables)."""

from __future__ import annotations

import numpy as np
import pytest

from autoscaler.decision import Objective, Reason
from autoscaler.decision.constraints import infeasible_fallback
from autoscaler.decision.models import Curve
from autoscaler.decision.objectives import (
    balanced_max_power_w,
    balanced_value,
    evaluate,
    objective_value,
)


@pytest.mark.parametrize(("deadline", "budget", "expected"), [
    (False, False, ("time", Reason.INFEASIBLE_DEADLINE, False)),
    (False, True, ("time", Reason.INFEASIBLE_DEADLINE, False)),
    (True, False, ("energy", Reason.INFEASIBLE_BUDGET, False)),
    (True, True, ("energy", Reason.INFEASIBLE_BUDGET, True)),
])
def test_the_infeasible_fallback(deadline: bool, budget: bool,
                                 expected: tuple[str, Reason, bool]) -> None:
    objective, reason, keep = infeasible_fallback(deadline_reachable=deadline,
                                                  budget_reachable=budget)
    assert (str(objective), reason, keep) == expected


@pytest.mark.parametrize(("objective", "value"), [
    ("energy", 1000.0), ("time", 10.0), ("balanced:1", 1000.0), ("balanced:0", 3000.0),
    ("balanced:0.5", 2000.0),
])
def test_the_objective_as_a_total(objective: str, value: float) -> None:
    assert objective_value(Objective.parse(objective), 1000.0, 10.0, 300.0) == value


def test_the_rate_and_the_total_are_the_same_objective() -> None:
    """evaluate()'s balanced rate per sample, times the samples, is objective_value's total."""
    grid = np.arange(1, 5)
    thr = Curve("table", grid, np.array([100.0, 190.0, 270.0, 340.0]), np.zeros(4))
    pw = Curve("table", grid, np.array([200.0, 380.0, 560.0, 740.0]), np.zeros(4))
    obj = Objective.parse("balanced:0.3")
    per_sample = evaluate(obj, thr, pw).per_sample
    p_max = balanced_max_power_w(pw.mean)
    samples = 5000.0
    for i in range(4):
        time_s = samples / thr.mean[i]
        total = objective_value(obj, pw.mean[i] * time_s, time_s, p_max)
        assert per_sample[i] * samples == pytest.approx(total)
    assert balanced_value(0.3, 2.0, 1.0, 10.0) == pytest.approx(0.6 + 7.0)
    assert balanced_max_power_w(iter([3.0, 9.0, 1.0])) == 9.0
