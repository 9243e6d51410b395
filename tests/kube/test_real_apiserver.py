"""End to end against a real kube-apiserver + etcd, with the operator acting *as its
ServiceAccount* (impersonation) so that the RBAC rules in ``operator/`` are proven sufficient.

Runs only when ``KUBE_APISERVER`` names a kube-apiserver binary (and Debian's ``etcd`` and
``openssl`` are on PATH); skipped with the reason otherwise. No controller-manager or kubelet
runs: nothing here needs pods. Measurements come from the recorded-table measurer
(``TableMeasurer``, passed in as the settings' ``source.kind: table`` would), so the decisions
are deterministic; the operator's own loop (lease, cache, pass) is the real one, driven tick by
tick with explicit time.
"""

from __future__ import annotations

import json
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
from kube_helpers import CURVE, P

from autoscaler.actuators.torchrun_cmd import free_port
from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError, KubePermanentError
from autoscaler.kube.kinds import PYTORCHJOB, STATEFULSET
from autoscaler.runtime.operator_loop import OperatorLoop
from autoscaler.runtime.operator_settings import LeaseSettings, OperatorSettings, SourceSettings
from autoscaler.runtime.operator_sources import TableMeasurer

pytestmark = [pytest.mark.kube_real, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT.parent / "shared" / "kube" / "crds" / "kubeflow.org_pytorchjobs.yaml"
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
            _apply(admin, doc)
        for name in ("namespace", "serviceaccount", "rbac", "configmap", "deployment",
                     "service"):
            for doc in yaml.safe_load_all((ROOT / "operator" / f"{name}.yaml").read_text()):
                _apply(admin, doc)
        _apply(admin, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
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


def _apply(client: KubeClient, doc: dict[str, Any] | None) -> None:
    if not doc:
        return
    path = PATHS[doc["kind"]].format(ns=doc["metadata"].get("namespace", ""))
    client.request("POST", path, tag=f"apply {doc['kind']}", body=doc)


def _operator(kubeconfig: Path) -> OperatorLoop:
    """The operator's real loop, authenticated as admin but *acting as* its ServiceAccount."""
    client = KubeClient.from_config(str(kubeconfig), extra_headers={"Impersonate-User": SA_USER})
    settings = OperatorSettings(interval_s=30, identity="e2e-op", metrics_port=0,
                                lease=LeaseSettings(namespace="energy-autoscaler"),
                                source=SourceSettings(kind="table"))
    return OperatorLoop(settings, client, TableMeasurer.from_mapping({"jobs": {"*": CURVE}}))


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
