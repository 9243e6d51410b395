"""End to end against a real kube-apiserver + etcd, with the operator acting *as its
ServiceAccount* (impersonation) so that the RBAC rules in ``operator/`` are proven sufficient,
and the admission policy in ``operator/`` proven to confine them (issue 8, defect 4): the
injection of an image and a ``secretKeyRef`` is rejected, the operator's own patches pass.

Runs only when ``KUBE_APISERVER`` names a kube-apiserver binary (and Debian's ``etcd`` and
``openssl`` are on PATH); skipped with the reason otherwise. No controller-manager or kubelet
runs: nothing here needs pods. Measurements come from the recorded-table measurer
(``TableMeasurer``, passed in as the settings' ``source.kind: table`` would), so the decisions
are deterministic; the operator's own loop (lease, cache, pass) is the real one, driven tick by
tick with explicit time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from kube_helpers import P
from real_apiserver import NS, SA_USER, cluster

from autoscaler.kube.client import MERGE_PATCH, KubeClient
from autoscaler.kube.errors import KubePermanentError
from autoscaler.kube.kinds import DEPLOYMENT, PYTORCHJOB, STATEFULSET, KindRef, ObjectRef
from autoscaler.runtime.operator.loop import OperatorLoop
from autoscaler.runtime.operator.settings import LeaseSettings, OperatorSettings, SourceSettings
from autoscaler.testing.curves import table_measurer

pytestmark = [pytest.mark.kube_real, pytest.mark.slow]
__all__ = ["cluster"]  # the module fixture, shared with the admission-policy proof


def _operator(kubeconfig: Path) -> OperatorLoop:
    """The operator's real loop, authenticated as admin but *acting as* its ServiceAccount."""
    client = KubeClient.from_config(str(kubeconfig), extra_headers={"Impersonate-User": SA_USER})
    settings = OperatorSettings(interval_s=30, identity="e2e-op", metrics_port=0,
                                lease=LeaseSettings(namespace="energy-autoscaler"),
                                source=SourceSettings(kind="table"))
    return OperatorLoop(settings, client, table_measurer())


def _ticks(loop: OperatorLoop, start_s: float, count: int, *, until_quiet: int = 0) -> float:
    """Tick every 30 s of (explicit) time; with ``until_quiet``, stop early once that many
    ticks in a row resized nothing."""
    now_s, quiet = start_s, 0
    for _ in range(count):
        now_s += 30.0
        loop.cache.relist()
        report = loop.tick(now_s)
        assert report is None or report.errors == 0, report
        quiet = quiet + 1 if report is not None and report.resized == 0 else 0
        if until_quiet and quiet >= until_quiet:
            break
    return now_s


def _job(name: str, workers: int, annotations: dict[str, str]) -> dict[str, Any]:
    template = {"spec": {"containers": [{"name": "pytorch", "image": "busybox"}]}}
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"name": name, "namespace": NS, "annotations": annotations},
            "spec": {"elasticPolicy": {"minReplicas": 1, "maxReplicas": 8},
                     "pytorchReplicaSpecs": {"Worker": {"replicas": workers,
                                                        "template": template}}}}


def _statefulset(name: str, replicas: int, annotations: dict[str, str]) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": NS, "annotations": annotations},
            "spec": {"replicas": replicas, "serviceName": name,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "containers": [{"name": "train", "image": "busybox"}]}}}}


def _events(admin: KubeClient, reason: str) -> list[dict[str, Any]]:
    items = admin.request("GET", f"/api/v1/namespaces/{NS}/events", tag="events")["items"]
    return [e for e in items if e.get("reason") == reason]


