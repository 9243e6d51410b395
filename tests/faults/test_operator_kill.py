"""kill -9 of the real operator process right after it resized a job, then a new operator
(another identity, after the dead one's Lease expired): the job is not resized again.

Why this holds: the annotation patch that precedes a resize carries the state with the resize
recorded, so the new leader restores the job inside that resize's warm-up and holds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from autoscaler.actuators.torchrun_cmd import free_port
from autoscaler.kube.state import decode

from .operator_helpers import PYTORCHJOB, FakeKubeApi, P, opt_in, pytorchjob

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def apiserver() -> Iterator[tuple[FakeKubeApi, int]]:
    from test_operator_process import serve  # tests/kube (on sys.path via operator_helpers)

    api = FakeKubeApi()
    server = serve(api, [])
    try:
        yield api, int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def start(tmp_path: Path, port: int, identity: str) -> subprocess.Popen[str]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "u"}}]}))
    settings = tmp_path / f"{identity}.yaml"
    settings.write_text(yaml.safe_dump({
        "interval_s": 1, "tick_s": 0.2, "identity": identity, "metrics_port": free_port(),
        "lease": {"namespace": "ops", "duration_s": 2},
        "source": {"kind": "table", "table_path": str(ROOT / "tests/kube/table.yaml")}}))
    return subprocess.Popen(
        [sys.executable, "-m", "autoscaler", "operator", "--kubeconfig", str(kubeconfig),
         "--config", str(settings)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(condition: object, timeout_s: float, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_kill_9_after_a_resize_then_a_new_leader_does_not_resize_again(
        apiserver: tuple[FakeKubeApi, int], tmp_path: Path) -> None:
    api, port = apiserver
    api.add(PYTORCHJOB, pytorchjob("a", 8, opt_in(mode="enforce", max_replicas="5")))
    first = start(tmp_path, port, "first")
    try:
        wait_for(lambda: api.count("PATCH", "/scale") >= 1, 60, first)
        first.send_signal(signal.SIGKILL)  # no clean shutdown: the Lease is not released
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    resizes = api.count("PATCH", "/scale")
    state = decode(api.obj(PYTORCHJOB, "ml", "a")["metadata"]["annotations"][P + "state"])
    assert state.session is not None and state.session["resize"]["to"] == 5  # recorded before
    updated = json.loads(api.obj(PYTORCHJOB, "ml", "a")["metadata"]["annotations"][
        P + "recommendation"])["updated"]

    second = start(tmp_path, port, "second")
    try:
        def decided_again() -> bool:
            rec = api.obj(PYTORCHJOB, "ml", "a")["metadata"]["annotations"][P + "recommendation"]
            return bool(json.loads(rec)["updated"] > updated)

        wait_for(decided_again, 60, second)  # the new leader serves the job ...
        time.sleep(4)  # ... for a few more intervals
        assert second.poll() is None
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            out, _ = second.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
            out, _ = second.communicate()
    assert api.count("PATCH", "/scale") == resizes, out  # ... and does not resize it again
    assert api.obj(PYTORCHJOB, "ml", "a")["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 5
    assert "Traceback" not in out
