"""True curves and measurement noise of the simulated workload."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from autoscaler.sim.scenario import Scenario
from autoscaler.sim.workload import Workload

MakeScenario = Callable[..., Scenario]


@pytest.mark.parametrize(
    ("n", "expected_sps"),
    [(1, 100.0), (2, 200.0 / 1.14), (4, 400.0 / (1 + 0.3 + 0.24))],  # t1·n / (1+σ(n−1)+κn(n−1))
)
def test_usl_throughput_follows_the_formula(
    n: int, expected_sps: float, make_scenario: MakeScenario
) -> None:
    s = make_scenario(
        {
            "workload.throughput": {"usl": {"t1_sps": 100, "sigma": 0.1, "kappa": 0.02}},
            "job.max_replicas": 4,
        }
    )
    assert Workload(s).segments[0].throughput(n) == pytest.approx(expected_sps)


def test_table_throughput_is_linear_between_listed_degrees(make_scenario: MakeScenario) -> None:
    s = make_scenario(
        {"workload.throughput": {"table": {1: 100.0, 3: 300.0, 5: 320.0}}, "job.max_replicas": 5}
    )
    x = Workload(s).segments[0].throughput
    assert [x(n) for n in range(1, 6)] == pytest.approx([100, 200, 300, 310, 320])


def test_power_curves_linear_and_table(make_scenario: MakeScenario) -> None:
    linear = Workload(make_scenario()).segments[0].power
    assert [linear(n) for n in (1, 2, 3)] == [200.0, 300.0, 400.0]
    table = (
        Workload(make_scenario({"workload.power": {"table": {1: 500.0, 3: 900.0}}}))
        .segments[0]
        .power
    )
    assert table(2) == pytest.approx(700.0)


def test_a_phase_replaces_only_the_curves_it_gives(make_scenario: MakeScenario) -> None:
    s = make_scenario(
        {
            "workload.phases": [
                {"at_fraction": 0.25, "power": {"linear": {"static_w": 0, "per_worker_w": 50}}},
                {"at_fraction": 0.5, "throughput": {"table": {1: 10.0, 3: 30.0}}},
            ]
        }
    )
    w = Workload(s)
    assert [(seg.start_samples, seg.end_samples) for seg in w.segments] == [
        (0.0, 25_000.0),
        (25_000.0, 50_000.0),
        (50_000.0, 100_000.0),
    ]
    assert w.segment_at(24_999).power(2) == 300.0
    assert w.segment_at(25_000).power(2) == 100.0  # new power ...
    assert w.segment_at(25_000).throughput(2) == 190.0  # ... old throughput
    assert w.segment_at(60_000).throughput(2) == 20.0
    assert w.segment_at(60_000).power(2) == 100.0  # power of the previous phase carries on
    assert w.max_power_w(1, 3) == 400.0


def test_zero_noise_reports_the_truth(make_scenario: MakeScenario) -> None:
    w = Workload(make_scenario())
    assert w.noisy(np.random.default_rng(1), 190.0, 300.0) == (190.0, 300.0)


def test_noise_is_multiplicative_with_the_given_spread_and_seeded(
    make_scenario: MakeScenario,
) -> None:
    w = Workload(make_scenario({"workload.noise": {"throughput_cv": 0.1, "power_cv": 0.02}}))
    draws = np.array([w.noisy(np.random.default_rng(7), 1.0, 1.0)])
    rng = np.random.default_rng(7)
    many = np.array([w.noisy(rng, 200.0, 1000.0) for _ in range(4000)])
    assert many[:, 0].mean() == pytest.approx(200.0, rel=0.01)
    assert many[:, 0].std() / 200.0 == pytest.approx(0.1, rel=0.1)
    assert many[:, 1].std() / 1000.0 == pytest.approx(0.02, rel=0.1)
    again = np.array([w.noisy(np.random.default_rng(7), 1.0, 1.0)])
    assert np.array_equal(draws, again)
