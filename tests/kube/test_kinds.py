"""Issue 11: the kinds as data — Volcano Job, RayCluster, batch Job, JobSet, TrainJob next to
PyTorchJob, StatefulSet and Deployment — over the in-memory API server with the real CRDs'
schemas loaded: each resized its own way within the bounds its object states, recommend-only
kinds never patched, hostile content costing only its own job."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kinds_helpers import batch_job, harness, jobset, opt_in, raycluster, trainjob, volcano

from autoscaler.kube.kinds import JOB, JOBSET, RAYCLUSTER, TRAINJOB, VOLCANO_JOB, KindError

ENFORCE = {"mode": "enforce", "total_samples": "1e9"}


def rec(h: Any, kind: Any, name: str) -> dict[str, Any]:
    text = h.annotation(kind, name, "recommendation")
    assert text is not None
    out: dict[str, Any] = json.loads(text)
    return out


def test_a_volcano_job_is_resized_through_its_worker_task_by_a_json_patch() -> None:
    api, h = harness()
    api.add(VOLCANO_JOB, volcano("v", 1, opt_in(max_replicas="8", **ENFORCE)))
    h.until(lambda: h.obj(VOLCANO_JOB, "v")["spec"]["tasks"][1]["replicas"] != 1)
    tasks = h.obj(VOLCANO_JOB, "v")["spec"]["tasks"]
    assert tasks[0] == {"name": "master", "replicas": 1, "template": tasks[0]["template"]}
    assert 1 < tasks[1]["replicas"] <= 8
    assert api.count("PATCH", "/scale") == 0  # Volcano has no /scale: never tried
    assert h.events("Resized")


def test_volcano_gang_minimum_bounds_the_worker_task_from_below() -> None:
    """spec.minAvailable counts every task's pods: with master 1 and minAvailable 5 the worker
    task may not go below 4, whatever the decision engine would like."""
    _, h = harness()
    h.api.add(VOLCANO_JOB, volcano("v", 8, opt_in(**ENFORCE), min_available=5))
    for _ in range(12):
        h.step()
        assert h.obj(VOLCANO_JOB, "v")["spec"]["tasks"][1]["replicas"] >= 4
    assert rec(h, VOLCANO_JOB, "v")["replicas"] >= 4


@pytest.mark.parametrize(("annotations", "tasks", "chosen"), [
    ({}, ["worker"], "worker"),  # the only entry
    ({}, ["master", "worker"], "worker"),  # the kind's default entry
    ({"worker-group": "trainers"}, ["master", "trainers"], "trainers"),  # named
])
def test_which_list_entry_holds_the_workers(annotations: dict[str, str], tasks: list[str],
                                            chosen: str) -> None:
    obj = volcano("v", 3, opt_in(**annotations))
    obj["spec"]["tasks"] = [{"name": t, "replicas": 2 + i, "template": {}}
                            for i, t in enumerate(tasks)]
    reading = VOLCANO_JOB.read(obj)
    assert reading is not None and reading.entry == chosen
    assert reading.replicas == 2 + tasks.index(chosen)


@pytest.mark.parametrize(("mutate", "problem"), [
    (lambda o: o["spec"].update(tasks={"worker": 3}), "is not a list"),
    (lambda o: o["spec"]["tasks"][1].update(name="../../x"), "valid name"),
    (lambda o: o["spec"]["tasks"][1].update(replicas=10**12), "not a replica count"),
    (lambda o: o["spec"]["tasks"][1].update(replicas=True), "not a replica count"),
    (lambda o: o["spec"]["tasks"].append(dict(o["spec"]["tasks"][1])), "not unique"),
    (lambda o: o["metadata"]["annotations"].update(
        {"energy-autoscaler.io/worker-group": "nope"}), "names no entry"),
])
def test_hostile_content_at_the_replicas_path_is_one_jobs_invalid_annotation(
        mutate: Any, problem: str) -> None:
    obj = volcano("bad", 2, opt_in(**ENFORCE))
    mutate(obj)
    with pytest.raises(KindError, match=problem.split()[0]):
        VOLCANO_JOB.read(obj)
    api, h = harness()
    api.add(VOLCANO_JOB, volcano("good", 2, opt_in(max_replicas="8", **ENFORCE)))
    h.api._objects[("batch.volcano.sh", "jobs", "ml", "bad")] = {  # as a broken client wrote it
        **obj, "metadata": {**obj["metadata"], "uid": "u-bad", "resourceVersion": "1"}}
    h.start()
    report = h.step()
    assert report.invalid == 1 and report.errors == 0
    [event] = h.events("InvalidAnnotation")
    assert event["involvedObject"]["name"] == "bad" and event["type"] == "Warning"
    assert rec(h, VOLCANO_JOB, "good")  # the other job is served


def test_a_raycluster_worker_group_is_resized_within_its_min_and_max() -> None:
    api, h = harness()
    api.add(RAYCLUSTER, raycluster("r", 1, opt_in(**ENFORCE), bounds=(1, 3)))
    h.until(lambda: h.obj(RAYCLUSTER, "r")["spec"]["workerGroupSpecs"][0]["replicas"] != 1)
    for _ in range(8):
        h.step()
        assert 1 <= h.obj(RAYCLUSTER, "r")["spec"]["workerGroupSpecs"][0]["replicas"] <= 3
    assert rec(h, RAYCLUSTER, "r")["replicas"] <= 3  # the engine wants 4: the object says 3


def test_an_elastic_indexed_job_moves_parallelism_and_completions_together() -> None:
    api, h = harness()
    api.add(JOB, batch_job("j", 2, opt_in(max_replicas="8", **ENFORCE)))
    h.until(lambda: h.obj(JOB, "j")["spec"]["parallelism"] != 2)
    spec = h.obj(JOB, "j")["spec"]
    assert spec["completions"] == spec["parallelism"] != 2


def test_a_trainjob_is_recommend_only_whatever_its_mode() -> None:
    api, h = harness()
    api.add(TRAINJOB, trainjob("t", 1, opt_in(max_replicas="8", **ENFORCE)))
    h.until(lambda: rec(h, TRAINJOB, "t")["replicas"] != 1
            if h.annotation(TRAINJOB, "t", "recommendation") else False)
    for _ in range(3):
        h.step()
    r = rec(h, TRAINJOB, "t")
    assert r["applied"] is False and "cannot change while it runs" in r["problem"]
    assert "spec.trainer.numNodes" in r["problem"]
    assert h.obj(TRAINJOB, "t")["spec"]["trainer"]["numNodes"] == 1
    assert not [p for m, p in api.log if m == "PATCH" and "/scale" in p]
    [event] = h.events("SizeFixed")  # one, for the recommended size
    assert f"ask for {r['replicas']}" in event["message"]


def test_the_fake_refuses_what_the_real_schema_and_webhooks_refuse() -> None:
    from autoscaler.kube.client import KubeClient
    from autoscaler.kube.errors import KubeApiError
    from autoscaler.kube.kinds import ObjectRef

    api, _ = harness()
    client = KubeClient(api.transport())
    t = ObjectRef.of(TRAINJOB, api.add(TRAINJOB, trainjob("t", 2, opt_in())))
    v = ObjectRef.of(VOLCANO_JOB, api.add(VOLCANO_JOB, volcano("v", 2, opt_in())))
    js = ObjectRef.of(JOBSET, api.add(JOBSET, jobset("s", 2, opt_in())))
    cases = [
        (t, [{"op": "replace", "path": "/spec/trainer/numNodes", "value": 3}], 422),  # immutable
        (v, [{"op": "add", "path": "/spec/tasks/1/replicaz", "value": 3}], 400),  # unknown
        (v, [{"op": "replace", "path": "/spec/tasks/1/replicas", "value": "3"}], 422),  # type
        (v, [{"op": "test", "path": "/spec/tasks/1/name", "value": "master"}], 422),  # guard
        (js, [{"op": "replace", "path": "/spec/replicatedJobs/0/replicas", "value": 2}], 422),
        (js, [{"op": "replace", "path": "/spec/replicatedJobs/0/template/spec/parallelism",
               "value": 3}], 422),  # no ElasticJobSet gate
    ]
    for ref, ops, status in cases:
        with pytest.raises(KubeApiError) as e:
            client.json_patch(ref, ops)
        assert e.value.status == status, (ops, e.value)
    ok = client.json_patch(v, [{"op": "replace", "path": "/spec/tasks/1/replicas", "value": 3}])
    assert ok["spec"]["tasks"][1]["replicas"] == 3


def test_a_jobset_is_recommend_only_without_the_gate_and_resized_with_it() -> None:
    for gate in (False, True):
        api, h = harness(elastic_jobset=gate)
        api.add(JOBSET, jobset("s", 1, opt_in(max_replicas="8", **ENFORCE)))
        for _ in range(8):
            h.step()
        inner = h.obj(JOBSET, "s")["spec"]["replicatedJobs"][0]
        moved = inner["template"]["spec"]["parallelism"] != 1
        assert moved is gate, (gate, inner)
        assert inner["replicas"] == 1  # immutable: never touched
        assert bool(h.events("SizeFixed")) is not gate


def test_an_unannotated_object_of_every_kind_is_never_touched() -> None:
    api, h = harness()
    objs = [(VOLCANO_JOB, volcano("v", 2, {})), (RAYCLUSTER, raycluster("r", 2, {})),
            (JOB, batch_job("j", 2, {})), (JOBSET, jobset("s", 2, {})),
            (TRAINJOB, trainjob("t", 2, {}))]
    for kind, obj in objs:
        api.add(kind, obj)
    api.log.clear()
    for _ in range(4):
        h.step()
    assert [m for m, _ in api.log if m not in ("GET", "WATCH")] == []
