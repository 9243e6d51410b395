"""Issue 12: the cost and carbon objectives, prices that change over time, the peak-power cap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from decision_helpers import TrueCurves

from autoscaler.decision import Controller, JobSpec, Objective, ObjectiveKind, Progress, Reason
from autoscaler.decision.config import PolicyConfig
from autoscaler.decision.constraints import evaluate_constraints
from autoscaler.decision.models import Curve
from autoscaler.decision.objectives import PriceContext, evaluate
from autoscaler.decision.prices import Prices, Rate

DEGREES = range(1, 13)
CURVES = TrueCurves(lam=300, sigma=0.03, kappa=0.006, static_w=900, per_worker_w=300)
DAY_NIGHT = Rate(((0.0, 0.30), (21_600.0, 0.12)), repeat_s=86_400.0)


# --- parsing and the spec -------------------------------------------------------------------
@pytest.mark.parametrize(("text", "kind"), [("cost", ObjectiveKind.COST),
                                            ("CARBON", ObjectiveKind.CARBON),
                                            (" energy ", ObjectiveKind.ENERGY)])
def test_objective_parses_cost_and_carbon(text: str, kind: ObjectiveKind) -> None:
    parsed = Objective.parse(text)
    assert parsed.kind is kind and Objective.parse(str(parsed)) == parsed


@pytest.mark.parametrize(("objective", "prices", "needs"), [
    ("cost", None, "energy_per_kwh or per_worker_hour"),
    ("cost", Prices(carbon_g_per_kwh=Rate.constant(300)), "energy_per_kwh or per_worker_hour"),
    ("carbon", None, "carbon_g_per_kwh"),
    ("carbon", Prices(energy_per_kwh=Rate.constant(0.2)), "carbon_g_per_kwh"),
])
def test_cost_and_carbon_without_their_prices_are_refused(
    objective: str, prices: Prices | None, needs: str
) -> None:
    with pytest.raises(ValueError, match=needs):
        JobSpec(1, 4, Objective.parse(objective), prices=prices)


@pytest.mark.parametrize("cap", [0.0, -5.0, math.inf, math.nan])
def test_a_cap_must_be_a_positive_number(cap: float) -> None:
    with pytest.raises(ValueError, match="max_power_w"):
        JobSpec(1, 4, max_power_w=cap)


# --- schedules ------------------------------------------------------------------------------
@pytest.mark.parametrize(("t_s", "value"), [
    (0.0, 0.30), (21_599.0, 0.30), (21_600.0, 0.12), (86_399.0, 0.12), (86_400.0, 0.30),
    (86_400.0 + 30_000.0, 0.12), (-1.0, 0.12),  # before 0: the previous day's night
])
def test_a_repeating_schedule_holds_each_value_until_the_next_point(t_s: float,
                                                                    value: float) -> None:
    assert DAY_NIGHT.value_at(t_s) == value


@pytest.mark.parametrize(("t0", "t1", "integral"), [
    (0.0, 21_600.0, 0.30 * 21_600),
    (0.0, 86_400.0, 0.30 * 21_600 + 0.12 * 64_800),
    (10_000.0, 30_000.0, 0.30 * 11_600 + 0.12 * 8_400),
    (80_000.0, 90_000.0, 0.12 * 6_400 + 0.30 * 3_600),  # across the period's end
    (0.0, 3 * 86_400.0, 3 * (0.30 * 21_600 + 0.12 * 64_800)),
])
def test_the_integral_of_a_schedule_is_exact(t0: float, t1: float, integral: float) -> None:
    assert float(DAY_NIGHT.integral(t0, t1)) == pytest.approx(integral, rel=1e-12)


def test_mean_over_and_next_change() -> None:
    means = DAY_NIGHT.mean_over(0.0, np.array([0.0, 21_600.0, 43_200.0]))
    assert means.tolist() == pytest.approx([0.30, 0.30, 0.21])
    assert DAY_NIGHT.next_change(0.0) == 21_600.0
    assert DAY_NIGHT.next_change(21_600.0) == 86_400.0
    one_off = Rate(((100.0, 1.0), (200.0, 2.0)))
    assert one_off.value_at(0.0) == 1.0 and one_off.next_change(200.0) == math.inf
    assert float(one_off.integral(0.0, 300.0)) == pytest.approx(1.0 * 200 + 2.0 * 100)


@pytest.mark.parametrize("points", [(), ((10.0, 1.0), (5.0, 2.0)), ((0.0, -1.0),)])
def test_a_bad_schedule_is_refused(points: tuple[tuple[float, float], ...]) -> None:
    with pytest.raises(ValueError):
        Rate(points)


# --- objectives as rates --------------------------------------------------------------------
def _curves(power: list[float], throughput: list[float], sd: float = 0.0) -> tuple[Curve, Curve]:
    grid = np.arange(1, len(power) + 1)
    thr = Curve("table", grid, np.array(throughput), np.zeros(len(power)))
    pw = Curve("table", grid, np.array(power), np.full(len(power), sd))
    return thr, pw


@pytest.mark.parametrize(("objective", "prices", "rates"), [
    # cost = P·price/3.6e6 + n·worker/3600
    ("cost", Prices(Rate.constant(3.6), Rate.constant(36.0)), [1000 * 1e-6 + 0.01,
                                                               1800 * 1e-6 + 0.02]),
    ("cost", Prices(per_worker_hour=Rate.constant(3600.0)), [1.0, 2.0]),
    ("carbon", Prices(carbon_g_per_kwh=Rate.constant(3.6e6)), [1000.0, 1800.0]),
])
def test_cost_and_carbon_rates_per_second(objective: str, prices: Prices,
                                          rates: list[float]) -> None:
    thr, pw = _curves([1000.0, 1800.0], [10.0, 18.0])
    o = evaluate(Objective.parse(objective), thr, pw, PriceContext(prices, 0.0, 1000.0))
    assert o.rate_per_s.tolist() == pytest.approx(rates)
    assert o.per_sample.tolist() == pytest.approx([rates[0] / 10.0, rates[1] / 18.0])
    assert o.unit == ("money" if objective == "cost" else "gCO2")


def test_a_schedule_is_planned_across_its_next_change() -> None:
    # 21,600 samples: 2 workers finish inside the dear day (6 h); 1 worker leaves half the work
    # for the cheap night (issue 12: the plan counts the work a degree displaces past a change).
    thr, pw = _curves([1000.0, 2000.0], [0.5, 1.0])
    o = evaluate(Objective(ObjectiveKind.COST), thr, pw,
                 PriceContext(Prices(DAY_NIGHT), 0.0, 21_600.0))
    assert o.planned_price is not None
    assert o.planned_price.tolist() == pytest.approx([0.30, 0.30])  # the price holding now
    # Same energy per sample at both degrees, but the slow one runs into the cheap night.
    assert o.per_sample.tolist() == pytest.approx(
        [(21_600 * 1000 * 0.30 + 10_800 * 2000 * 0.12) / 3.6e6 / 21_600,
         2000 * 0.30 / 3.6e6])
    assert o.rate_per_s.tolist() == pytest.approx([1000 * 0.30 / 3.6e6, 2000 * 0.30 / 3.6e6])
    assert "0.3/kWh now until t=21600 s, then 0.12/kWh" in o.price_note(1)
    assert "ends before that change" in o.price_note(2)


def test_without_a_change_ahead_a_schedule_is_planned_with_its_mean() -> None:
    # A one-off schedule past its last point: constant from then on, the mean is exact.
    once = Rate(((0.0, 0.30), (100.0, 0.12)))
    thr, pw = _curves([1000.0, 2000.0], [0.5, 1.0])
    o = evaluate(Objective(ObjectiveKind.COST), thr, pw,
                 PriceContext(Prices(once), 200.0, 21_600.0))
    assert o.price_plan is None and o.planned_price is not None
    assert o.planned_price.tolist() == pytest.approx([0.12, 0.12])


# --- the power cap --------------------------------------------------------------------------
CFG = PolicyConfig()


@pytest.mark.parametrize(("cap", "current", "allowed", "feasible", "reason", "binding"), [
    (None, 3, [1, 2, 3, 4], True, None, None),
    (2500.0, 2, [1, 2], True, None, None),  # 3 draws 3000 W
    (2500.0, 4, [1, 2], True, None, Reason.RESIZE_POWER),  # the current is over: leave it
    (1050.0, 1, [1], True, None, None),
    (900.0, 3, [1], False, Reason.INFEASIBLE_POWER, Reason.RESIZE_POWER),  # none fits
    (900.0, 1, [1], False, Reason.INFEASIBLE_POWER, None),
])
def test_the_cap_allows_only_degrees_under_it(
    cap: float | None, current: int, allowed: list[int], feasible: bool,
    reason: Reason | None, binding: Reason | None,
) -> None:
    thr, pw = _curves([1000.0, 2000.0, 3000.0, 4000.0], [10.0, 20.0, 30.0, 40.0], sd=10.0)
    spec = JobSpec(1, 4, max_power_w=cap, total_samples=1e6)
    out = evaluate_constraints(spec, Progress(current), 0.0, thr, pw, CFG)
    assert [int(n) for n in thr.grid[out.allowed]] == allowed
    assert out.feasible is feasible and out.reason is reason and out.binding is binding


def test_a_degree_whose_upper_band_crosses_the_cap_is_not_allowed() -> None:
    thr, pw = _curves([1000.0, 1950.0], [10.0, 20.0], sd=40.0)  # 1950 + 2·40 > 2000
    out = evaluate_constraints(JobSpec(1, 2, max_power_w=2000.0), Progress(1), 0.0, thr, pw, CFG)
    assert out.allowed.tolist() == [True, False]


def test_the_cap_narrows_a_deadline_to_the_degrees_under_it() -> None:
    thr, pw = _curves([1000.0, 2000.0, 3000.0], [10.0, 20.0, 30.0])
    spec = JobSpec(1, 3, max_power_w=2500.0, deadline_s=1000.0, total_samples=25_000.0)
    out = evaluate_constraints(spec, Progress(1), 0.0, thr, pw, CFG)
    # Only 3 meets the deadline; it is over the cap: the fastest under the cap is run.
    assert out.reason is Reason.INFEASIBLE_DEADLINE and out.allowed.tolist() == [True, True, False]


# --- the controller end to end --------------------------------------------------------------
def _measured(spec: JobSpec, last: int = 1) -> tuple[Controller, float]:
    ctl = Controller(spec)
    t_s = CURVES.feed(ctl, [n for n in DEGREES if n != last] + [last], per_degree=3)
    return ctl, t_s


def test_the_controller_never_chooses_a_degree_over_the_cap() -> None:
    obj = Objective(ObjectiveKind.TIME)
    fastest = CURVES.best(obj, DEGREES)
    cap = CURVES.power_w(fastest) - 1.0  # the fastest degree is just over the cap
    ctl, t_s = _measured(JobSpec(1, 12, obj, total_samples=1e9, max_power_w=cap))
    decision = ctl.decide(t_s, Progress(1))
    assert decision.replicas == fastest - 1 and decision.feasible
    assert CURVES.power_w(decision.replicas) <= cap


def test_worker_price_makes_the_cost_optimum_narrower_than_the_energy_optimum() -> None:
    energy_best = CURVES.best(Objective(ObjectiveKind.ENERGY), DEGREES)
    prices = Prices(Rate.constant(0.20), Rate.constant(2.50))

    def money(n: int) -> float:
        return (CURVES.power_w(n) * 0.20 / 3.6e6 + n * 2.50 / 3600) / CURVES.throughput_sps(n)

    cost_best = min(DEGREES, key=money)
    assert cost_best < energy_best  # the test must be able to fail
    ctl, t_s = _measured(JobSpec(1, 12, Objective(ObjectiveKind.COST), total_samples=1e9,
                                 prices=prices), last=12)
    decision = ctl.decide(t_s, Progress(12))
    assert decision.replicas == cost_best and decision.reason is Reason.RESIZE_BETTER
    assert "money" in decision.message and "planned with electricity price" in decision.message
