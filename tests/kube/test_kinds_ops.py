"""Issue 11 items 3, 4 and 7: Kueue (a pending scale-up holds, one Event, backs off; a
non-elastic Kueue Job is recommend-only), placement from the pods' nodeName (one pod list per
namespace per pass), and the one conflict policy of every write (``retry_on_conflict``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kinds_helpers import batch_job, harness, opt_in

from autoscaler.actuators.kube_scale import ScaleConflictError, ScaleError
from autoscaler.kube.client import MERGE_PATCH, KubeClient
from autoscaler.kube.kinds import JOB, PYTORCHJOB, ObjectRef
from autoscaler.kube.resize import KubePatchEndpoint, KubeScaleEndpoint
from autoscaler.testing.fakeapi import PODS, FakeKubeApi

ENFORCE = {"mode": "enforce", "total_samples": "1e9", "max_replicas": "8"}
KUEUE = {"kueue.x-k8s.io/queue-name": "team-a"}
ELASTIC = {"kueue.x-k8s.io/elastic-job": "true"}


def rec(h: Any, name: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(h.annotation(JOB, name, "recommendation") or "{}")
    return out


def parallelism(h: Any, name: str) -> int:
    return int(h.obj(JOB, name)["spec"]["parallelism"])


def test_a_kueue_job_without_the_elastic_annotation_is_recommend_only() -> None:
    api, h = harness()
    api.add(JOB, batch_job("j", 2, opt_in(**ENFORCE), labels=KUEUE))
    for _ in range(10):
        h.step()
    assert parallelism(h, "j") == 2
    r = rec(h, "j")
    if r["replicas"] != 2:
        assert r["applied"] is False and "not an elastic job" in r["problem"]


def test_a_pending_kueue_scale_up_holds_once_and_backs_off_without_a_loop() -> None:
    """Kueue does not admit the scale-up: status.ready stays at 2. After the configured number
    of intervals the job holds with a reason, one ResizePending Event, and no more writes."""
    api, h = harness(kueue_pending_intervals=2)
    api.add(JOB, batch_job("j", 2, {**opt_in(**ENFORCE, min_replicas="2"), **ELASTIC},
                           labels=KUEUE))
    h.until(lambda: parallelism(h, "j") > 2)
    target = parallelism(h, "j")
    writes_before = api.count("PATCH", "/jobs/j")
    for _ in range(12):
        h.step()
    [event] = h.events("ResizePending")
    assert event["type"] == "Warning" and f"scale-up to {target}" in event["message"]
    assert parallelism(h, "j") == target  # left queued in Kueue: no fight, no revert
    r = rec(h, "j")
    assert r["problem"] is None or "waiting for Kueue" in r["problem"]
    resizes = api.count("PATCH", "/jobs/j") - writes_before
    assert h.events("Resized") and len(h.events("Resized")) == 1, "no second resize"
    assert resizes <= 12  # annotation patches only (one per pass at most)


def test_an_admitted_kueue_scale_up_is_not_held() -> None:
    api, h = harness(kueue_pending_intervals=2)
    api.add(JOB, batch_job("j", 2, {**opt_in(**ENFORCE, min_replicas="2"), **ELASTIC},
                           labels=KUEUE))
    client = KubeClient(api.transport())
    for _ in range(15):  # Kueue admits every request at once: the pods are ready
        ready = {"status": {"ready": parallelism(h, "j")}}
        client.request("PATCH", JOB.object_path("ml", "j"), tag="kueue", body=ready,
                       content_type=MERGE_PATCH)
        h.step()
    assert len(h.events("Resized")) >= 1
    assert h.events("ResizePending") == []


def pod(name: str, node: str, labels: dict[str, str], phase: str = "Running") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ml", "labels": labels},
            "spec": {"nodeName": node, "containers": []}, "status": {"phase": phase}}


def test_placement_counts_the_nodes_of_the_jobs_pods_with_one_list_per_namespace() -> None:
    api, h = harness(placement=True)
    seen: list[Any] = []
    original = h.measurer.measure

    def spy(targets: Any, start_s: float, end_s: float) -> Any:
        seen.append({t.name: t.nodes for t in targets})
        return original(targets, start_s, end_s)

    h.measurer.measure = spy  # type: ignore[method-assign]
    for name in ("a", "b"):
        api.add(JOB, batch_job(name, 4, opt_in()))
    label = "batch.kubernetes.io/job-name"
    for i, node in enumerate(["n1", "n1", "n2", "n3"]):
        api.add(PODS, pod(f"a-{i}", node, {label: "a"}))
    api.add(PODS, pod("a-x", "n9", {label: "a"}, phase="Pending"))  # not running: not counted
    api.add(PODS, pod("b-0", "n4", {label: "b"}))
    api.add(PODS, pod("c-0", "n5", {label: "c"}))
    api.log.clear()
    h.step()
    assert seen[-1] == {"a": 3, "b": 1}
    assert api.count("GET", "/pods") == 1  # one namespace, one list, for both jobs


def test_hostile_pods_are_ignored_and_a_pytorchjobs_master_counts() -> None:
    """A pod without labels, with labels that are no mapping, or a nodeName that is no short
    string is skipped; the PyTorchJob's master (rank 0) spans a node like its workers."""
    api, h = harness(placement=True)
    seen: list[Any] = []
    original = h.measurer.measure

    def spy(targets: Any, start_s: float, end_s: float) -> Any:
        seen.append({t.name: t.nodes for t in targets})
        return original(targets, start_s, end_s)

    h.measurer.measure = spy  # type: ignore[method-assign]
    from kube_helpers import pytorchjob
    api.add(PYTORCHJOB, pytorchjob("p", 2, opt_in()))
    label = {"training.kubeflow.org/job-name": "p"}
    api.add(PODS, pod("p-master-0", "n0", label))
    api.add(PODS, pod("p-worker-0", "n1", label))
    api.add(PODS, pod("p-worker-1", "x" * 300, label))  # no node name a node can have
    weird = pod("p-worker-2", "n7", label)
    weird["metadata"]["labels"] = ["not", "a", "mapping"]
    api.add(PODS, weird)
    api.add(PODS, {"metadata": {"name": "bare", "namespace": "ml"},
                   "spec": {"nodeName": 5}, "status": {"phase": "Running"}})
    report = h.step()
    assert report.errors == 0 and seen[-1] == {"p": 2}


