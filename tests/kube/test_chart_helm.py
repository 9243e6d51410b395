"""The chart as Helm itself renders and lints it (issue 11, item 5), with default and non-default
values, and what it renders is what the real-API suite proves: ``real_apiserver`` applies the
plain manifests in ``operator/``, so the chart's default rendering must equal them in everything
that grants or confines (RBAC rules, admission policy) and in what runs (the operator's
container, its settings).

Rendering and linting go through Helm v4's Go SDK (``chart_render``, package helm-python-sdk).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import CHART, lint, render, render_files

from autoscaler.runtime.operator.settings import OperatorSettings, load_settings

ROOT = Path(__file__).resolve().parents[2]
KUBE_VERSION = "v1.30.0"  # the oldest the chart supports (ValidatingAdmissionPolicy v1 is GA)
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding",
                  "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespaced": {"namespaces": ["a", "b"]},
    "no-admission-policy": {"admissionPolicy": {"enabled": False}},
    "enforce": {"dryRun": False},
    "everything-changed": {
        "namespaces": ["a"], "admissionPolicy": {"enabled": False}, "dryRun": False,
        "serviceAccount": {"create": False, "name": "existing-sa"}, "replicaCount": 1,
        "metrics": {"port": 9100, "service": {"enabled": False}},
        "settings": {"interval_s": 60, "source": {"power": "dcgm"},
                     "policy": {"resize_downtime_s": 60}},
        "nodeSelector": {"pool": "system"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
    },
}


def _one(docs: list[dict[str, Any]], kind: str, *, contains: str = "") -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind and contains in d["metadata"]["name"]]
    return doc


def _settings(docs: list[dict[str, Any]], tmp_path: Path) -> OperatorSettings:
    """The operator's settings as it loads them from the ConfigMap the manifests mount."""
    path = tmp_path / "settings.yaml"
    path.write_text(_one(docs, "ConfigMap")["data"]["settings.yaml"])
    return load_settings(str(path), {})


def _container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    [container] = _one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return dict(container)


@pytest.mark.parametrize("name", VALUE_SETS)
def test_helm_lint_strict_passes(name: str) -> None:
    report = lint(VALUE_SETS[name], kube_version=KUBE_VERSION)
    assert report["total_charts_linted"] == 1
    assert report["errors"] == [], report["messages"]


@pytest.mark.parametrize(("template", "finding"), [
    ("apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: x\n",
     "PodDisruptionBudget is deprecated"),  # a warning: fails only because lint is strict
    ("x: {{ .Values.nothere.deeper }}\n", "nil pointer"),  # a template error
])
def test_strict_lint_fails_a_broken_chart(template: str, finding: str, tmp_path: Path) -> None:
    """The lint above is not vacuous: it does fail a chart with a problem in it."""
    chart = tmp_path / CHART.name
    shutil.copytree(CHART, chart)
    (chart / "templates" / "broken.yaml").write_text(template)
    errors = lint(chart=chart, kube_version=KUBE_VERSION)["errors"]
    assert any(finding in e for e in errors), errors


