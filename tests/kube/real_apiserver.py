"""A real kube-apiserver + etcd on loopback for the real-API suite (``test_real_apiserver*``):
the module fixture ``cluster`` starts them, applies the PyTorchJob CRD and every plain manifest
in ``operator/`` (RBAC *and* the admission policy), and yields an admin kubeconfig.

Runs only when ``KUBE_APISERVER`` names a kube-apiserver binary (v1.30 or later: the
ValidatingAdmissionPolicy API is GA there and on by default) and Debian's ``etcd`` and
``openssl`` are on PATH; the fixture skips with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from autoscaler.actuators.torchrun_cmd import free_port
from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError
from autoscaler.kube.kinds import PYTORCHJOB
from autoscaler.testing.crdschema import CRD_DIR

ROOT = Path(__file__).resolve().parents[2]
CRD = CRD_DIR / "kubeflow.org_pytorchjobs.yaml"  # ../shared/kube/crds, or the tests' copy
SA_USER = "system:serviceaccount:energy-autoscaler:energy-autoscaler"
TOKEN = "e2e-admin-token"
NS = "ml"

# kind -> collection path (``{ns}``: the object's namespace) for applying manifests
PATHS = {
    "Namespace": "/api/v1/namespaces",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
    "CustomResourceDefinition": "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "ValidatingAdmissionPolicy":
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
    "ValidatingAdmissionPolicyBinding":
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
}


def _missing() -> str | None:
    binary = os.environ.get("KUBE_APISERVER")
    if not binary:
        return "set KUBE_APISERVER to a kube-apiserver binary to run the real-API suite"
    if not (Path(binary).is_file() and os.access(binary, os.X_OK)):
        return f"KUBE_APISERVER={binary!r} is not an executable file"
    for tool in ("etcd", "openssl"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH (Debian: etcd-server, openssl)"
    if not CRD.is_file():
        return f"the PyTorchJob CRD is missing at {CRD}"
    return None


def _wait(what: str, ready: Any, procs: list[tuple[subprocess.Popen[bytes], Path]],
          timeout_s: float = 60.0) -> None:
    """Poll ``ready()``; fail at once, with the log's tail, if a server process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc, log in procs:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{log.stem} exited with {proc.returncode}:\n{tail}")
        try:
            if ready():
                return
        except (httpx.HTTPError, KubeApiError, OSError, ValueError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {timeout_s:.0f} s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """etcd + kube-apiserver on loopback; yields an admin kubeconfig path."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    d = tmp_path_factory.mktemp("kube")
    run = subprocess.run
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", d / "serving.key", "-out", d / "serving.crt", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    run(["openssl", "genrsa", "-out", d / "sa.key", "2048"], check=True, capture_output=True)
    run(["openssl", "rsa", "-in", d / "sa.key", "-pubout", "-out", d / "sa.pub"], check=True,
        capture_output=True)
    (d / "tokens.csv").write_text(f'{TOKEN},admin,admin,"system:masters"\n')
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    logs = [open(d / "etcd.log", "wb"), open(d / "apiserver.log", "wb")]  # noqa: SIM115
    etcd = subprocess.Popen(
        ["etcd", "--data-dir", d / "etcd", "--listen-client-urls",
         f"http://127.0.0.1:{etcd_port}", "--advertise-client-urls",
         f"http://127.0.0.1:{etcd_port}", "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-cluster", f"default=http://127.0.0.1:{peer_port}"],
        stdout=logs[0], stderr=subprocess.STDOUT)
    api = subprocess.Popen(
        [os.environ["KUBE_APISERVER"], f"--etcd-servers=http://127.0.0.1:{etcd_port}",
         "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
         f"--secure-port={api_port}", f"--tls-cert-file={d / 'serving.crt'}",
         f"--tls-private-key-file={d / 'serving.key'}", f"--token-auth-file={d / 'tokens.csv'}",
         "--authorization-mode=RBAC", f"--service-account-key-file={d / 'sa.pub'}",
         f"--service-account-signing-key-file={d / 'sa.key'}",
         "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
         "--service-cluster-ip-range=10.0.0.0/24", "--enable-priority-and-fairness=false"],
        stdout=logs[1], stderr=subprocess.STDOUT)
    kubeconfig = d / "admin.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
        "clusters": [{"name": "e2e", "cluster": {
            "server": f"https://127.0.0.1:{api_port}",
            "certificate-authority": str(d / "serving.crt")}}],
        "users": [{"name": "admin", "user": {"token": TOKEN}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
    }))
    try:
        admin = KubeClient.from_config(str(kubeconfig))
        procs = [(etcd, d / "etcd.log"), (api, d / "apiserver.log")]
        _wait("kube-apiserver", lambda: admin.request(
            "GET", "/api/v1/namespaces/default", tag="ready") is not None, procs, timeout_s=90)
        for doc in yaml.safe_load_all(CRD.read_text()):
            apply(admin, doc)
        kustomization = yaml.safe_load((ROOT / "operator/kustomization.yaml").read_text())
        for name in kustomization["resources"]:  # in order: the namespace first
            for doc in yaml.safe_load_all((ROOT / "operator" / name).read_text()):
                apply(admin, doc)
        apply(admin, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        _wait("PyTorchJob CRD", lambda: admin.list(PYTORCHJOB, NS) is not None, procs)
        yield kubeconfig
    finally:
        for proc in (api, etcd):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()


def apply(client: KubeClient, doc: dict[str, Any] | None) -> None:
    if not doc:
        return
    path = PATHS[doc["kind"]].format(ns=doc["metadata"].get("namespace", ""))
    client.request("POST", path, tag=f"apply {doc['kind']}", body=doc)


