"""The real ``energy-autoscaler operator`` process: kubeconfig loading, watch threads, the
Lease, the probe server and SIGTERM — against the in-memory API server served over loopback
HTTP (a stand-in for a kube-apiserver, which these machines cannot run)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml
from kube_helpers import PYTORCHJOB, P, opt_in, pytorchjob

from autoscaler.actuators.torchrun_cmd import free_port
from autoscaler.testing.fakeapi import LEASES, FakeKubeApi

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def serve(api: FakeKubeApi, auth: list[str]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            auth.append(self.headers.get("Authorization", ""))
            length = int(self.headers.get("Content-Length") or 0)
            request = httpx.Request(self.command, "http://fake" + self.path,
                                    content=self.rfile.read(length) if length else b"")
            response = api.handle(request)
            body = response.content
            self.send_response(response.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def apiserver() -> Iterator[tuple[FakeKubeApi, int, list[str]]]:
    api, auth = FakeKubeApi(), []
    server = serve(api, auth)
    try:
        yield api, int(server.server_address[1]), auth
    finally:
        server.shutdown()
        server.server_close()




def test_the_operator_process_serves_jobs_probes_and_stops_cleanly_on_sigterm(
        apiserver: tuple[FakeKubeApi, int, list[str]], tmp_path: Path) -> None:
    api, port, auth = apiserver
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in(mode="enforce")))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t0ken"}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "u"}}]}))
    settings = tmp_path / "settings.yaml"
    metrics_port = free_port()
    settings.write_text(yaml.safe_dump({
        "interval_s": 1, "tick_s": 0.2, "identity": "proc", "metrics_port": metrics_port,
        "lease": {"namespace": "ops"},
        "source": {"kind": "table", "table_path": str(ROOT / "tests/kube/table.yaml")}}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoscaler", "operator", "--kubeconfig", str(kubeconfig),
         "--config", str(settings), "--dry-run"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        recommendation = None
        while time.monotonic() < deadline and recommendation is None:
            time.sleep(0.2)
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            recommendation = api.obj(PYTORCHJOB, "ml", "a")["metadata"]["annotations"].get(
                P + "recommendation")
        assert recommendation is not None
        assert json.loads(recommendation)["current"] == 2
        base = f"http://127.0.0.1:{metrics_port}"
        assert httpx.get(base + "/readyz", timeout=5).status_code == 200
        assert httpx.get(base + "/healthz", timeout=5).status_code == 200
        assert 'energy_autoscaler_current_replicas{kind="PyTorchJob",name="a"' in httpx.get(
            base + "/metrics", timeout=5).text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert api.count("PATCH", "/scale") == 0  # --dry-run overrides the job's enforce
    assert auth and set(auth) == {"Bearer t0ken"}  # every request carried the kubeconfig's token
    assert "t0ken" not in out  # and it was never logged
    [lease] = api.objects(LEASES)
    assert lease["spec"]["holderIdentity"] is None