def test_operator_as_its_service_account_recommends_resizes_and_survives_a_restart(
        cluster: Path) -> None:
    admin = KubeClient.from_config(str(cluster))
    on = {P + "enabled": "true"}
    admin.request("POST", PYTORCHJOB.collection_path(NS), tag="c", body=_job("dry", 2, on))
    admin.request("POST", PYTORCHJOB.collection_path(NS), tag="c",
                  body=_job("enf", 2, {**on, P + "mode": "enforce"}))
    admin.request("POST", STATEFULSET.collection_path(NS), tag="c", body=_statefulset(
        "sts", 8, {**on, P + "mode": "enforce", P + "max-replicas": "8"}))
    admin.request("POST", PYTORCHJOB.collection_path(NS), tag="c",
                  body=_job("bad", 2, {**on, P + "deadline": "next tuesday"}))

    loop = _operator(cluster)
    with pytest.raises(KubePermanentError) as denied:  # impersonation is real: no secrets
        loop.client.request("GET", f"/api/v1/namespaces/{NS}/secrets", tag="secrets")
    assert denied.value.status == 403

    now_s = _ticks(loop, time.time(), 12)
    assert loop.leading

    def get(kind: Any, name: str) -> dict[str, Any]:
        return admin.request("GET", kind.object_path(NS, name), tag="get")

    dry = get(PYTORCHJOB, "dry")
    rec = json.loads(dry["metadata"]["annotations"][P + "recommendation"])
    assert set(rec) == {"replicas", "current", "reason", "objective", "predicted", "saving_pct",
                        "feasible", "updated"}
    assert dry["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 2

    enf = get(PYTORCHJOB, "enf")
    assert enf["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] != 2
    assert get(STATEFULSET, "sts")["spec"]["replicas"] != 8
    assert _events(admin, "Resized")

    bad = get(PYTORCHJOB, "bad")
    assert P + "recommendation" not in bad["metadata"]["annotations"]
    [warning] = _events(admin, "InvalidAnnotation")
    assert warning["message"].startswith(P + "deadline: ")

    # Restart: once the jobs have settled, a new process (fresh memory) takes the lease over;
    # restored from the state annotations it must not resize anything (a fresh model would
    # explore again).
    now_s = _ticks(loop, now_s, 40, until_quiet=6)
    sizes = (get(PYTORCHJOB, "enf")["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"],
             get(STATEFULSET, "sts")["spec"]["replicas"])
    resized = len(_events(admin, "Resized"))
    assert loop.elector is not None
    loop.elector.release(now_s)
    restarted = _operator(cluster)
    _ticks(restarted, now_s, 4)
    assert restarted.leading and restarted.core.jobs
    assert (get(PYTORCHJOB, "enf")["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"],
            get(STATEFULSET, "sts")["spec"]["replicas"]) == sizes
    assert len(_events(admin, "Resized")) == resized


# -- least privilege in fact: the admission policy -------------------------------------------
POLICY = "energy-autoscaler-least-privilege"
INJECTION = {"spec": {"template": {"spec": {"containers": [{
    "name": "web", "image": "registry.example/miner:latest",
    "env": [{"name": "DB_PASSWORD",
             "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}}}}


def _deployment(name: str, namespace: str, annotations: dict[str, str]) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
            "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "containers": [{"name": "web", "image": "nginx:1.27"}]}}}}


def _merge(client: KubeClient, kind: KindRef, ns: str, name: str, body: dict[str, Any]) -> None:
    client.request("PATCH", kind.object_path(ns, name), tag="probe", body=body,
                   content_type=MERGE_PATCH)


def _denied(call: Any) -> KubePermanentError:
    with pytest.raises(KubePermanentError) as denied:
        call()
    assert denied.value.status in (403, 422), denied.value
    assert POLICY in denied.value.message, denied.value.message
    return denied.value


def test_the_admission_policy_rejects_the_injection_and_passes_the_operators_patches(
        cluster: Path) -> None:
    admin = KubeClient.from_config(str(cluster))
    sa = KubeClient.from_config(str(cluster), extra_headers={"Impersonate-User": SA_USER})
    on = {P + "enabled": "true"}
    admin.request("POST", "/api/v1/namespaces", tag="c",
                  body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}})
    admin.request("POST", DEPLOYMENT.collection_path("payments"), tag="c",
                  body=_deployment("payments-api", "payments", {}))
    for name in ("canary", "web"):
        admin.request("POST", DEPLOYMENT.collection_path(NS), tag="c",
                      body=_deployment(name, NS, dict(on)))
    admin.request("POST", STATEFULSET.collection_path(NS), tag="c",
                  body=_statefulset("sts-adm", 4, dict(on)))
    admin.request("POST", PYTORCHJOB.collection_path(NS), tag="c", body=_job("job-adm", 4, on))

    # A policy is enforced once the server's informer has it: poll with a probe whose success
    # would be harmless (a label on the canary) until the server rejects it.
    deadline, n = time.monotonic() + 60, 0
    while True:
        n += 1
        try:
            _merge(sa, DEPLOYMENT, NS, "canary", {"metadata": {"labels": {"probe": str(n)}}})
        except KubePermanentError as e:
            assert POLICY in e.message, e
            break
        assert time.monotonic() < deadline, "the admission policy was not enforced within 60 s"
        time.sleep(0.5)

    # The issue's probe: RBAC lets the ServiceAccount patch any Deployment; the policy does not.
    rejected = _denied(lambda: _merge(sa, DEPLOYMENT, "payments", "payments-api", INJECTION))
    assert "opted in" in rejected.message
    victim = admin.request("GET", DEPLOYMENT.object_path("payments", "payments-api"), tag="g")
    [container] = victim["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "nginx:1.27" and "env" not in container
    # ... nor on a workload that opted in, nor the owner's inputs, nor a scale to zero.
    _denied(lambda: _merge(sa, DEPLOYMENT, NS, "web", INJECTION))
    _denied(lambda: _merge(sa, DEPLOYMENT, NS, "web",
                           {"metadata": {"annotations": {P + "mode": "enforce"}}}))

    # The operator's own requests, through its own client methods, pass on every served kind.
    for kind, name in ((DEPLOYMENT, "web"), (STATEFULSET, "sts-adm"), (PYTORCHJOB, "job-adm")):
        obj = admin.request("GET", kind.object_path(NS, name), tag="g")
        ref = ObjectRef.of(kind, obj)
        patched = sa.patch_annotations(ref, {P + "recommendation": '{"replicas": 2}',
                                             P + "state": "v1:e30="},
                                       obj["metadata"]["resourceVersion"])
        assert patched["metadata"]["annotations"][P + "state"] == "v1:e30="
        assert sa.patch_scale(ref, 2) == 2
        assert kind.replicas(admin.request("GET", kind.object_path(NS, name), tag="g")) == 2
        _denied(lambda ref=ref: sa.patch_scale(ref, 0))

    # Nobody else is confined: the cluster admin may still change what the operator may not.
    _merge(admin, DEPLOYMENT, NS, "web", {"metadata": {"labels": {"team": "a"}}})
