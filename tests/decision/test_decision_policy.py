"""The policy pipeline: holds, bounds, pay-back, exploration, and never leaving [min, max]."""

from __future__ import annotations

import numpy as np
import pytest
from decision_helpers import INTERVAL_S, TrueCurves

from autoscaler.decision import (
    Controller,
    JobSpec,
    Objective,
    PolicyConfig,
    Progress,
    Quality,
    Reason,
    Window,
)

CURVES = TrueCurves(lam=300, sigma=0.03, kappa=0.006, static_w=900, per_worker_w=300)


def test_no_window_yet_holds_with_no_data() -> None:
    decision = Controller(JobSpec(1, 8)).decide(0.0, Progress(4))
    assert (decision.replicas, decision.reason) == (4, Reason.HOLD_NO_DATA)
    assert decision.predictions == ()


@pytest.mark.parametrize("quality", [Quality.STALE, Quality.MISSING, Quality.INVALID])
def test_newest_window_that_cannot_be_trusted_holds(quality: Quality) -> None:
    ctl = Controller(JobSpec(1, 8, total_samples=1e9))
    t_s = CURVES.feed(ctl, [4], per_degree=3)
    ctl.observe(CURVES.window(4, t_s, quality=quality))
    decision = ctl.decide(t_s + INTERVAL_S, Progress(4))
    assert (decision.replicas, decision.reason) == (4, Reason.HOLD_STALE)
    assert quality.value in decision.message


def test_newest_window_too_old_holds_as_stale() -> None:
    cfg = PolicyConfig()
    ctl = Controller(JobSpec(1, 8, total_samples=1e9), cfg)
    t_s = CURVES.feed(ctl, [4], per_degree=3)
    fresh = ctl.decide(t_s, Progress(4))
    stale = ctl.decide(t_s + cfg.stale_after_s + 1, Progress(4))
    assert fresh.reason is not Reason.HOLD_STALE
    assert stale.reason is Reason.HOLD_STALE


@pytest.mark.parametrize(
    ("window", "fitted"),
    [
        (Window(0, 30, 4, float("nan"), 500, 15000, 0), False),  # NaN throughput
        (Window(0, 30, 4, 100, -5, -150, 3000), False),  # negative power
        (Window(0, 30, 4, 100, 500, 15000, 3000, quality=Quality.WARMUP), False),
        (Window(0, 30, 0, 100, 500, 15000, 3000), False),  # no replica cannot have throughput
        (Window(0, 30, -2, 100, 500, 15000, 3000), False),  # nor a negative count
        (Window(0, 30, 4, 100, 500, 15000, 3000), True),
    ],
)
def test_only_valid_ok_windows_enter_the_fit(window: Window, fitted: bool) -> None:
    ctl = Controller(JobSpec(1, 8))
    ctl.observe(window)
    assert bool(ctl.predictions()) is fitted


def test_windows_starting_inside_the_warmup_after_a_resize_are_discarded() -> None:
    cfg = PolicyConfig(warmup_s=60, resize_downtime_s=30)
    ctl = Controller(JobSpec(1, 8, total_samples=1e9), cfg)
    t_s = CURVES.feed(ctl, [4], per_degree=3)
    ctl.note_resize(6, t_s)
    during = ctl.decide(t_s + 10, Progress(6))
    ctl.observe(CURVES.window(6, t_s))  # starts at the resize: not steady state
    ctl.observe(CURVES.window(6, t_s + 30))  # still inside the 60 s warm-up
    after_two = ctl.decide(t_s + 60, Progress(6))
    assert during.reason is Reason.HOLD_WARMUP
    assert after_two.reason is Reason.HOLD_WARMUP
    assert not any(p.measured for p in after_two.predictions if p.replicas == 6)
    ctl.observe(CURVES.window(6, t_s + 60))
    ctl.observe(CURVES.window(6, t_s + 90))
    assert ctl.decide(t_s + 120, Progress(6)).reason is not Reason.HOLD_WARMUP


@pytest.mark.parametrize(("current", "expected"), [(12, 8), (0, 1)])
def test_current_degree_outside_bounds_is_moved_inside_first(current: int, expected: int) -> None:
    decision = Controller(JobSpec(1, 8)).decide(0.0, Progress(current))
    assert (decision.replicas, decision.reason) == (expected, Reason.RESIZE_BOUNDS)


