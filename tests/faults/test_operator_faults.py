"""Regression tests for the operator defects of issue 8: hostile state and bounds, a 404 /scale,
scale-to-zero, an API outage, repeated Warnings across leaders, and per-job fault isolation.
Each runs the real operator pass against the in-memory API server."""

from __future__ import annotations

import logging
import time

import pytest

from autoscaler.decision import JobSpec
from autoscaler.decision.types import MAX_REPLICAS
from autoscaler.kube.state import decode

from .operator_helpers import (
    PYTORCHJOB,
    STATEFULSET,
    FakeKubeApi,
    Harness,
    P,
    crafted_state,
    events_for,
    harness,
    opt_in,
    pytorchjob,
    recommendation,
    statefulset,
    workers,
)

HUGE = int("9" * 400)


def two_jobs(bad_annotations: dict[str, str], *, replicas: int = 2) -> Harness:
    """A bad job and a good one in the same namespace, one operator."""
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("bad", replicas, bad_annotations))
    api.add(PYTORCHJOB, pytorchjob("good", 2, opt_in()))
    return harness(api)


def assert_good_served(h: Harness) -> None:
    rec = recommendation(h, PYTORCHJOB, "good")
    assert rec is not None and rec["current"] == 2


# -- defect 1: crafted state ---------------------------------------------------------------------
CRAFTED = {
    "400-digit last_resize_s": crafted_state({"version": 1, "last_resize_s": HUGE}),
    "400-digit samples_done": crafted_state({"version": 1, "samples_done": HUGE}),
    "deep nesting": crafted_state(raw=b'{"version":1,"controller":' + b"[" * 100_000
                                  + b"]" * 100_000 + b"}"),
    "deep controller state": crafted_state({"version": 1, "controller": {
        "version": 1, "windows": [{"start_s": HUGE, "end_s": 1, "replicas": 1,
                                   "throughput_sps": 1, "power_w": 1, "energy_j": 1,
                                   "samples": 1}]}}),
    "huge window degree": crafted_state({"version": 1, "controller": {
        "version": 1, "windows": [{"start_s": 0.0, "end_s": 30.0, "replicas": 2_000_000_000,
                                   "throughput_sps": 1.0, "power_w": 1.0, "energy_j": 1.0,
                                   "samples": 1.0}]}}),
    "zlib bomb": crafted_state(raw=b'{"version":1,"budget_text":"' + b"a" * 12_000_000 + b'"}'),
    "wrong types": crafted_state({"version": 1, "events": [1, 2], "last_target": "6"}),
    "garbage base64": "v1:" + "QUJD" * 1000,
    "last_target above the cap": crafted_state({"version": 1, "last_target": 10**9,
                                                "last_resize_s": 1.0}),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_state_costs_its_job_only_and_is_replaced(name: str) -> None:
    h = two_jobs(opt_in(mode="enforce", state=CRAFTED[name]))
    report = h.step()  # before the fix: OverflowError / RecursionError / MemoryError escaped
    assert report.errors == 0
    assert_good_served(h)
    [warning] = events_for(h, "bad", "InvalidState")
    assert warning["type"] == "Warning" and warning["message"].startswith(P + "state:")
    assert recommendation(h, PYTORCHJOB, "bad") is not None  # learned afresh, still served
    decode(h.annotation(PYTORCHJOB, "bad", "state") or "")  # replaced by a readable one
    h.start()  # a standby taking over (or a restart) does not trip over it either
    h.step()
    assert len(events_for(h, "bad", "InvalidState")) == 1


def test_decode_refuses_a_zlib_bomb_without_inflating_it() -> None:
    bomb = crafted_state(raw=b"[" + b"0," * 10_000_000 + b"0]")  # 20 MB inflated
    started = time.perf_counter()
    with pytest.raises(ValueError, match="inflates to more than"):
        decode(bomb)
    assert time.perf_counter() - started < 2.0


# -- defect 2: bounds above the cap --------------------------------------------------------------
@pytest.mark.parametrize("value", ["30000000", "5000000000", "1e9", "-1", "4097", "9" * 5000])
def test_a_replica_bound_above_the_cap_is_refused_naming_the_key(value: str) -> None:
    h = two_jobs(opt_in(max_replicas=value))
    started = time.perf_counter()
    h.step()
    assert time.perf_counter() - started < 5.0  # before: minutes and gigabytes
    assert_good_served(h)
    [warning] = events_for(h, "bad", "InvalidAnnotation")
    assert warning["message"].startswith(P + "max-replicas: must be a whole number from 1 to "
                                         f"{MAX_REPLICAS}")
    assert recommendation(h, PYTORCHJOB, "bad") is None


def test_a_bound_with_spaces_is_still_a_number() -> None:
    h = two_jobs(opt_in(min_replicas="  3", max_replicas="4096"))
    h.step()
    assert events_for(h, "bad", "InvalidAnnotation") == []
    assert recommendation(h, PYTORCHJOB, "bad") is not None


def test_jobspec_refuses_a_span_above_the_cap() -> None:
    with pytest.raises(ValueError, match="max_replicas must be <= 4096"):
        JobSpec(1, 30_000_000)


def test_an_elastic_policy_above_the_cap_is_capped_not_fatal() -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("bad", 2, opt_in(), elastic=(1, 30_000_000)))
    h = harness(api)
    h.step()
    job = h.core.jobs["pytorchjobs.kubeflow.org/ml/bad"]
    assert job.session.spec.max_replicas == MAX_REPLICAS


