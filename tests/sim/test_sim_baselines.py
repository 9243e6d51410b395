"""Baselines behave as documented, through the same engine as ours."""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby

from autoscaler.sim.compare import run_named
from autoscaler.sim.scenario import Scenario
from autoscaler.sim.workload import Workload

MakeScenario = Callable[..., Scenario]
LONG = {"workload.total_samples": 1_000_000}  # ~5,000 s: long enough for a sweep to finish


def degrees_visited(s: Scenario, name: str) -> list[tuple[int, int]]:
    """(degree, windows spent there) in the order the baseline ran them."""
    run = run_named(s, Workload(s), name)
    return [(n, len(list(g))) for n, g in groupby(p.replicas for p in run.trajectory)]


def test_static_initial_never_resizes(make_scenario: MakeScenario) -> None:
    s = make_scenario({**LONG, "job.initial_replicas": 2})
    run = run_named(s, Workload(s), "static-initial")
    assert run.resizes == 0 and {p.replicas for p in run.trajectory} == {2}


def test_static_max_is_launched_at_max_and_never_resizes(make_scenario: MakeScenario) -> None:
    s = make_scenario(LONG)
    run = run_named(s, Workload(s), "static-max")
    assert run.resizes == 0 and {p.replicas for p in run.trajectory} == {3}


def test_sweep_measures_every_degree_then_keeps_the_least_energy_one(
    make_scenario: MakeScenario,
) -> None:
    visits = degrees_visited(make_scenario(LONG), "sweep")
    # 3 OK windows at the start degree; 1 warm-up + 3 OK windows at each other; then the best.
    assert visits[:3] == [(1, 3), (2, 4), (3, 4)]
    assert visits[3][0] == 2 and len(visits) == 4


def test_sweep_keeps_the_best_degree_that_meets_the_deadline(make_scenario: MakeScenario) -> None:
    # For energy alone 2 is best, but 2 needs ~5,260 s: only 3 (~4,170 s) meets 5,000 s.
    visits = degrees_visited(make_scenario({**LONG, "job.deadline_s": 5000}), "sweep")
    assert visits[-1][0] == 3


def test_sweep_keeps_the_fastest_degree_within_the_budget(make_scenario: MakeScenario) -> None:
    # For time 3 is best, but the whole job at 3 needs ~1.67 MJ; 2 needs ~1.58 MJ.
    edits = {**LONG, "job.objective": "time", "job.energy_budget_j": 1.62e6}
    assert degrees_visited(make_scenario(edits), "sweep")[-1][0] == 2


def test_throughput_max_sweeps_then_keeps_the_fastest_whatever_the_objective(
    make_scenario: MakeScenario,
) -> None:
    visits = degrees_visited(make_scenario(LONG), "throughput-max")
    assert [n for n, _ in visits] == [1, 2, 3]
    assert visits[-1][1] > 100  # stays at 3 for the rest of the job


def test_sweep_runs_the_fastest_and_says_infeasible_when_no_degree_meets_the_deadline(
    make_scenario: MakeScenario,
) -> None:
    s = make_scenario({**LONG, "job.deadline_s": 3000})  # even 3 workers need ~4,170 s
    run = run_named(s, Workload(s), "sweep")
    assert run.final_replicas == 3 and run.reported_infeasible
