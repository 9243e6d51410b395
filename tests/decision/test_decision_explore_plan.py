"""Exploration under a price plan: the plan decides whether a trial is worth it, the degrees'
curves at the prices now decide which comes first (issue 12; autoscaler.decision.exploration).

The regression: bert on a daily carbon curve, clean now and dirty in 6 h. Ordered by the plan,
whose objective folds in the dirty hours a degree's *predicted* speed runs into, the first
trial went to 8 (not 4, which the prior thinks too slow to finish while clean); the fit through
8 and 16 then put 4 at half its speed with a narrow band and the job ran at 16 for 80 % more
carbon than a static run at 4.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from autoscaler.decision import JobSpec, Objective, ObjectiveKind, PolicyConfig
from autoscaler.decision.constraints import ConstraintOutcome
from autoscaler.decision.exploration import ranking_curve, stage_exploration
from autoscaler.decision.models import Curve
from autoscaler.decision.objectives import ObjectiveCurve, PriceContext, evaluate
from autoscaler.decision.prices import J_PER_KWH, Prices, Rate
from autoscaler.decision.situation import Evidence, Situation
from autoscaler.decision.types import Reason
from autoscaler.sim.baselines import StaticPolicy
from autoscaler.sim.compare import OURS, run_named, scenario_prices
from autoscaler.sim.engine import run_policy
from autoscaler.sim.scenario import parse_scenario
from autoscaler.sim.workload import Workload

ROOT = Path(__file__).resolve().parents[2]
CARBON = Objective(ObjectiveKind.CARBON)


def _situation(plan: list[float], plan_sd: list[float], now: list[float], now_sd: list[float],
               left: float = 1e5) -> Situation:
    """Degrees 1..3, the current one 3 (measured); objective rate 1 per second at every
    degree (a trial's cost is its seconds); the plan's curve and the curve at the prices now
    given by hand."""
    grid = np.arange(1, 4)
    cfg = PolicyConfig(resize_downtime_s=30.0, explore_margin=0.0, explore_ratio=0.0)
    ev = Evidence(JobSpec(1, 3), cfg, 0.0, 3, 10, None, None)
    obj = ObjectiveCurve(grid, np.array(plan), np.array(plan_sd), np.ones(3), "gCO2",
                         at_prices_now=(np.array(now), np.array(now_sd)))
    allowed = np.ones(3, dtype=bool)
    measured = grid == 3
    return Situation(
        evidence=ev, objective=obj,
        constraints=ConstraintOutcome(allowed, True, None, "unconstrained", plausible=allowed),
        measured=measured, extrapolated=~measured, fresh=measured,
        boundary=np.zeros(3, dtype=bool), identified=False, remaining_samples=left,
        remaining_known=True, current_throughput_sps=1.0, throughput_sps=np.ones(3),
        interval_s=30.0,
    )


def test_trials_are_ordered_by_the_curve_at_the_prices_now() -> None:
    # The plan: 1 spills into dirty hours (1.3 ± 0.3), 2 a little (1.05 ± 0.3); both worth a
    # trial. At the prices now 1 and 2 tie with the current degree and 1 is twice as uncertain:
    # Pandora's rule opens 1 first. Ordered by the plan it opened 2.
    s = _situation(plan=[1.3, 1.05, 1.0], plan_sd=[0.3, 0.3, 0.0],
                   now=[0.5, 0.5, 0.5], now_sd=[0.3, 0.15, 0.0])
    verdict = stage_exploration(s, target=3)
    assert verdict is not None and verdict.reason is Reason.EXPLORE
    assert verdict.replicas == 1


def test_whether_a_trial_is_worth_it_stays_the_plans_question() -> None:
    # At the prices now 1 looks promising; by the plan it is surely worse: no trial.
    s = _situation(plan=[3.0, 3.0, 1.0], plan_sd=[0.01, 0.01, 0.0],
                   now=[0.4, 0.4, 0.5], now_sd=[0.2, 0.2, 0.0])
    assert stage_exploration(s, target=3) is None


def test_ranking_curve_is_the_plans_level_at_the_current_degree() -> None:
    s = _situation(plan=[1.3, 1.05, 1.0], plan_sd=[0.3, 0.3, 0.0],
                   now=[0.5, 0.6, 0.25], now_sd=[0.1, 0.2, 0.0])
    mean, sd = ranking_curve(s)
    np.testing.assert_allclose(mean, [2.0, 2.4, 1.0])  # x 4: the current degree at its plan
    np.testing.assert_allclose(sd, [0.4, 0.8, 0.0])
    plain = dataclasses.replace(s, objective=dataclasses.replace(s.objective,
                                                                  at_prices_now=None))
    mean, sd = ranking_curve(plain)
    np.testing.assert_array_equal(mean, plain.objective.per_sample)
    np.testing.assert_array_equal(sd, plain.objective.per_sample_sd)


def test_evaluate_keeps_the_curve_at_the_prices_now_under_a_plan() -> None:
    grid = np.arange(1, 5)
    x = Curve("table", grid, np.array([10.0, 20.0, 28.0, 35.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    p = Curve("table", grid, np.array([100.0, 200.0, 300.0, 400.0]), np.full(4, 10.0))
    curve = Rate(((0.0, 200.0), (3_600.0, 400.0)), repeat_s=86_400.0)
    ctx = PriceContext(Prices(carbon_g_per_kwh=curve), now_s=0.0, remaining_samples=1e6)
    o = evaluate(CARBON, x, p, ctx)
    assert o.price_plan is not None and o.at_prices_now is not None
    flat = evaluate(CARBON, x, p, PriceContext(Prices(carbon_g_per_kwh=Rate.constant(200.0)),
                                               now_s=0.0, remaining_samples=1e6))
    assert flat.price_plan is None and flat.at_prices_now is None
    np.testing.assert_allclose(o.at_prices_now[0], p.mean * 200.0 / J_PER_KWH / x.mean)
    np.testing.assert_allclose(o.at_prices_now[0], flat.per_sample)
    np.testing.assert_allclose(o.at_prices_now[1], flat.per_sample_sd)


def _bert_clean_then_dirty() -> dict[str, Any]:
    """The realistic suite's bert workload (least J/sample at 4, of 1..16), objective carbon,
    6 h clean (210 gCO2/kWh) then 18 h dirty (350), daily."""
    path = ROOT / "benchmarks" / "scenarios_real" / "bert-pw12-energy-at-max.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data["job"]["objective"] = "carbon"
    data["prices"] = {"carbon_g_per_kwh": {
        "schedule": [{"at_s": 0, "value": 210}, {"at_s": 21_600, "value": 350}],
        "repeat_s": 86_400}}
    return data


@pytest.mark.timeout(120)
def test_bert_clean_now_dirty_later_finds_the_efficient_degree() -> None:
    s = parse_scenario(_bert_clean_then_dirty(), label="bert", default_name="bert")
    workload = Workload(s)
    job = s.job
    static4 = run_policy(workload, StaticPolicy(), name="static", start_replicas=4,
                         min_replicas=job.min_replicas, max_replicas=job.max_replicas,
                         interval_s=s.controller.interval_s, seed=s.seed,
                         prices=scenario_prices(s))
    ours = run_named(s, workload, OURS)
    assert ours.carbon_g is not None and static4.carbon_g is not None
    # Before: the job ran at 16 after trying 8, 1.8x the carbon of 4 throughout.
    assert ours.carbon_g <= 1.1 * static4.carbon_g
    assert ours.final_replicas == 4