def test_the_scale_endpoint_rereads_once_on_a_conflict() -> None:
    api = FakeKubeApi()
    client = KubeClient(api.transport())
    from kube_helpers import pytorchjob
    ref = ObjectRef.of(PYTORCHJOB, api.add(PYTORCHJOB, pytorchjob("p", 3, opt_in())))
    api.fail_next("PATCH", "/scale", 409)
    assert KubeScaleEndpoint(client, ref).write_replicas(5) == 5
    assert api.count("PATCH", "/scale") == 2 and api.count("GET", "/scale") == 1
    api.fail_next("PATCH", "/scale", 409, times=2)
    with pytest.raises(ScaleConflictError) as e:
        KubeScaleEndpoint(client, ref).write_replicas(6)
    assert isinstance(e.value, ScaleError) and e.value.temporary


def test_a_patch_endpoint_retries_on_a_fresh_object_when_its_guard_broke() -> None:
    """Someone changed parallelism between the watch and our write: the guarded patch is
    refused (422), re-read shows the guard broke, one retry on the fresh object lands."""
    api, _ = harness()
    client = KubeClient(api.transport())
    seen = api.add(JOB, batch_job("j", 2, opt_in()))
    ref = ObjectRef.of(JOB, seen)
    client.json_patch(ref, [{"op": "replace", "path": "/spec/parallelism", "value": 3},
                            {"op": "replace", "path": "/spec/completions", "value": 3}])
    endpoint = KubePatchEndpoint(client, ref, seen)
    assert endpoint.write_replicas(5) == 5
    spec = api.obj(JOB, "ml", "j")["spec"]
    assert spec["parallelism"] == spec["completions"] == 5
