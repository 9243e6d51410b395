"""Where the ServiceAccount's rights reach (issue 8, defect 4): namespaced Roles when the chart
watches listed namespaces, a ClusterRole only when it watches all; and an admission policy,
in the plain manifests and in the chart, bound to that ServiceAccount and covering every
resource its RBAC lets it patch.

The chart is rendered by Helm itself (``chart_render``: Helm v4's Go SDK), the plain manifests
are read as files (``test_manifests_render`` runs kustomize).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import render

from autoscaler.kube import annotations as ann

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD_VERBS = {"get", "list", "watch", "patch"}


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((ROOT / "operator" / name).read_text()) if d]


def _kustomize() -> list[dict[str, Any]]:
    docs = []
    for name in yaml.safe_load((ROOT / "operator/kustomization.yaml").read_text())["resources"]:
        docs += _docs(name)
    return docs


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind]
    return doc


def _patchable(rules: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(g, r) for rule in rules if "patch" in rule["verbs"] for g in rule["apiGroups"]
            for r in rule["resources"]}


def _policed(policy: dict[str, Any]) -> set[tuple[str, str]]:
    return {(g, r) for rule in policy["spec"]["matchConstraints"]["resourceRules"]
            if "UPDATE" in rule["operations"] and rule["apiVersions"] == ["*"]
            for g in rule["apiGroups"] for r in rule["resources"]}


def _username(docs: list[dict[str, Any]]) -> str:
    sa = _one(docs, "ServiceAccount")["metadata"]
    return f"system:serviceaccount:{sa['namespace']}:{sa['name']}"


@pytest.mark.parametrize("source", ["kustomize", "chart", "chart-namespaced"])
def test_the_policy_binds_to_the_service_account_and_covers_everything_it_may_patch(
        source: str) -> None:
    docs = (_kustomize() if source == "kustomize"
            else render({"namespaces": ["ml"]} if source == "chart-namespaced" else None))
    policy, binding = (_one(docs, "ValidatingAdmissionPolicy"),
                       _one(docs, "ValidatingAdmissionPolicyBinding"))
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert "matchResources" not in binding["spec"]  # every namespace: no way around it
    assert policy["spec"]["failurePolicy"] == "Fail"
    [cond] = policy["spec"]["matchConditions"]
    assert cond["expression"] == f'request.userInfo.username == "{_username(docs)}"'
    workload_roles = [d for d in docs if d["kind"] in ("ClusterRole", "Role")
                      and "leader-election" not in d["metadata"]["name"]]
    assert workload_roles
    for role in workload_roles:
        patchable = _patchable(role["rules"]) - {("", "events")}
        assert patchable and patchable <= _policed(policy), patchable - _policed(policy)


def test_the_policy_allows_exactly_the_annotations_the_operator_writes() -> None:
    for policy in (_one(_kustomize(), "ValidatingAdmissionPolicy"),
                   _one(render(), "ValidatingAdmissionPolicy")):
        [owned] = [v for v in policy["spec"]["variables"] if v["name"] == "owned"]
        assert set(yaml.safe_load(owned["expression"])) == {ann.PREFIX + k
                                                             for k in ann.OPERATOR_KEYS}


def test_the_chart_and_the_plain_manifests_ship_the_same_rules() -> None:
    plain = _one(_kustomize(), "ValidatingAdmissionPolicy")["spec"]
    chart = _one(render(), "ValidatingAdmissionPolicy")["spec"]
    for key in ("failurePolicy", "matchConditions", "variables", "validations"):
        assert chart[key] == plain[key], key
    assert _policed({"spec": chart}) == _policed({"spec": plain})


def test_a_renamed_release_namespace_and_service_account_follow_into_the_policy() -> None:
    docs = render({"serviceAccount": {"create": True, "name": "ea-bot"}}, namespace="platform")
    [cond] = _one(docs, "ValidatingAdmissionPolicy")["spec"]["matchConditions"]
    assert cond["expression"] == \
        'request.userInfo.username == "system:serviceaccount:platform:ea-bot"'


def test_with_namespaces_set_the_chart_grants_namespaced_roles_only() -> None:
    docs = render({"namespaces": ["ml", "research"]})
    kinds = [d["kind"] for d in docs]
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds
    roles = {d["metadata"]["namespace"]: d for d in docs
             if d["kind"] == "Role" and "leader-election" not in d["metadata"]["name"]}
    bindings = {d["metadata"]["namespace"]: d for d in docs
                if d["kind"] == "RoleBinding" and "leader-election" not in d["metadata"]["name"]}
    assert set(roles) == set(bindings) == {"ml", "research"}
    cluster_rules = _one(render(), "ClusterRole")["rules"]
    for ns, role in roles.items():
        assert role["rules"] == cluster_rules
        binding = bindings[ns]
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": role["metadata"]["name"]}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "energy-autoscaler",
                                        "namespace": "energy-autoscaler"}]
    lease = [d for d in docs if d["kind"] == "Role" and "leader-election" in d["metadata"]["name"]]
    assert [r["metadata"]["namespace"] for r in lease] == ["energy-autoscaler"]
    settings = yaml.safe_load(_one(docs, "ConfigMap")["data"]["settings.yaml"])
    assert settings["namespaces"] == ["ml", "research"]  # the operator watches what it may read


def test_without_namespaces_the_chart_grants_one_cluster_role_for_workloads() -> None:
    docs = render()
    role = _one(docs, "ClusterRole")
    assert _one(docs, "ClusterRoleBinding")["roleRef"]["name"] == role["metadata"]["name"]
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Role"] == \
        ["rel-energy-autoscaler-leader-election"]
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= WORKLOAD_VERBS | {"create"}
        assert "create" not in rule["verbs"] or rule["resources"] == ["events"]


def test_the_plain_manifests_keep_the_cluster_wide_default() -> None:
    def granted(role: dict[str, Any]) -> set[tuple[str, str, str]]:
        return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
                for r in rule["resources"] for v in rule["verbs"]}

    docs = _kustomize()
    assert granted(_one(docs, "ClusterRole")) == granted(_one(render(), "ClusterRole"))
    assert _one(docs, "ClusterRoleBinding")["subjects"] == [
        {"kind": "ServiceAccount", "name": "energy-autoscaler", "namespace": "energy-autoscaler"}]


def test_the_policy_can_be_turned_off_for_clusters_older_than_1_30() -> None:
    kinds = {d["kind"] for d in render({"admissionPolicy": {"enabled": False}})}
    assert not kinds & {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
