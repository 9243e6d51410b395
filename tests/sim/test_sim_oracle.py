"""The oracle on curves small enough to work out by hand (see sim_helpers.BASE).

Per 100,000 samples: n=1: 1000 s, 200 kJ; n=2: 526.3 s, 157.9 kJ; n=3: 416.7 s, 166.7 kJ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from autoscaler.sim.baselines import BASELINE_NAMES
from autoscaler.sim.compare import run_named, solve_oracle
from autoscaler.sim.scenario import Scenario
from autoscaler.sim.workload import Workload

MakeScenario = Callable[..., Scenario]

T = {1: 1000.0, 2: 100_000 / 190.0, 3: 100_000 / 240.0}
E = {1: 200_000.0, 2: 100_000 / 190.0 * 300.0, 3: 100_000 / 240.0 * 400.0}

# (edits, oracle degree, feasible, objective the oracle was scored in)
CASES: list[tuple[dict[str, Any], int, bool, str]] = [
    ({}, 2, True, "energy"),
    ({"job.objective": "time"}, 3, True, "time"),
    # balanced:0.5 with P_max = 400 W: n=2 -> 78.9k + 105.3k; n=3 -> 83.3k + 83.3k  => 3
    ({"job.objective": "balanced:0.5"}, 3, True, "balanced:0.5"),
    # balanced:0.9: n=2 -> 142.1k + 21.1k = 163.2k; n=3 -> 150.0k + 16.7k = 166.7k  => 2
    ({"job.objective": "balanced:0.9"}, 2, True, "balanced:0.9"),
    ({"job.deadline_s": 500}, 3, True, "energy"),  # only 3 finishes in 500 s
    ({"job.deadline_s": 400}, 3, False, "time"),  # nobody does: run the fastest
    ({"job.objective": "time", "job.energy_budget_j": 160_000}, 2, True, "time"),
    ({"job.objective": "time", "job.energy_budget_j": 150_000}, 2, False, "energy"),
    # each constraint alone can be met, both cannot: keep the deadline, least energy within it
    ({"job.deadline_s": 500, "job.energy_budget_j": 160_000}, 3, False, "energy"),
    ({"job.min_replicas": 3, "job.initial_replicas": 3}, 3, True, "energy"),
]


@pytest.mark.parametrize(("edits", "degree", "feasible", "scored"), CASES)
def test_oracle_picks_the_hand_computed_degree(
    edits: dict[str, Any], degree: int, feasible: bool, scored: str, make_scenario: MakeScenario
) -> None:
    s = make_scenario(edits)
    o = solve_oracle(s, Workload(s))
    assert (o.replicas, o.feasible, str(o.objective)) == (degree, feasible, scored)
    assert o.plan.time_s == pytest.approx(T[degree])
    assert o.plan.energy_j == pytest.approx(E[degree])


# Second half of the work runs at 100/100/300 samples/s: J/sample 3.0 / 3.0 / 1.333.
PHASE = [{"at_fraction": 0.5, "throughput": {"table": {1: 100.0, 2: 100.0, 3: 300.0}}}]


def test_oracle_switches_at_a_phase_boundary_when_it_pays(make_scenario: MakeScenario) -> None:
    s = make_scenario({"workload.phases": PHASE, "workload.resize_downtime_s": 0})
    o = solve_oracle(s, Workload(s))
    assert o.plan.degrees == (2, 3)
    assert o.plan.energy_j == pytest.approx(50_000 / 190.0 * 300.0 + 50_000 / 300.0 * 400.0)


def test_oracle_stays_when_the_downtime_costs_more_than_the_switch_saves(
    make_scenario: MakeScenario,
) -> None:
    # (2, 3) costs 145.6 kJ + 30 s x 400 W = 157.6 kJ; staying at 3 throughout costs 150.0 kJ.
    s = make_scenario({"workload.phases": PHASE, "workload.resize_downtime_s": 30})
    o = solve_oracle(s, Workload(s))
    assert o.plan.degrees == (3,)  # one stretch at 3: no resize
    assert o.plan.energy_j == pytest.approx(150_000.0)


def test_oracle_charges_downtime_time_and_energy_on_a_switch(make_scenario: MakeScenario) -> None:
    # Objective time; the second half runs fastest at 1 worker (1000 samples/s), so the oracle
    # runs 3 then 1 and pays 10 s of downtime at 1 worker's 200 W.
    phase = [{"at_fraction": 0.5, "throughput": {"table": {1: 1000.0, 2: 100.0, 3: 100.0}}}]
    s = make_scenario(
        {"workload.phases": phase, "workload.resize_downtime_s": 10, "job.objective": "time"}
    )
    o = solve_oracle(s, Workload(s))
    assert o.plan.degrees == (3, 1)
    assert o.plan.time_s == pytest.approx(50_000 / 240.0 + 10 + 50_000 / 1000.0)
    assert o.plan.energy_j == pytest.approx(50_000 / 240.0 * 400 + 10 * 200 + 50.0 * 200)


def test_with_a_deadline_the_oracle_splits_the_work_between_two_degrees(
    make_scenario: MakeScenario,
) -> None:
    # 1e6 samples: 2 workers need 5,263 s (1.579 MJ), 3 need 4,167 s (1.667 MJ). A 4,800 s
    # deadline rules out 2 alone, but 45 % of the work at 3 then 55 % at 2 (30 s downtime at
    # 2's 300 W) finishes in 4,799.7 s for 1.627 MJ: less than 3 alone.
    s = make_scenario({"workload.total_samples": 1e6, "job.deadline_s": 4800})
    o = solve_oracle(s, Workload(s))
    assert o.feasible and o.plan.degrees == (3, 2)
    assert o.plan.time_s <= 4800
    e2, e3 = 1e6 / 190.0 * 300.0, 1e6 / 240.0 * 400.0
    assert o.plan.energy_j == pytest.approx(0.45 * e3 + 0.55 * e2 + 30 * 300.0)
    assert o.plan.energy_j < e3


def test_without_constraints_the_oracle_never_splits_a_phase(make_scenario: MakeScenario) -> None:
    s = make_scenario({"workload.total_samples": 1e6, "job.objective": "balanced:0.7"})
    o = solve_oracle(s, Workload(s))
    assert len(o.plan.legs) == 1


@pytest.mark.parametrize(
    "edits",
    [
        {"workload.total_samples": 3e5},
        {"workload.total_samples": 3e5, "job.objective": "time"},
        {"workload.total_samples": 3e5, "job.objective": "balanced:0.3"},
        {"workload.total_samples": 3e5, "workload.phases": PHASE, "workload.resize_downtime_s": 5},
        {"workload.total_samples": 3e5, "workload.noise": {"throughput_cv": 0.1, "power_cv": 0.1}},
    ],
)
def test_no_baseline_beats_the_oracle_without_constraints(
    edits: dict[str, Any], make_scenario: MakeScenario
) -> None:
    s = make_scenario(edits)
    w = Workload(s)
    o = solve_oracle(s, w)
    best = o.value(o.plan.energy_j, o.plan.time_s)
    for name in BASELINE_NAMES:
        run = run_named(s, w, name)
        assert o.value(run.energy_j, run.time_s) >= best * (1 - 1e-12), name