def test_a_workload_above_the_cap_is_left_alone_with_a_warning() -> None:
    api = FakeKubeApi()
    api.add(STATEFULSET, statefulset("big", 100_000, opt_in(mode="enforce")))
    api.add(PYTORCHJOB, pytorchjob("good", 2, opt_in()))
    h = harness(api)
    h.step()
    assert_good_served(h)
    [warning] = events_for(h, "big", "InvalidAnnotation")
    assert "100000 replicas" in warning["message"]
    assert api.count("PATCH", "/scale") == 0


# -- defect 5: a /scale that answers 404 ---------------------------------------------------------
def test_a_404_scale_is_reported_once_not_claimed_and_backed_off() -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("a", 8, opt_in(mode="enforce", max_replicas="6")))
    api.fail_next("PATCH", "/scale", 404, times=1000)
    h = harness(api)
    for _ in range(20):  # 10 minutes
        h.step(errors_ok=True)
    assert workers(h, "a") == 8
    [warning] = h.events("ScaleFailed")
    assert warning["type"] == "Warning" and "NOT applied" in warning["message"]
    rec = recommendation(h, PYTORCHJOB, "a")
    assert rec is not None and rec["replicas"] == 6 and rec["current"] == 8
    assert rec["applied"] is False and "/scale refused" in str(rec["problem"])
    assert api.count("PATCH", "/scale") <= 5  # backing off: 30, 60, 120, 240 ... s
    h.start()  # a new leader does not repeat the Warning (its signature is in the state)
    h.step(errors_ok=True)
    assert len(h.events("ScaleFailed")) == 1


def test_a_scale_that_recovers_clears_the_problem() -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("a", 8, opt_in(mode="enforce", max_replicas="6")))
    api.fail_next("PATCH", "/scale", 404, times=1)
    h = harness(api)
    h.step(errors_ok=True)
    h.step()
    assert workers(h, "a") == 6
    rec = recommendation(h, PYTORCHJOB, "a")
    assert rec is not None and rec["applied"] is True and rec["problem"] is None


# -- defect 6: scale-to-zero ---------------------------------------------------------------------
def test_a_workload_scaled_to_zero_is_left_paused() -> None:
    api = FakeKubeApi()
    api.add(STATEFULSET, statefulset("s", 0, opt_in(mode="enforce", min_replicas="2",
                                                    max_replicas="8")))
    h = harness(api)
    for _ in range(5):
        h.step()
    assert api.obj(STATEFULSET, "ml", "s")["spec"]["replicas"] == 0
    assert api.count("PATCH", "/scale") == 0
    rec = recommendation(h, STATEFULSET, "s")
    assert rec is not None and rec["reason"] == "HoldPaused" and rec["replicas"] == 0


