"""The operator's pass over the in-memory API server: recommendations, resizes through /scale,
Events, invalid annotations, conflicts, API errors, restarts, and the request budget."""

from __future__ import annotations

import json

import pytest
from kube_helpers import PYTORCHJOB, STATEFULSET, Harness, P, opt_in, pytorchjob, statefulset

from autoscaler.kube.events import rfc3339
from autoscaler.kube.kinds import ObjectRef, dig
from autoscaler.kube.state import decode
from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.runtime.operator.table import TableMeasurer
from autoscaler.testing.fakeapi import FakeKubeApi

WORKERS = "spec.pytorchReplicaSpecs.Worker.replicas"


def workers(h: Harness, name: str) -> int:
    return int(dig(h.obj(PYTORCHJOB, name), WORKERS))


def recommendation(h: Harness, kind: object, name: str) -> dict[str, object]:
    text = h.annotation(kind, name, "recommendation")  # type: ignore[arg-type]
    assert text is not None
    value: dict[str, object] = json.loads(text)
    return value


def test_dry_run_writes_the_exact_recommendation_fields_and_never_scales(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    harness.cache.relist()
    for _ in range(12):
        harness.step()
    rec = recommendation(harness, PYTORCHJOB, "a")
    assert set(rec) == {"replicas", "current", "reason", "objective", "predicted", "saving_pct",
                        "feasible", "applied", "problem", "updated"}
    assert rec["applied"] is False and rec["problem"] is None  # dry-run: advice, not a fault
    assert rec["current"] == 2 and rec["objective"] == "energy"
    assert isinstance(rec["predicted"], dict)
    assert set(rec["predicted"]) == {"energy_per_sample_j", "throughput_sps", "power_w"}
    assert str(rec["updated"]).endswith("Z")
    assert rec["replicas"] != 2  # the table's optimum is not 2: a recommendation exists ...
    assert api.count("PATCH", "/scale") == 0  # ... and dry-run does not act on it
    assert workers(harness, "a") == 2
    assert harness.events("Resized") == []
    assert harness.events("Recommendation")


def test_enforce_resizes_a_pytorchjob_through_scale_and_says_so(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in(mode="enforce")))
    harness.cache.relist()
    harness.until(lambda: api.count("PATCH", "/scale") > 0)
    rec = recommendation(harness, PYTORCHJOB, "a")
    assert workers(harness, "a") == rec["replicas"] != 2
    [resized] = harness.events("Resized")
    assert resized["message"].startswith(f"resized 2 -> {rec['replicas']} replicas")
    assert resized["type"] == "Normal"
    state = decode(harness.annotation(PYTORCHJOB, "a", "state") or "")
    assert state.session is not None
    assert state.session["resize"]["to"] == rec["replicas"]  # written before the resize, same patch


def test_enforce_resizes_a_statefulset_within_its_annotated_bounds(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(STATEFULSET, statefulset("s", 8, opt_in(mode="enforce", min_replicas="2",
                                                    max_replicas="8")))
    harness.cache.relist()
    harness.until(lambda: api.count("PATCH", "/scale") > 0)
    replicas = api.obj(STATEFULSET, "ml", "s")["spec"]["replicas"]
    assert 2 <= replicas < 8


def test_global_dry_run_overrides_enforce_annotations(api: FakeKubeApi,
                                                      measurer: TableMeasurer) -> None:
    settings = OperatorSettings(interval_s=30, identity="t", metrics_port=0, dry_run=True)
    h = Harness(api, settings, measurer)
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in(mode="enforce")))
    for _ in range(12):
        h.step()
    assert recommendation(h, PYTORCHJOB, "a")["replicas"] != 2
    assert api.count("PATCH", "/scale") == 0


def test_bounds_outside_the_current_size_are_enforced_first(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 8, opt_in(mode="enforce", max_replicas="5")))
    harness.step()
    assert workers(harness, "a") == 5
    assert recommendation(harness, PYTORCHJOB, "a")["reason"] == "ResizeBounds"