def _two_measured(remaining_samples: float) -> tuple[Controller, float, int, int]:
    """At the energy optimum's neighbour, with both degrees measured precisely."""
    degrees = range(1, 13)
    best = CURVES.best(Objective.parse("energy"), degrees)
    current = best + 1
    total = 1e6 + remaining_samples
    ctl = Controller(JobSpec(best, current, total_samples=total), PolicyConfig(explore=False))
    t_s = CURVES.feed(ctl, [best, current], per_degree=40, cv=0.01)
    return ctl, t_s, best, current


@pytest.mark.parametrize(
    ("remaining_samples", "resize"), [(5e8, True), (2e4, False)]
)
def test_payback_resizes_only_when_the_remaining_work_repays_the_resize(
    remaining_samples: float, resize: bool
) -> None:
    ctl, t_s, best, current = _two_measured(remaining_samples)
    decision = ctl.decide(t_s, Progress(current, samples_done=1e6))
    saving = CURVES.power_w(current) / CURVES.throughput_sps(current) / (
        CURVES.power_w(best) / CURVES.throughput_sps(best)
    )
    assert 1.0 < saving < 1.05  # a small per-sample saving: only a long job repays it
    assert decision.resize is resize
    if resize:
        assert (decision.replicas, decision.reason) == (best, Reason.RESIZE_BETTER)
    else:
        assert decision.reason in (Reason.HOLD_NOT_WORTH_IT, Reason.HOLD_NEAR_END)
        assert "resize cost" in decision.message


@pytest.mark.parametrize(("total_samples", "explores"), [(1e9, True), (1.05e4, False)])
def test_exploration_happens_when_the_remaining_work_can_repay_it(
    total_samples: float, explores: bool
) -> None:
    ctl = Controller(JobSpec(1, 12, total_samples=total_samples))
    t_s = CURVES.feed(ctl, [4], per_degree=3)
    decision = ctl.decide(t_s, Progress(4, samples_done=1e4))
    assert (decision.reason is Reason.EXPLORE) is explores
    if explores:
        assert decision.replicas != 4
        assert not decision.predicted or not decision.predicted.measured


def test_exploration_stops_once_the_neighbourhood_is_measured_and_understood() -> None:
    ctl = Controller(JobSpec(1, 12, total_samples=1e9))
    t_s = CURVES.feed(ctl, list(range(1, 13)), per_degree=3)
    best = CURVES.best(Objective.parse("energy"), range(1, 13))
    t_s = CURVES.feed(ctl, [best], per_degree=3, start_s=t_s)
    decision = ctl.decide(t_s, Progress(best))
    assert (decision.replicas, decision.reason) == (best, Reason.HOLD_OPTIMAL)


def test_decisions_never_leave_bounds_on_random_histories() -> None:
    """Property test: random bounds, curves, noise, qualities and current degrees (seeded)."""
    rng = np.random.default_rng(2024)
    qualities = list(Quality)
    for _case in range(60):
        lo = int(rng.integers(1, 6))
        hi = lo + int(rng.integers(0, 10))
        curves = TrueCurves(
            lam=float(rng.uniform(10, 1000)), sigma=float(rng.uniform(0, 0.2)),
            kappa=float(rng.uniform(0, 0.02)), static_w=float(rng.uniform(0, 2000)),
            per_worker_w=float(rng.uniform(1, 500)),
        )
        spec = JobSpec(
            lo, hi, Objective.parse(str(rng.choice(["energy", "time", "balanced:0.3"]))),
            total_samples=float(rng.choice([1e4, 1e7, 1e9])),
            deadline_s=float(rng.uniform(100, 1e5)) if rng.random() < 0.3 else None,
            energy_budget_j=float(rng.uniform(1e4, 1e8)) if rng.random() < 0.3 else None,
        )
        ctl = Controller(spec)
        t_s, done = 0.0, 0.0
        current = int(rng.integers(max(1, lo - 2), hi + 3))
        for _step in range(int(rng.integers(1, 25))):
            odd = rng.random() < 0.2
            quality = qualities[int(rng.integers(0, len(qualities)))] if odd else Quality.OK
            ctl.observe(curves.window(current, t_s, cv=0.1, rng=rng, quality=quality))
            t_s += INTERVAL_S
            done += curves.throughput_sps(current) * INTERVAL_S
            decision = ctl.decide(t_s, Progress(current, samples_done=done))
            assert lo <= decision.replicas <= hi
            assert decision.reason in Reason and decision.message
            if decision.predictions:
                assert [p.replicas for p in decision.predictions] == list(range(lo, hi + 1))
            if decision.resize:
                ctl.note_resize(decision.replicas, t_s)
                current = decision.replicas