def test_a_running_workload_paused_by_its_owner_stays_paused() -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("a", 4, opt_in(mode="enforce")))
    h = harness(api)
    for _ in range(3):
        h.step()
    scaled = api.count("PATCH", "/scale")
    h.client.patch_scale(h.core.jobs["pytorchjobs.kubeflow.org/ml/a"].ref, 0)
    for _ in range(5):
        h.step()
    assert workers(h, "a") == 0 and api.count("PATCH", "/scale") == scaled + 1


# -- defect 10 (operator bits) -------------------------------------------------------------------
def test_invalid_annotation_is_not_repeated_by_a_new_leader() -> None:
    h = two_jobs(opt_in(max_replicas="lots"))
    h.step()
    h.start()  # leader change: fresh memory
    h.step()
    h.start()
    h.step()
    assert len(events_for(h, "bad", "InvalidAnnotation")) == 1


def test_a_deleted_state_is_rewritten_at_the_next_pass() -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    h = harness(api)
    h.step()
    assert h.annotation(PYTORCHJOB, "a", "state") is not None
    ref = h.core.jobs["pytorchjobs.kubeflow.org/ml/a"].ref
    h.client.patch_annotations(ref, {P + "state": None}, None)
    h.step()  # before: unwritten until checkpoint_every_s (300 s) later
    assert h.annotation(PYTORCHJOB, "a", "state") is not None


def test_a_manual_resize_in_enforce_mode_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("a", 4, opt_in(mode="enforce", min_replicas="1",
                                                   max_replicas="8")))
    h = harness(api)
    h.step()
    h.client.patch_scale(h.core.jobs["pytorchjobs.kubeflow.org/ml/a"].ref, 7)
    with caplog.at_level(logging.INFO):
        h.step()
    assert "replicas changed outside the operator from 4 to 7" in caplog.text


# -- per-job isolation and API faults ------------------------------------------------------------
def test_an_exception_deciding_one_job_costs_that_job_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from autoscaler.decision import Controller

    h = two_jobs(opt_in())
    real = Controller.decide

    def decide(self: Controller, now_s: float, progress: object) -> object:
        if self.spec.max_replicas == 8 and progress.current_replicas == 3:  # type: ignore[attr-defined]
            raise ZeroDivisionError("boom")
        return real(self, now_s, progress)  # type: ignore[arg-type]

    monkeypatch.setattr(Controller, "decide", decide)
    api = h.api
    api.add(PYTORCHJOB, pytorchjob("three", 3, opt_in()))
    h.cache.relist()
    for _ in range(3):
        h.step(errors_ok=True)
    assert_good_served(h)
    [warning] = events_for(h, "three", "JobFailed")
    assert "ZeroDivisionError: boom" in warning["message"]


def test_an_exception_reading_one_object_costs_that_job_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from autoscaler.runtime.operator import core as op

    h = two_jobs(opt_in())
    real = op.inputs_signature

    def signature(annotations: dict[str, str]) -> str:
        if annotations.get(P + "objective") == "time":
            raise RecursionError("maximum recursion depth exceeded")
        return real(annotations)

    monkeypatch.setattr(op, "inputs_signature", signature)
    h.api.add(PYTORCHJOB, pytorchjob("x", 2, opt_in(objective="time")))
    h.cache.relist()
    report = h.step(errors_ok=True)
    assert report.errors == 1
    assert_good_served(h)
    [warning] = events_for(h, "x", "JobFailed")
    assert "RecursionError" in warning["message"]


def test_an_api_outage_is_survived_and_nothing_is_claimed_during_it() -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("a", 8, opt_in(mode="enforce", max_replicas="5")))
    api.add(PYTORCHJOB, pytorchjob("b", 2, opt_in()))
    h = harness(api)
    h.step()
    assert workers(h, "a") == 5
    before = h.annotation(PYTORCHJOB, "a", "recommendation")
    api.down = 503
    for _ in range(6):  # 3 minutes without an API server: the cache keeps what it had
        h.now_s += 30
        report = h.core.run_pass(h.now_s)
        assert report.errors == report.due  # every write failed, none raised
    api.down = None
    assert h.annotation(PYTORCHJOB, "a", "recommendation") == before
    for _ in range(4):
        assert h.step().errors == 0
    for name in ("a", "b"):
        rec = recommendation(h, PYTORCHJOB, name)
        assert rec is not None and rec["updated"] == "2027-01-15T08:05:30Z"
    assert 1 <= workers(h, "a") <= 5