def test_invalid_annotation_warns_once_names_the_key_and_leaves_the_job_alone(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("bad", 2, opt_in(mode="enforce", energy_budget="5 parsecs")))
    api.add(PYTORCHJOB, pytorchjob("good", 2, opt_in(mode="enforce")))
    before = api.obj(PYTORCHJOB, "ml", "bad")
    for _ in range(12):
        harness.step()
    [warning] = harness.events("InvalidAnnotation")
    assert warning["type"] == "Warning"
    assert warning["involvedObject"]["name"] == "bad"
    assert warning["message"].startswith(P + "energy-budget: ")
    assert api.obj(PYTORCHJOB, "ml", "bad") == before  # not even a recommendation
    assert workers(harness, "good") != 2  # the other job was served all along


def test_fixing_an_invalid_annotation_brings_the_job_back(
        api: FakeKubeApi, harness: Harness) -> None:
    created = api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in(objective="greenest")))
    harness.step()
    assert harness.annotation(PYTORCHJOB, "a", "recommendation") is None
    harness.client.patch_annotations(ObjectRef.of(PYTORCHJOB, created), {P + "objective": "time"},
                                     None)
    harness.step()
    assert recommendation(harness, PYTORCHJOB, "a")["objective"] == "time"


def test_a_conflicting_patch_is_reread_and_retried_once(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    harness.step()
    api.fail_next("PATCH", "/pytorchjobs/a", 409)
    gets = api.count("GET", "/pytorchjobs/a")
    report = harness.step()
    assert report.errors == 0
    assert api.count("GET", "/pytorchjobs/a") == gets + 1
    assert recommendation(harness, PYTORCHJOB, "a")["updated"] == rfc3339(harness.now_s)


def test_an_owner_edit_during_a_pass_wins_over_the_stale_decision(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 8, opt_in(mode="enforce")))
    harness.step()
    # The owner narrows the bounds after the cache saw the object: our patch gets a 409.
    ref = ObjectRef.of(PYTORCHJOB, api.obj(PYTORCHJOB, "ml", "a"))
    harness.client.patch_annotations(ref, {P + "max-replicas": "3"}, None)
    written = harness.annotation(PYTORCHJOB, "a", "recommendation")
    harness.now_s += 30
    report = harness.core.run_pass(harness.now_s)  # no watch in between: the old object
    assert report.due == 1 and report.errors == 0
    assert harness.annotation(PYTORCHJOB, "a", "recommendation") == written  # dropped
    assert workers(harness, "a") == 8
    harness.step()
    assert workers(harness, "a") == 3  # the next pass honours the owner's new bound


def test_api_errors_fail_one_job_and_the_next_pass_recovers(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    api.add(PYTORCHJOB, pytorchjob("b", 2, opt_in()))
    harness.step()
    api.fail_next("PATCH", "/pytorchjobs/a", 503)
    report = harness.step(errors_ok=True)
    assert (report.due, report.errors) == (2, 1)
    assert harness.core.metrics.api_errors.labels("KubeTemporaryError")._value.get() == 1
    assert harness.step().errors == 0


def test_a_failed_resize_is_rolled_back_so_the_model_does_not_believe_it(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 8, opt_in(mode="enforce", max_replicas="5")))
    api.fail_next("PATCH", "/scale", 403)
    report = harness.step(errors_ok=True)
    assert report.errors == 1 and workers(harness, "a") == 8
    assert harness.events("Resized") == []
    job = next(iter(harness.core.jobs.values()))
    assert job.session.last_resize[1] is None
    # refused for good (403): the state and recommendation are corrected at once ...
    written = decode(harness.annotation(PYTORCHJOB, "a", "state") or "").session
    assert written is not None and written["resize"]["to"] is None
    assert recommendation(harness, PYTORCHJOB, "a")["applied"] is False
    harness.step()  # ... and the next interval tries again (the bound still applies)
    assert workers(harness, "a") == 5