@pytest.mark.parametrize("name", VALUE_SETS)
def test_every_value_set_renders_objects_a_cluster_and_the_operator_accept(
        name: str, tmp_path: Path) -> None:
    values = VALUE_SETS[name]
    docs = render(values, namespace="platform")
    for d in docs:
        assert d.get("apiVersion") and d.get("kind") and d["metadata"].get("name"), d
        if d["kind"] not in CLUSTER_SCOPED:
            assert d["metadata"].get("namespace"), d["metadata"]
    settings = _settings(docs, tmp_path)  # raises SettingsError if the operator would refuse it
    assert settings.namespaces == values.get("namespaces", [])
    args = _container(docs)["args"]
    assert ("--dry-run" in args) == values.get("dryRun", True)
    pod = _one(docs, "Deployment")["spec"]["template"]["spec"]
    sa_name = values.get("serviceAccount", {}).get("name", "energy-autoscaler")
    assert pod["serviceAccountName"] == sa_name
    assert any(d["kind"] == "ServiceAccount" for d in docs) == \
        values.get("serviceAccount", {}).get("create", True)
    for binding in (d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": sa_name, "namespace": "platform"}]


def test_non_default_values_reach_the_objects(tmp_path: Path) -> None:
    docs = render(VALUE_SETS["everything-changed"])
    kinds = {d["kind"] for d in docs}
    assert not kinds & {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                        "ClusterRole", "ClusterRoleBinding", "Service", "ServiceAccount"}
    deploy = _one(docs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    assert deploy["spec"]["replicas"] == 1
    assert pod["nodeSelector"] == {"pool": "system"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert _container(docs)["ports"] == [{"name": "metrics", "containerPort": 9100}]
    settings = _settings(docs, tmp_path)
    assert (settings.interval_s, settings.metrics_port, settings.source.power,
            settings.policy) == (60, 9100, "dcgm", {"resize_downtime_s": 60})


def test_a_settings_change_rolls_the_pods() -> None:
    """The pod template carries the ConfigMap's checksum, so ``helm upgrade`` with new settings
    restarts the operator (it reads them once, at start)."""
    def checksum(values: dict[str, Any]) -> str:
        deploy = _one(render(values), "Deployment")
        return str(deploy["spec"]["template"]["metadata"]["annotations"]["checksum/settings"])

    assert checksum({}) == checksum({})
    assert checksum({}) != checksum({"settings": {"interval_s": 60}})


def test_notes_render_with_the_release() -> None:
    notes = render_files(release="ea", namespace="platform")
    assert any(path.endswith("NOTES.txt") and text.strip() for path, text in notes.items())


# What the real-API suite applies: the plain manifests, file by file (tests/kube/real_apiserver.py)

def _plain() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for name in yaml.safe_load((ROOT / "operator/kustomization.yaml").read_text())["resources"]:
        docs += [d for d in yaml.safe_load_all((ROOT / "operator" / name).read_text()) if d]
    return docs


def _grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
            for r in rule["resources"] for v in rule["verbs"]}


def test_default_rendering_grants_and_confines_as_the_applied_manifests() -> None:
    chart, plain = render(), _plain()
    assert _grants(_one(chart, "ClusterRole")) == _grants(_one(plain, "ClusterRole"))
    assert _grants(_one(chart, "Role", contains="leader-election")) == \
        _grants(_one(plain, "Role", contains="leader-election"))
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        assert _one(chart, kind)["subjects"] == _one(plain, kind)["subjects"], kind
    ours, theirs = (_one(d, "ValidatingAdmissionPolicy")["spec"] for d in (chart, plain))
    assert {k: v for k, v in ours.items() if k != "matchConstraints"} == \
        {k: v for k, v in theirs.items() if k != "matchConstraints"}

    def policed(spec: dict[str, Any]) -> set[tuple[str, str, str, str]]:
        return {(g, r, v, op) for rule in spec["matchConstraints"]["resourceRules"]
                for g in rule["apiGroups"] for r in rule["resources"]
                for v in rule["apiVersions"] for op in rule["operations"]}

    assert policed(ours) == policed(theirs)
    binding = _one(chart, "ValidatingAdmissionPolicyBinding")["spec"]
    assert binding["policyName"] == _one(chart, "ValidatingAdmissionPolicy")["metadata"]["name"]
    assert {k: v for k, v in binding.items() if k != "policyName"} == \
        {k: v for k, v in _one(plain, "ValidatingAdmissionPolicyBinding")["spec"].items()
         if k != "policyName"}


def test_default_rendering_runs_the_operator_as_the_applied_manifests(tmp_path: Path) -> None:
    chart, plain = render(), _plain()
    assert _container(chart) == _container(plain)  # image, args, env, probes, resources, ...
    ours, theirs = (_one(d, "Deployment")["spec"] for d in (chart, plain))
    assert ours["replicas"] == theirs["replicas"]
    for key in ("serviceAccountName", "securityContext", "volumes"):
        assert ours["template"]["spec"][key] == theirs["template"]["spec"][key], key
    assert _one(chart, "Service")["spec"]["ports"] == _one(plain, "Service")["spec"]["ports"]
    assert _settings(chart, tmp_path) == _settings(plain, tmp_path)
