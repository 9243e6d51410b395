"""The admission policy that confines the operator's ServiceAccount, evaluated here with a real
CEL interpreter against the requests the API server would hand it (issue 8, defect 4).

RBAC alone let the ServiceAccount patch a new image and a ``secretKeyRef`` into any Deployment.
These tests prove, for both the kustomize manifests and the rendered chart, that such a patch is
denied, that what the operator itself sends (one annotation merge patch, ``/scale`` patches,
taken from the real client and from a full operator run) passes, and that nobody else is
affected. The same proof against a live kube-apiserver is in ``test_real_apiserver.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from admission_cel import admission_request, evaluate, stored
from chart_render import render
from kube_helpers import Harness, opt_in, pytorchjob, statefulset

from autoscaler.kube import annotations as ann
from autoscaler.kube.client import KubeClient
from autoscaler.kube.kinds import DEFAULT_KINDS, DEPLOYMENT, PYTORCHJOB, STATEFULSET, KindRef
from autoscaler.kube.kinds import ObjectRef as Ref
from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.testing.curves import table_measurer
from autoscaler.testing.fakeapi import FakeKubeApi

ROOT = Path(__file__).resolve().parents[2]
SA = "system:serviceaccount:energy-autoscaler:energy-autoscaler"
P = ann.PREFIX


def _policy(source: str) -> dict[str, Any]:
    if source == "kustomize":
        docs = yaml.safe_load_all((ROOT / "operator/admission-policy.yaml").read_text())
    else:
        docs = iter(render())
    return next(d for d in docs if d and d["kind"] == "ValidatingAdmissionPolicy")


@pytest.fixture(params=["kustomize", "chart"])
def policy(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _policy(request.param)


def deployment(name: str, annotations: dict[str, str] | None = None,
               namespace: str = "ml") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {"app": name}}
    if annotations is not None:
        meta["annotations"] = annotations
    container = {"name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                 "resources": {}, "terminationMessagePath": "/dev/termination-log"}
    return stored({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
        "replicas": 3, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        "selector": {"matchLabels": {"app": name}},
        "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [container], "restartPolicy": "Always"}}}})


# The probe of the issue: a new image and a secretKeyRef, as a merge patch.
INJECTION = {"spec": {"template": {"spec": {"containers": [{
    "name": "web", "image": "registry.example/miner:latest",
    "env": [{"name": "DB_PASSWORD",
             "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}}}}


def client_bodies(call: Any) -> list[dict[str, Any]]:
    """The bodies the real :class:`KubeClient` sends for ``call(client)``."""
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append(body)
        return httpx.Response(200, json=body)

    call(KubeClient(httpx.MockTransport(handler)))
    return sent


def operator_annotation_patch(kind: KindRef, obj: dict[str, Any],
                              changes: dict[str, str | None]) -> dict[str, Any]:
    [body] = client_bodies(lambda c: c.patch_annotations(
        Ref.of(kind, obj), changes, obj["metadata"]["resourceVersion"]))
    return body


def operator_scale_patch(kind: KindRef, obj: dict[str, Any], replicas: int) -> dict[str, Any]:
    [body] = client_bodies(lambda c: c.patch_scale(Ref.of(kind, obj), replicas))
    return body


def samples() -> list[tuple[KindRef, dict[str, Any]]]:
    job = pytorchjob("train", 4, opt_in(mode="enforce"))
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"] = {"spec": {"containers": [
        {"name": "pytorch", "image": "pytorch:2"}]}}
    return [(PYTORCHJOB, stored(job)), (STATEFULSET, stored(statefulset("sts", 4, opt_in()))),
            (DEPLOYMENT, deployment("web", opt_in()))]


# -- the injection of the issue ---------------------------------------------------------------
def test_the_injection_into_an_unannotated_deployment_elsewhere_is_rejected(
        policy: dict[str, Any]) -> None:
    victim = deployment("payments-api", None, namespace="payments")
    verdict = evaluate(policy, admission_request(DEPLOYMENT, victim, INJECTION, user=SA))
    assert verdict.applies and not verdict.allowed
    text = " ".join(verdict.denied)
    assert "opted in" in text and "may not change a workload's spec" in text


@pytest.mark.parametrize("index", range(3), ids=["pytorchjob", "statefulset", "deployment"])
def test_spec_changes_are_rejected_even_on_opted_in_workloads(
        policy: dict[str, Any], index: int) -> None:
    kind, obj = samples()[index]
    patch = {"spec": {"replicas": 9, "template": {"spec": {"containers": []}}}}
    verdict = evaluate(policy, admission_request(kind, obj, patch, user=SA))
    assert verdict.denied == [
        "energy-autoscaler may not change a workload's spec (template, image, env, ...): it "
        "resizes only through the /scale subresource, or for kinds without one in a write "
        "that changes nothing else of the object's metadata"]


# -- what the operator itself sends -----------------------------------------------------------
@pytest.mark.parametrize("index", range(3), ids=["pytorchjob", "statefulset", "deployment"])
def test_the_operators_own_annotation_and_scale_patches_pass(
        policy: dict[str, Any], index: int) -> None:
    kind, obj = samples()[index]
    write = operator_annotation_patch(kind, obj, {P + "recommendation": '{"replicas": 3}',
                                                  P + "state": "v1:abc"})
    assert evaluate(policy, admission_request(kind, obj, write, user=SA)).denied == []
    obj["metadata"]["annotations"][P + "state"] = "v1:abc"
    drop = operator_annotation_patch(kind, obj, {P + "state": None})  # a bad state discarded
    assert evaluate(policy, admission_request(kind, obj, drop, user=SA)).denied == []
    resize = operator_scale_patch(kind, obj, 2)
    verdict = evaluate(policy, admission_request(kind, obj, resize, user=SA, sub_resource="scale"))
    assert verdict.applies and verdict.denied == []


def test_scaling_a_workload_to_zero_through_scale_is_rejected(policy: dict[str, Any]) -> None:
    kind, obj = samples()[2]
    verdict = evaluate(policy, admission_request(
        kind, obj, operator_scale_patch(kind, obj, 0), user=SA, sub_resource="scale"))
    assert verdict.denied == ["energy-autoscaler never scales a workload to zero"]


@pytest.mark.parametrize(("what", "patch"), [
    ("a user input (dry-run to enforce)", {"metadata": {"annotations": {P + "mode": "enforce"}}}),
    ("opting out", {"metadata": {"annotations": {P + "enabled": None}}}),
    ("a new key under our prefix", {"metadata": {"annotations": {P + "extra": "1"}}}),
    ("another owner's annotation", {"metadata": {"annotations": {"team": "x"}}}),
    ("deleting another annotation", {"metadata": {"annotations": {"owner": None}}}),
])
def test_annotations_other_than_the_operators_two_are_rejected(
        policy: dict[str, Any], what: str, patch: dict[str, Any]) -> None:
    obj = deployment("web", {**opt_in(), "owner": "team-a"})
    verdict = evaluate(policy, admission_request(DEPLOYMENT, obj, patch, user=SA))
    assert verdict.denied and any("only the annotations" in m for m in verdict.denied), what


@pytest.mark.parametrize("patch", [
    {"metadata": {"labels": {"app": "other"}}},
    {"metadata": {"labels": {"extra": "1"}}},
    {"metadata": {"finalizers": ["example.com/hold"]}},
    {"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x",
                                       "uid": "1"}]}},
])
def test_labels_finalizers_and_owner_references_are_rejected(
        policy: dict[str, Any], patch: dict[str, Any]) -> None:
    obj = deployment("web", opt_in())
    verdict = evaluate(policy, admission_request(DEPLOYMENT, obj, patch, user=SA))
    assert verdict.denied == [
        "energy-autoscaler may not change a workload's labels, finalizers or owner references"]


@pytest.mark.parametrize("value", ["true", " TRUE ", "True", "false", "yes", "", "1"])
def test_the_opt_in_check_agrees_with_the_operators_parser(
        policy: dict[str, Any], value: str) -> None:
    obj = deployment("web", {P + "enabled": value})
    write = operator_annotation_patch(DEPLOYMENT, obj, {P + "recommendation": "{}"})
    verdict = evaluate(policy, admission_request(DEPLOYMENT, obj, write, user=SA))
    assert verdict.allowed == ann.is_enabled({P + "enabled": value})


def test_other_users_and_other_requests_are_not_touched(policy: dict[str, Any]) -> None:
    victim = deployment("payments-api", None, namespace="payments")
    for user in ("kubernetes-admin", "system:serviceaccount:other:energy-autoscaler",
                 "system:serviceaccount:energy-autoscaler:default"):
        assert not evaluate(policy, admission_request(DEPLOYMENT, victim, INJECTION,
                                                      user=user)).applies
    create = {**admission_request(DEPLOYMENT, victim, INJECTION, user=SA), "operation": "CREATE"}
    assert not evaluate(policy, create).applies
    pods = admission_request(DEPLOYMENT, victim, INJECTION, user=SA)
    pods["resource"] = {"group": "", "version": "v1", "resource": "pods"}
    assert not evaluate(policy, pods).applies


# -- a whole operator run through the policy --------------------------------------------------
def test_every_patch_of_a_real_operator_run_passes_the_policy(
        api: FakeKubeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's core, resizing in enforce mode over the in-memory server, with each of its
    PATCHes judged by the shipped policy first (denied: 403, as the server would answer)."""
    policy = _policy("kustomize")
    by_plural = {k.plural: k for k in DEFAULT_KINDS}
    judged: list[tuple[str, list[str]]] = []

    def gate(request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if request.method == "PATCH" and "namespaces" in parts:
            i = parts.index("namespaces")
            ns, plural, name, *sub = parts[i + 1:]
            kind = by_plural[plural]
            old = stored(api.obj(kind, ns, name), api.obj(kind, ns, name)["metadata"]
                         ["resourceVersion"])
            verdict = evaluate(policy, admission_request(
                kind, old, json.loads(request.content), user=SA,
                sub_resource=sub[0] if sub else ""))
            judged.append((request.url.path, verdict.denied))
            if verdict.denied:
                return httpx.Response(403, json={"kind": "Status", "code": 403,
                                                 "reason": "Forbidden",
                                                 "message": "; ".join(verdict.denied)})
        return api.handle(request)

    monkeypatch.setattr(api, "transport", lambda: httpx.MockTransport(gate))
    api.add(PYTORCHJOB, pytorchjob("a", 8, opt_in(mode="enforce", max_replicas="4")))
    api.add(STATEFULSET, statefulset("s", 8, opt_in(mode="enforce", max_replicas="4")))
    api.add(STATEFULSET, statefulset("d", 2, opt_in()))  # dry-run: annotations only
    settings = OperatorSettings(interval_s=30.0, identity="op", metrics_port=0,
                                checkpoint_every_s=300.0)
    h = Harness(api, settings, table_measurer())
    for _ in range(12):
        h.step()
    paths = [p for p, _ in judged]
    assert any(p.endswith("/scale") for p in paths), paths
    assert any(p.endswith("/pytorchjobs/a") for p in paths), paths
    assert [d for _, d in judged if d] == []
