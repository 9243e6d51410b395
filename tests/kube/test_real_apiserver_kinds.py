"""Issue 11 against a real kube-apiserver: the real CRDs of Volcano Job, RayCluster, JobSet and
TrainJob (``../shared/kube/crds``, unmodified) and batch/v1 Job, served by the operator acting
*as its ServiceAccount* with the RBAC and admission policy the chart renders for those kinds.

Per kind: a dry-run job gets a recommendation and keeps its size; an enforce job is resized
through its own path (a JSON patch the real schema accepts, ``fieldValidation=Strict``) within
the bounds its object states; a recommend-only kind (TrainJob, JobSet without the gate) is never
patched in its spec (its ``generation`` stays 1); an un-annotated object is never touched (its
``resourceVersion`` stays). Runs only when ``KUBE_APISERVER`` is set (see ``real_apiserver``).
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import render
from kinds_helpers import ALL
from kube_helpers import P
from real_apiserver import CRD, NS, SA_USER, apply, cluster

from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError, KubeConflict
from autoscaler.kube.kinds import JOB, JOBSET, RAYCLUSTER, TRAINJOB, VOLCANO_JOB, KindRef
from autoscaler.runtime.operator.loop import OperatorLoop
from autoscaler.runtime.operator.settings import LeaseSettings, OperatorSettings, SourceSettings
from autoscaler.testing.curves import table_measurer

pytestmark = [pytest.mark.kube_real, pytest.mark.slow]
__all__ = ["cluster"]

CRDS = CRD.parent
POD = {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "train", "image": "busybox"}]}}
ON = {P + "enabled": "true", P + "total-samples": "1e9"}
ENFORCE = {**ON, P + "mode": "enforce", P + "max-replicas": "8"}


def _meta(name: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "annotations": annotations}


def _volcano(name: str, workers: int, annotations: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
            "metadata": _meta(name, annotations),
            "spec": {"schedulerName": "volcano", "minAvailable": 1, "tasks": [
                {"name": "master", "replicas": 1, "template": POD},
                {"name": "worker", "replicas": workers, "template": POD}]}}


def _ray(name: str, workers: int, annotations: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": _meta(name, annotations),
            "spec": {"headGroupSpec": {"rayStartParams": {}, "template": POD},
                     "workerGroupSpecs": [{"groupName": "gpu", "replicas": workers,
                                           "minReplicas": 1, "maxReplicas": 3,
                                           "rayStartParams": {}, "template": POD}]}}


def _job(name: str, workers: int, annotations: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(name, annotations),
            "spec": {"parallelism": workers, "completions": workers,
                     "completionMode": "Indexed", "template": POD}}


def _jobset(name: str, workers: int, annotations: dict[str, str]) -> dict[str, Any]:
    inner = {"parallelism": workers, "completions": workers, "template": POD}
    return {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
            "metadata": _meta(name, annotations),
            "spec": {"replicatedJobs": [{"name": "workers", "replicas": 1,
                                         "template": {"spec": inner}}]}}


def _trainjob(name: str, nodes: int, annotations: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob",
            "metadata": _meta(name, annotations),
            "spec": {"runtimeRef": {"name": "torch-distributed"}, "trainer": {"numNodes": nodes}}}


def _install(admin: KubeClient) -> None:
    """The CRDs (the PyTorchJob one is already there), then the chart's RBAC and admission
    policy for every built-in kind, bound to the operator's ServiceAccount."""
    for path in sorted(CRDS.glob("*.yaml")):
        with contextlib.suppress(KubeConflict):  # the PyTorchJob CRD is already there
            apply(admin, yaml.safe_load(path.read_text()))
    docs = render({"kinds": ALL}, release="kinds", namespace="energy-autoscaler")
    for doc in docs:
        if doc["kind"] in ("ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy",
                           "ValidatingAdmissionPolicyBinding"):
            apply(admin, doc)
    deadline = time.monotonic() + 60
    for kind in (VOLCANO_JOB, RAYCLUSTER, JOBSET, TRAINJOB):
        while True:
            try:
                admin.list(kind, NS)
                break
            except KubeApiError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    time.sleep(2)  # RBAC and the admission policy reach the API server's caches


def test_every_kind_through_its_own_path_as_the_service_account(cluster: Path) -> None:
    admin = KubeClient.from_config(str(cluster))
    _install(admin)
    objects: list[tuple[KindRef, dict[str, Any]]] = [
        (VOLCANO_JOB, _volcano("vol-dry", 2, ON)),
        (VOLCANO_JOB, _volcano("vol-enf", 1, ENFORCE)),
        (VOLCANO_JOB, _volcano("vol-none", 2, {})),
        (RAYCLUSTER, _ray("ray-enf", 1, ENFORCE)),
        (JOB, _job("job-enf", 2, ENFORCE)),
        (JOBSET, _jobset("set-enf", 1, ENFORCE)),
        (TRAINJOB, _trainjob("train-enf", 1, ENFORCE)),
    ]
    for kind, obj in objects:
        admin.request("POST", kind.collection_path(NS), tag="create", body=obj)

    def get(kind: KindRef, name: str) -> dict[str, Any]:
        return admin.request("GET", kind.object_path(NS, name), tag="get")

    untouched_rv = get(VOLCANO_JOB, "vol-none")["metadata"]["resourceVersion"]
    client = KubeClient.from_config(str(cluster), extra_headers={"Impersonate-User": SA_USER})
    settings = OperatorSettings(interval_s=30, identity="e2e-kinds", metrics_port=0, kinds=ALL,
                                lease=LeaseSettings(namespace="energy-autoscaler",
                                                    name="kinds-leader"),
                                source=SourceSettings(kind="table"))
    loop = OperatorLoop(settings, client, table_measurer())
    now_s = time.time()
    for _ in range(14):
        now_s += 30.0
        loop.cache.relist()
        report = loop.tick(now_s)
        assert report is None or report.errors == 0, report

    def rec(kind: KindRef, name: str) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(
            get(kind, name)["metadata"]["annotations"][P + "recommendation"])
        return out

    dry = get(VOLCANO_JOB, "vol-dry")
    assert rec(VOLCANO_JOB, "vol-dry")["reason"]
    assert dry["spec"]["tasks"][1]["replicas"] == 2 and dry["metadata"]["generation"] == 1

    enf = get(VOLCANO_JOB, "vol-enf")["spec"]["tasks"]
    assert enf[0]["replicas"] == 1 and enf[1]["replicas"] != 1  # the worker task moved

    ray = get(RAYCLUSTER, "ray-enf")["spec"]["workerGroupSpecs"][0]
    assert ray["replicas"] != 1 and 1 <= ray["replicas"] <= 3  # within the object's bounds

    job = get(JOB, "job-enf")["spec"]
    assert job["parallelism"] != 2 and job["completions"] == job["parallelism"]

    for kind, name in ((JOBSET, "set-enf"), (TRAINJOB, "train-enf")):
        obj = get(kind, name)
        assert obj["metadata"]["generation"] == 1, name  # the spec was never written
        r = rec(kind, name)
        assert r["applied"] is False or r["replicas"] == 1, r

    assert get(VOLCANO_JOB, "vol-none")["metadata"]["resourceVersion"] == untouched_rv
