"""Issue 12's scenario contract: objectives cost and carbon, prices (constant or scheduled),
the power cap, and ``cost`` / ``carbon_g`` in the ``--json`` output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import BASE, edit

from autoscaler.cli import main
from autoscaler.sim.compare import simulate
from autoscaler.sim.pricing import price_plan, stretches
from autoscaler.sim.scenario import Scenario, ScenarioError, parse_scenario
from autoscaler.sim.workload import Workload

SUITE = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios_cost"
DAY_NIGHT = {"schedule": [{"at_s": 0, "value": 0.30}, {"at_s": 400, "value": 0.12}],
             "repeat_s": 1000}
PRICES = {"energy_per_kwh": 0.20, "per_worker_hour": 2.50, "carbon_g_per_kwh": 350}


def _scenario(edits: dict[str, Any]) -> Scenario:
    data = BASE
    for dotted, value in edits.items():
        data = edit(data, dotted, value)
    return parse_scenario(data, label="t.yaml")


@pytest.mark.parametrize(("edits", "field"), [
    ({"job.objective": "cost"}, "prices"),
    ({"job.objective": "carbon", "prices": {"energy_per_kwh": 0.2}}, "prices"),
    ({"job.objective": "cost", "prices": {"carbon_g_per_kwh": 300}}, "prices"),
    ({"prices": {"energy_per_kwh": -1}}, "prices.energy_per_kwh"),
    ({"prices": {"energy_per_kwh": {"schedule": []}}}, "prices.energy_per_kwh"),
    ({"prices": {"carbon_g_per_kwh": {"schedule": [{"at_s": 5, "value": 1},
                                                   {"at_s": 5, "value": 2}]}}},
     "prices.carbon_g_per_kwh"),
    ({"prices": {"energy_per_kwh": {"schedule": [{"at_s": 90000, "value": 1}],
                                    "repeat_s": 86400}}}, "prices.energy_per_kwh"),
    ({"prices": {"price_per_kwh": 0.2}}, "prices.price_per_kwh"),
    ({"job.max_power_w": 0}, "job.max_power_w"),
])
def test_mistakes_are_one_line_naming_the_field(edits: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError, match=rf"^t\.yaml: {field}") as err:
        _scenario(edits)
    assert "\n" not in str(err.value)


def test_both_price_forms_load() -> None:
    s = _scenario({"job.objective": "cost", "job.max_power_w": 12000,
                   "prices": {**PRICES, "energy_per_kwh": DAY_NIGHT}})
    assert s.prices is not None and s.job.max_power_w == 12000
    prices = s.prices.to_prices()
    assert prices.energy_per_kwh is not None and prices.energy_per_kwh.value_at(500) == 0.12
    assert prices.per_worker_hour is not None and prices.per_worker_hour.value_at(1e6) == 2.50


def test_json_reports_cost_and_carbon_for_everyone(
    capsys: pytest.CaptureFixture[str], write_scenario: Callable[..., Path]
) -> None:
    data = edit(edit(BASE, "prices", PRICES), "job.objective", "cost")
    assert main(["simulate", str(write_scenario(data)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for run in [out, out["oracle"], *out["baselines"].values()]:
        assert run["cost"] > 0 and run["carbon_g"] > 0
    # Constant prices: carbon is the energy times the intensity, exactly.
    assert out["carbon_g"] == pytest.approx(out["energy_j"] * 350 / 3.6e6)
    assert out["oracle"]["carbon_g"] == pytest.approx(out["oracle"]["energy_j"] * 350 / 3.6e6)
    assert out["objective_regret"] == pytest.approx(
        (out["cost"] - out["oracle"]["cost"]) / out["oracle"]["cost"])


def test_without_prices_cost_and_carbon_are_null(
    capsys: pytest.CaptureFixture[str], write_scenario: Callable[..., Path]
) -> None:
    assert main(["simulate", str(write_scenario(BASE)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cost"] is None and out["oracle"]["carbon_g"] is None


def test_the_oracle_prices_plans_with_the_true_schedule() -> None:
    s = _scenario({"job.objective": "cost", "prices": {"energy_per_kwh": DAY_NIGHT}})
    report = simulate(s)
    plan = report.oracle.plan
    parts = stretches(plan, Workload(s))
    assert parts[-1][1] == pytest.approx(plan.time_s)
    assert sum((t1 - t0) * p for t0, t1, _, p in parts) == pytest.approx(plan.energy_j)
    expected = sum(
        p * float(s.prices.to_prices().energy_per_kwh.integral(t0, t1)) / 3.6e6  # type: ignore[union-attr]
        for t0, t1, _, p in parts
    )
    assert report.oracle.cost == pytest.approx(expected)
    assert price_plan(plan, Workload(s), None) == (None, None)
    # Nobody beats the oracle on the scored objective (noise-free accounting).
    assert report.ours.objective_regret >= -1e-9


def test_the_oracle_switches_at_a_change_point_where_it_pays() -> None:
    # Energy dear then free: run slow (1 worker) while dear, then the energy optimum (2).
    schedule = {"schedule": [{"at_s": 0, "value": 10.0}, {"at_s": 200, "value": 0.001}]}
    s = _scenario({"job.objective": "cost", "prices": {"energy_per_kwh": schedule}})
    oracle = simulate(s).oracle
    assert oracle.plan.degrees == (1, 2)


def test_the_oracle_and_ours_keep_under_the_cap() -> None:
    # 2 workers draw 300 W, 3 draw 400 W: a 350 W cap leaves the time objective 2.
    s = _scenario({"job.objective": "time", "job.max_power_w": 350, "job.initial_replicas": 2})
    report = simulate(s)
    assert report.oracle.plan.degrees == (2,) and report.oracle.feasible
    assert report.ours.run.peak_power_w <= 350 and report.ours.constraints_met
    unconstrained = simulate(_scenario({"job.objective": "time", "job.initial_replicas": 2}))
    assert unconstrained.oracle.plan.degrees == (3,)  # the test must be able to fail


def test_a_cap_nothing_fits_under_runs_the_least_power_degree() -> None:
    s = _scenario({"job.max_power_w": 150})  # even 1 worker draws 200 W
    report = simulate(s)
    assert report.oracle.plan.degrees == (1,) and not report.oracle.feasible


@pytest.mark.parametrize("path", sorted(SUITE.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_cost_suite_loads_and_ours_never_exceeds_a_cap(path: Path) -> None:
    from autoscaler.sim.scenario import load_scenario

    s = load_scenario(path)
    assert "Based on benchmarks/scenarios_real/" in path.read_text()
    if s.job.max_power_w is None:
        return
    report = simulate(s)
    assert report.ours.run.peak_power_w <= s.job.max_power_w
