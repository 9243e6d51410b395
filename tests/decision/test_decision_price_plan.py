"""Issue 12: planning across a price change (autoscaler.decision.price_plan), table tests of the
pure rule and the controller end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
from decision_helpers import INTERVAL_S, TrueCurves

from autoscaler.decision import Controller, JobSpec, Objective, ObjectiveKind, Progress, Reason
from autoscaler.decision.price_plan import PlanInputs, next_change, plan
from autoscaler.decision.prices import Prices, Rate

DAY, NIGHT = 0.30, 0.12
# Dear for 2 h, cheap for 8 h, dear again (daily): the imagenet day/night scenario's tariff.
TARIFF = Rate(((0.0, DAY), (7_200.0, NIGHT), (36_000.0, DAY)), repeat_s=86_400.0)
# Degrees 1..4: wider is faster but (from 3) costs more energy per sample.
X = [100.0, 200.0, 290.0, 360.0]  # samples/s
P = [1000.0, 2000.0, 3000.0, 4000.0]  # W -> J/sample 10, 10, 10.3, 11.1


def _inputs(remaining: float, allowed: list[bool] | None = None,
            downtime_s: float = 0.0) -> PlanInputs:
    n = len(X)
    return PlanInputs(
        grid=np.arange(1, n + 1), throughput=np.array(X), throughput_sd=np.zeros(n),
        power=np.array(P), power_sd=np.zeros(n), remaining_samples=remaining,
        allowed=None if allowed is None else np.array(allowed), resize_downtime_s=downtime_s,
    )


def _best(now_s: float, remaining: float, prices: Prices | None = None,
          carbon: bool = False, allowed: list[bool] | None = None) -> int:
    p = plan(_inputs(remaining, allowed), prices or Prices(TARIFF), carbon, now_s)
    assert p is not None
    return int(np.argmin(p.per_sample)) + 1


@pytest.mark.parametrize(("why", "now_s", "remaining", "best"), [
    # Dear now, the work runs past the change at every degree: run few while dear.
    ("dear now, cheap later", 0.0, 5e6, 1),
    # Cheap now and the work ends before the change at 1 and 2: the least J/sample (tie: 1).
    ("cheap, ends before the dear hours", 7_200.0, 2e6, 1),
    # Cheap now, 28,800 s left of it: only 4 (360/s) finishes 1e7 samples before the dear
    # hours (1..3 leave work for them): the widest pays though its J/sample is worst.
    ("cheap now, dear later", 7_200.0, 1e7, 4),
    # Just before the cheap hours: every degree does almost all its work in them.
    ("a minute before cheap", 7_140.0, 5e6, 1),
])
def test_the_degree_best_across_the_next_change(why: str, now_s: float, remaining: float,
                                                best: int) -> None:
    assert _best(now_s, remaining) == best, why


def test_a_constant_price_has_no_plan() -> None:
    assert plan(_inputs(1e6), Prices(Rate.constant(0.2), Rate.constant(1.0)), False, 0.0) is None
    # Carbon reads only the intensity: a scheduled electricity price does not make a plan.
    prices = Prices(TARIFF, carbon_g_per_kwh=Rate.constant(300.0))
    assert plan(_inputs(1e6), prices, True, 0.0) is None


@pytest.mark.parametrize(("prices", "carbon", "now_s", "change"), [
    (Prices(TARIFF), False, 0.0, 7_200.0),
    (Prices(TARIFF), False, 40_000.0, 86_400.0 + 7_200.0),
    # A scheduled worker price changes first: its change counts for cost.
    (Prices(TARIFF, Rate(((0.0, 1.0), (3_600.0, 2.0)), repeat_s=86_400.0)), False, 0.0, 3_600.0),
    (Prices(carbon_g_per_kwh=Rate(((0.0, 400.0), (10_800.0, 150.0)))), True, 0.0, 10_800.0),
    (Prices(carbon_g_per_kwh=Rate(((0.0, 400.0), (10_800.0, 150.0)))), True, 11_000.0, math.inf),
    # Steps within ±10 % of the value now (332 -> 363) are no change; the dip to 280 is.
    (Prices(carbon_g_per_kwh=Rate(((0.0, 332.0), (3_600.0, 363.0), (7_200.0, 280.0)),
                                  repeat_s=86_400.0)), True, 0.0, 7_200.0),
    # A repeating schedule whose every step is small has no change ahead.
    (Prices(carbon_g_per_kwh=Rate(((0.0, 332.0), (3_600.0, 350.0)), repeat_s=86_400.0)), True,
     0.0, math.inf),
])
def test_the_next_change_of_the_prices_the_objective_reads(prices: Prices, carbon: bool,
                                                           now_s: float, change: float) -> None:
    assert next_change(prices, carbon, now_s) == change


def test_the_plan_prices_each_part_exactly() -> None:
    # 5e6 samples from t=0 at degree 1: 100/s x 7,200 s = 7.2e5 now at 0.30; the rest at the
    # degree best for it at night: 2 (degree 1 would run on into the dear hours; 2 ties on
    # J/sample and ends by 36,000 s), with a resize to it at the change.
    p = plan(_inputs(5e6, downtime_s=60.0), Prices(TARIFF), False, 0.0)
    assert p is not None
    now_part = 7_200 * 1000 * DAY / 3.6e6
    later = (5e6 - 7.2e5) * 10.0 * NIGHT / 3.6e6
    resize = 60.0 * 2000 * NIGHT / 3.6e6
    assert p.per_sample[0] * 5e6 == pytest.approx(now_part + later + resize)
    assert p.later_degree[0] == 2 and not p.finishes_before.any()
    assert p.rate_now.tolist() == pytest.approx([w * DAY / 3.6e6 for w in P])
    assert p.note(0) == ("0.3/kWh now until t=7200 s, then 0.12/kWh: the work left after the "
                         "change planned at 2")


def test_the_work_after_the_change_is_planned_only_on_allowed_degrees() -> None:
    p = plan(_inputs(5e6, allowed=[False, False, True, True]), Prices(TARIFF), False, 0.0)
    assert p is not None and p.later_degree.tolist() == [3, 3, 3, 3]


def test_carbon_follows_the_intensity() -> None:
    green_later = Prices(carbon_g_per_kwh=Rate(((0.0, 400.0), (3_600.0, 100.0))))
    assert _best(0.0, 5e6, green_later, carbon=True) == 1
    green_now = Prices(carbon_g_per_kwh=Rate(((0.0, 100.0), (3_600.0, 400.0))))
    assert _best(0.0, 1.2e6, green_now, carbon=True) == 4  # only 4 is done within the hour


def test_near_a_change_the_difference_cannot_repay_a_resize() -> None:
    # Ten seconds before the cheap hours: what degree 1 saves over 4 is worth less than one
    # minute of downtime at degree 1's power: the pay-back stage will hold.
    p = plan(_inputs(5e6), Prices(TARIFF), False, 7_190.0)
    assert p is not None
    saving = (p.per_sample[3] - p.per_sample[0]) * 5e6
    assert 0 < saving < 60.0 * p.rate_now[0]


# --- the controller end to end --------------------------------------------------------------
CURVES = TrueCurves(lam=300, sigma=0.03, kappa=0.006, static_w=900, per_worker_w=300)
DEGREES = range(1, 13)


def test_the_controller_scales_down_while_dear_and_up_when_cheap() -> None:
    energy_best = CURVES.best(Objective(ObjectiveKind.ENERGY), DEGREES)
    assert energy_best > 1  # the test must be able to fail
    spec = JobSpec(1, 12, Objective(ObjectiveKind.COST), total_samples=1e6 + 3e7,
                   prices=Prices(TARIFF))
    ctl = Controller(spec)
    t_s = CURVES.feed(ctl, [n for n in DEGREES if n != energy_best] + [energy_best],
                      per_degree=3)
    assert t_s < 7_000  # still in the dear hours
    done = 1e6
    dear = ctl.decide(t_s, Progress(energy_best, done))
    assert dear.replicas == 1 and dear.reason is Reason.RESIZE_BETTER
    assert "0.3/kWh now until t=7200 s, then 0.12/kWh" in dear.message
    spec_left = JobSpec(1, 12, Objective(ObjectiveKind.COST), total_samples=done + 2e6,
                        prices=Prices(TARIFF))
    ctl.update_spec(spec_left)
    ctl.note_resize(1, t_s)
    t_s = CURVES.feed(ctl, [1], per_degree=3, start_s=7_200.0 - 3 * INTERVAL_S)
    cheap = ctl.decide(t_s, Progress(1, done))
    assert cheap.replicas == energy_best and cheap.reason is Reason.RESIZE_BETTER
    assert "0.12/kWh now until t=36000 s" in cheap.message
