"""The engine's accounting: exact time and energy, resize downtime, phases, bounds, determinism."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from autoscaler.decision.types import Decision, Progress, Quality, Reason, Window
from autoscaler.sim.engine import RunResult, SimulationError, run_policy
from autoscaler.sim.scenario import Scenario
from autoscaler.sim.workload import Workload

MakeScenario = Callable[..., Scenario]


@dataclass
class Scripted:
    """Resizes to ``plan[k]`` at its k-th decision (if given) and records what it was shown."""

    plan: dict[int, int] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)
    resizes: list[tuple[int, float]] = field(default_factory=list)
    decisions: int = 0

    def observe(self, window: Window) -> None:
        self.windows.append(window)

    def note_resize(self, replicas: int, now_s: float) -> None:
        self.resizes.append((replicas, now_s))

    def decide(self, now_s: float, progress: Progress) -> Decision:
        target = self.plan.get(self.decisions, progress.current_replicas)
        self.decisions += 1
        return Decision(now_s, progress.current_replicas, target, Reason.EXPLORE, "scripted")


def run(s: Scenario, policy: Scripted, start: int = 1) -> RunResult:
    return run_policy(
        Workload(s),
        policy,
        name="scripted",
        start_replicas=start,
        min_replicas=s.job.min_replicas,
        max_replicas=s.job.max_replicas,
        interval_s=s.controller.interval_s,
        seed=s.seed,
    )


@pytest.mark.parametrize("n", [1, 2, 3])
def test_static_run_costs_exactly_work_over_throughput(n: int, make_scenario: MakeScenario) -> None:
    # 100,000 samples is not a whole number of 30 s intervals at any degree: the last one is cut.
    result = run(make_scenario(), Scripted(), start=n)
    x, p = {1: 100.0, 2: 190.0, 3: 240.0}[n], 100.0 + 100.0 * n
    assert result.time_s == pytest.approx(100_000 / x, rel=1e-12)
    assert result.energy_j == pytest.approx(100_000 / x * p, rel=1e-12)
    assert result.resizes == 0 and result.final_replicas == n


def test_a_resize_costs_downtime_at_the_new_degrees_power(make_scenario: MakeScenario) -> None:
    policy = Scripted(plan={0: 3})  # first decision at t = 30 s: go from 1 to 3
    result = run(make_scenario(), policy)
    left = 100_000 - 30 * 100.0
    assert result.time_s == pytest.approx(30 + 30 + left / 240.0)
    assert result.energy_j == pytest.approx(30 * 200.0 + 30 * 400.0 + left / 240.0 * 400.0)
    assert policy.resizes == [(3, 30.0)]
    downtime_window = policy.windows[1]
    assert downtime_window.quality is Quality.WARMUP
    assert downtime_window.throughput_sps == 0.0 and downtime_window.power_w == 400.0
    assert policy.windows[2].quality is Quality.OK
    assert result.trajectory[1].throughput_sps == 0.0


def test_downtime_longer_than_an_interval_marks_every_window_it_touches(
    make_scenario: MakeScenario,
) -> None:
    policy = Scripted(plan={0: 2})
    run(make_scenario({"workload.resize_downtime_s": 45}), policy)
    assert [w.quality for w in policy.windows[:4]] == [
        Quality.OK,
        Quality.WARMUP,
        Quality.WARMUP,
        Quality.OK,
    ]
    assert policy.windows[2].throughput_sps == pytest.approx(190.0 * 15 / 30)


def test_a_phase_boundary_inside_an_interval_is_accounted_exactly(
    make_scenario: MakeScenario,
) -> None:
    s = make_scenario(
        {"workload.phases": [{"at_fraction": 0.3, "throughput": {"table": {1: 50.0, 3: 150.0}}}]}
    )
    result = run(s, Scripted(), start=2)
    expected_s = 30_000 / 190.0 + 70_000 / 100.0
    assert result.time_s == pytest.approx(expected_s)
    assert result.energy_j == pytest.approx(expected_s * 300.0)


def test_progress_and_clock_given_to_the_policy_are_the_simulated_ones(
    make_scenario: MakeScenario,
) -> None:
    seen: list[tuple[float, Progress]] = []

    class Spy(Scripted):
        def decide(self, now_s: float, progress: Progress) -> Decision:
            seen.append((now_s, progress))
            return super().decide(now_s, progress)

    run(make_scenario(), Spy(), start=1)
    now_s, progress = seen[1]
    assert now_s == 60.0
    assert progress == Progress(current_replicas=1, samples_done=6000.0, energy_used_j=12_000.0)


def test_a_policy_leaving_its_bounds_is_an_error(make_scenario: MakeScenario) -> None:
    with pytest.raises(SimulationError, match="outside"):
        run(make_scenario(), Scripted(plan={0: 4}))


def test_the_same_seed_gives_the_same_windows_and_another_seed_does_not(
    make_scenario: MakeScenario,
) -> None:
    noisy = {"workload.noise": {"throughput_cv": 0.05, "power_cv": 0.05}}
    a, b, c = Scripted(), Scripted(), Scripted()
    run(make_scenario(noisy), a)
    run(make_scenario(noisy), b)
    run(make_scenario({**noisy, "seed": 1}), c)
    assert a.windows == b.windows
    assert [w.throughput_sps for w in a.windows] != [w.throughput_sps for w in c.windows]


def test_noise_changes_what_the_policy_sees_but_not_the_true_cost(
    make_scenario: MakeScenario,
) -> None:
    quiet = run(make_scenario(), Scripted(), start=2)
    policy = Scripted()
    noisy = run(make_scenario({"workload.noise": {"throughput_cv": 0.1}}), policy, start=2)
    assert noisy.energy_j == quiet.energy_j and noisy.time_s == quiet.time_s
    assert len({round(w.throughput_sps, 6) for w in policy.windows}) > 1
