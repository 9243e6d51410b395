"""The job session and its ledger: one rule per window quality, the budget epoch, resize notes
and the checkpoint. Tables, no mocks."""

from __future__ import annotations

import math
from typing import Any

import pytest

from autoscaler.decision import JobSpec, PolicyConfig, Quality, Reason, Window
from autoscaler.decision.ledger import Ledger
from autoscaler.decision.session import MAX_DOWNTIMES, JobSession


def window(end_s: float, *, quality: Quality = Quality.OK, samples: float = 100.0,
           energy_j: float = 50.0, source: str = "nvml", replicas: int = 2) -> Window:
    return Window(end_s - 10.0, end_s, replicas, samples / 10.0, energy_j / 10.0, energy_j,
                  samples, source, quality)


@pytest.mark.parametrize(("quality", "samples", "energy_j", "counted"), [
    (Quality.OK, 100.0, 50.0, (100.0, 50.0)),
    (Quality.WARMUP, 100.0, 50.0, (100.0, 50.0)),
    (Quality.MISSING, 100.0, 50.0, (100.0, 50.0)),
    (Quality.STALE, 100.0, 50.0, (100.0, 50.0)),
    (Quality.INVALID, 100.0, 50.0, (0.0, 0.0)),
    (Quality.OK, math.nan, 50.0, (0.0, 50.0)),
    (Quality.OK, 100.0, -5.0, (100.0, 0.0)),
    (Quality.OK, math.inf, math.inf, (0.0, 0.0)),
])
def test_one_rule_per_window_quality(quality: Quality, samples: float, energy_j: float,
                                     counted: tuple[float, float]) -> None:
    ledger = Ledger(budget_j=1e6)
    assert ledger.count(window(10.0, quality=quality, samples=samples, energy_j=energy_j))
    assert (ledger.samples, ledger.total_energy_j) == counted
    assert ledger.budget_left_j() == 1e6 - counted[1]


def test_a_window_is_counted_once_and_joules_are_kept_per_source() -> None:
    ledger = Ledger()
    assert ledger.count(window(10.0, source="nvml"))
    assert not ledger.count(window(10.0, source="nvml"))  # re-delivered
    assert not ledger.count(window(5.0, source="nvml"))  # older than the newest counted
    assert ledger.count(window(20.0, source="estimate(cpu-time)", energy_j=7.0))
    assert ledger.energy_j == {"nvml": 50.0, "estimate(cpu-time)": 7.0}
    assert ledger.samples == 200.0


def test_a_new_budget_counts_from_when_it_was_set() -> None:
    session = JobSession(JobSpec(1, 8, energy_budget_j=1000.0, total_samples=1e6))
    session.observe(window(10.0))
    assert session.ledger.budget_left_j() == 950.0
    session.update_spec(JobSpec(1, 8, energy_budget_j=1000.0, total_samples=1e6))
    assert session.ledger.budget_left_j() == 950.0  # the same budget: the epoch goes on
    session.update_spec(JobSpec(1, 8, energy_budget_j=400.0, total_samples=1e6))
    assert session.ledger.budget_left_j() == 400.0  # a new one starts at zero
    assert session.ledger.total_energy_j == 50.0  # ... but no joule is forgotten
    session.observe(window(20.0))
    assert session.progress(2).energy_used_j == 50.0


def test_a_decision_carries_the_budget_standing_and_untrusted_evidence() -> None:
    session = JobSession(JobSpec(1, 8, energy_budget_j=120.0, total_samples=1e6))
    session.observe(window(10.0))
    session.observe(window(20.0))
    session.observe(window(30.0, quality=Quality.STALE))
    standing = session.decide(30.0, 2)
    assert standing.decision.reason is Reason.HOLD_STALE
    assert standing.untrusted == "stale"
    assert standing.budget_left_j == pytest.approx(-30.0)
    assert standing.budget_at_risk and standing.samples_done == 300.0


def test_a_planned_resize_is_known_to_the_engine_only_once_confirmed() -> None:
    session = JobSession(JobSpec(1, 8))
    previous = session.plan_resize(4, 100.0)
    assert session.last_resize == (100.0, 4) and previous == (None, None)
    assert session.to_state()["engine"]["last_resize_s"] is None  # not told yet
    session.undo_resize(previous)
    assert session.last_resize == (None, None)
    session.plan_resize(4, 200.0)
    session.confirm_resize()
    assert session.to_state()["engine"]["last_resize_s"] == 200.0


def test_measured_downtime_replaces_the_configured_guess() -> None:
    session = JobSession(JobSpec(1, 8), PolicyConfig(resize_downtime_s=30.0))
    assert session.controller is not None
    assert session.controller.config.resize_downtime_s == 30.0
    for seconds in (8.0, 100.0, 9.0):
        session.note_downtime(seconds)
    assert session.controller.config.resize_downtime_s == 9.0  # the median: one outlier
    for _ in range(MAX_DOWNTIMES):
        session.note_downtime(4.0)
    assert session.measured_downtime_s == 4.0  # only the last few count
    session.note_downtime(math.nan)
    assert session.measured_downtime_s == 4.0


def test_the_checkpoint_round_trips() -> None:
    spec = JobSpec(1, 8, energy_budget_j=1e6)
    session = JobSession(spec)
    for i in range(1, 4):
        session.observe(window(10.0 * i))
    session.note_downtime(12.0)
    session.note_resize(3, 35.0)
    restored = JobSession.from_state(spec, session.to_state())
    assert restored.to_state() == session.to_state()
    assert restored.controller is not None
    assert restored.controller.config.resize_downtime_s == 12.0
    assert not restored.observe(window(30.0))  # de-duplication survives a restart


def test_a_different_budget_on_restore_starts_a_new_epoch() -> None:
    session = JobSession(JobSpec(1, 8, energy_budget_j=1e6))
    session.observe(window(10.0))
    restored = JobSession.from_state(JobSpec(1, 8, energy_budget_j=500.0), session.to_state())
    assert restored.ledger.budget_left_j() == 500.0
    assert restored.ledger.total_energy_j == 50.0


@pytest.mark.parametrize("state", [
    None, [], {"version": 2}, {"version": 1, "ledger": []},
    {"version": 1, "ledger": {"samples": "many"}},
    {"version": 1, "ledger": {"samples": math.inf}},
    {"version": 1, "ledger": {"energy_j": {f"s{i}": 1.0 for i in range(100)}}},
    {"version": 1, "resize": {"to": 10**6}},
    {"version": 1, "resize": {"downtimes_s": [1.0] * 100}},
    {"version": 1, "resize": {"at_s": True}},
    {"version": 1, "engine": {"version": 7}},
])
def test_a_malformed_checkpoint_is_a_value_error(state: Any) -> None:
    with pytest.raises(ValueError):
        JobSession.from_state(JobSpec(1, 8), state)
