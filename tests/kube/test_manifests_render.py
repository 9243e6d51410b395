"""The plain manifests render with the real kustomize built into kubectl, and what they render
is what a cluster needs: one of each object, all in one namespace, the Deployment running the
operator as its ServiceAccount with probes and resource requests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

OPERATOR_DIR = Path(__file__).resolve().parents[2] / "operator"
KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl (with its built-in kustomize) is not installed"
)


def _render() -> list[dict[str, Any]]:
    assert KUBECTL is not None
    out = subprocess.run(
        [KUBECTL, "kustomize", str(OPERATOR_DIR)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_kustomize_renders_every_listed_resource_without_error() -> None:
    docs = _render()
    kinds = sorted(d["kind"] for d in docs)
    for kind in ("ClusterRole", "ClusterRoleBinding", "Deployment", "Namespace", "Service",
                 "ServiceAccount", "ValidatingAdmissionPolicy",
                 "ValidatingAdmissionPolicyBinding"):
        assert kind in kinds, f"{kind} missing from the rendered manifests: {kinds}"


def test_the_deployment_runs_as_the_bound_service_account_with_probes_and_requests() -> None:
    docs = _render()
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    (sa,) = [d for d in docs if d["kind"] == "ServiceAccount"]
    pod = deploy["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    (container,) = [c for c in pod["containers"] if "energy-autoscaler" in " ".join(
        c.get("command", []) + c.get("args", []) + [c.get("name", "")])]
    assert "livenessProbe" in container and "readinessProbe" in container
    assert container["resources"]["requests"]
    bindings = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    subjects = [s for b in bindings for s in b["subjects"]]
    assert {"kind": "ServiceAccount", "name": sa["metadata"]["name"],
            "namespace": sa["metadata"]["namespace"]} in subjects


def test_namespaced_objects_all_live_in_the_operators_namespace() -> None:
    docs = _render()
    (ns,) = [d for d in docs if d["kind"] == "Namespace"]
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding",
                      "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
    for d in docs:
        if d["kind"] not in cluster_scoped:
            assert d["metadata"].get("namespace") == ns["metadata"]["name"], d["metadata"]