def test_no_measurements_hold_and_say_why(api: FakeKubeApi, settings: OperatorSettings) -> None:
    h = Harness(api, settings, TableMeasurer({}))  # knows no job
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in(mode="enforce")))
    assert h.step().errors == 0
    assert h.events("MetricsStale") == []  # one miss is a source's normal first pass
    for _ in range(2):
        assert h.step().errors == 0
    assert recommendation(h, PYTORCHJOB, "a")["reason"] == "HoldNoData"
    [stale] = h.events("MetricsStale")
    assert "no measurements" in stale["message"] and stale["type"] == "Warning"
    assert api.count("PATCH", "/scale") == 0


def test_a_budget_that_cannot_cover_the_rest_raises_budget_at_risk_once(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 4, opt_in(energy_budget="1 kJ", total_samples="1e6")))
    for _ in range(6):
        harness.step()
    [risk] = harness.events("BudgetAtRisk")
    assert risk["type"] == "Warning" and "budget left" in risk["message"]


def test_a_restart_restores_what_was_learned_and_keeps_each_jobs_cadence(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in(mode="enforce")))
    harness.until(lambda: api.count("PATCH", "/scale") > 0)
    learned = next(iter(harness.core.jobs.values())).session.to_state()["engine"]
    scales = api.count("PATCH", "/scale")

    harness.start()  # a new operator process: empty memory, same cluster
    assert harness.step(seconds=1).due == 0  # not decided earlier than the old one would have
    [job] = harness.core.jobs.values()
    assert job.session.to_state()["engine"]["windows"] == learned["windows"]
    assert harness.step(seconds=29).due == 1
    assert api.count("PATCH", "/scale") == scales  # inside the resize's warm-up: no resize


def _converge(h: Harness) -> None:
    quiet = 0
    for _ in range(60):
        quiet = quiet + 1 if h.step().resized == 0 else 0
        if quiet >= 6:
            return
    raise AssertionError("never converged")


def test_a_converged_job_is_not_resized_after_a_restart_but_would_be_without_its_state(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in(mode="enforce")))
    api.add(STATEFULSET, statefulset("s", 8, opt_in(mode="enforce")))
    _converge(harness)
    scales = api.count("PATCH", "/scale")
    harness.start()
    for _ in range(6):
        harness.step()
    assert api.count("PATCH", "/scale") == scales

    for kind, name in ((PYTORCHJOB, "a"), (STATEFULSET, "s")):  # what the state is worth:
        ref = ObjectRef.of(kind, api.obj(kind, "ml", name))
        harness.client.patch_annotations(ref, {P + "state": None}, None)
    harness.start()
    for _ in range(6):
        harness.step()
    assert api.count("PATCH", "/scale") > scales  # learning afresh means exploring again


def test_an_unreadable_state_annotation_means_learning_afresh(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, {**opt_in(), P + "state": "v9:future"}))
    report = harness.step()
    assert report.errors == 0 and report.due == 1
    assert recommendation(harness, PYTORCHJOB, "a")["current"] == 2
    # the next checkpoint replaces the unreadable value with what this operator learned
    harness.until(lambda: (harness.annotation(PYTORCHJOB, "a", "state") or "").startswith("v2:"))
    assert decode(harness.annotation(PYTORCHJOB, "a", "state") or "").session is not None


def test_each_job_costs_one_patch_and_at_most_two_requests_per_interval(
        api: FakeKubeApi, harness: Harness) -> None:
    jobs, passes = 20, 20
    for i in range(jobs):
        api.add(PYTORCHJOB, pytorchjob(f"j{i}", 2 + i % 6, opt_in(mode="enforce")))
    before = dict(harness.client.requests)
    resized = sum(harness.step().resized for _ in range(passes))
    spent = {k: v - before.get(k, 0) for k, v in harness.client.requests.items()}
    per_job = {k: v / (jobs * passes) for k, v in spent.items()
               if not k.startswith(("WATCH", "GET list"))}  # watches are per kind, not per job
    assert resized > 0  # the period includes exploring and resizing, not only holding
    assert per_job["PATCH patch pytorchjobs"] == 1.0
    assert sum(per_job.values()) <= 2.0, spent


def test_jobs_are_served_once_per_interval_not_once_per_tick(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    assert harness.step().due == 1
    assert harness.step(seconds=1).due == 0
    assert harness.step(seconds=29).due == 1


def test_metrics_expose_replicas_energy_and_decision_time_with_sources(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in(energy_budget="1 MWh")))
    for _ in range(4):
        harness.step()
    text = harness.metrics.exposition().decode()
    for name in ("energy_autoscaler_current_replicas{kind=\"PyTorchJob\",name=\"a\"",
                 "energy_autoscaler_recommended_replicas{",
                 "energy_autoscaler_measured_energy_per_sample_joules{",
                 "energy_autoscaler_energy_used_joules{",
                 "energy_autoscaler_energy_budget_left_joules{",
                 "energy_autoscaler_decision_seconds_count 4.0"):
        assert name in text, name
    assert 'source="table"' in text


def test_a_deleted_job_is_forgotten_with_its_metrics(api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    harness.step()
    harness.client.request("DELETE", PYTORCHJOB.object_path("ml", "a"), tag="delete")
    harness.step()
    assert harness.core.jobs == {}
    assert 'name="a"' not in harness.metrics.exposition().decode()


def test_a_cost_job_gets_a_recommendation_priced_per_sample(
        api: FakeKubeApi, harness: Harness) -> None:
    """Issue 12: ``objective: cost`` with its prices is served, and the recommendation says
    what a sample costs at the recommended degree (and no carbon figure: none was given)."""
    api.add(PYTORCHJOB, pytorchjob("c", 2, opt_in(objective="cost", price_per_kwh="0.2",
                                                  price_per_worker_hour="2.5",
                                                  max_power="10 kW")))
    api.add(PYTORCHJOB, pytorchjob("g", 2, opt_in(objective="carbon",
                                                  carbon_g_per_kwh="350")))
    harness.cache.relist()
    for _ in range(12):
        harness.step()
    assert harness.events("InvalidAnnotation") == []
    rec = recommendation(harness, PYTORCHJOB, "c")
    assert rec["objective"] == "cost" and rec["feasible"] is True
    predicted = rec["predicted"]
    assert isinstance(predicted, dict)
    assert "carbon_g_per_sample" not in predicted
    n, x, j = rec["replicas"], predicted["throughput_sps"], predicted["energy_per_sample_j"]
    assert isinstance(n, int) and isinstance(x, float) and isinstance(j, float)
    expected = j / 3.6e6 * 0.2 + n / x / 3600 * 2.5
    assert predicted["cost_per_sample"] == pytest.approx(expected, rel=1e-4)
    carbon = recommendation(harness, PYTORCHJOB, "g")["predicted"]
    assert isinstance(carbon, dict) and "cost_per_sample" not in carbon
    assert carbon["carbon_g_per_sample"] == pytest.approx(
        carbon["energy_per_sample_j"] / 3.6e6 * 350, rel=1e-4)


def test_a_cost_job_without_a_price_is_warned_and_left_alone(
        api: FakeKubeApi, harness: Harness) -> None:
    api.add(PYTORCHJOB, pytorchjob("c", 2, opt_in(mode="enforce", objective="cost")))
    harness.cache.relist()
    for _ in range(3):
        harness.step()
    [warning] = harness.events("InvalidAnnotation")
    assert warning["message"].startswith(P + "objective: cost needs " + P + "price-per-kwh")
    assert harness.annotation(PYTORCHJOB, "c", "recommendation") is None
    assert api.count("PATCH", "/scale") == 0
