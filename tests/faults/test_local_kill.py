"""Faults against a real ``energy-autoscaler local`` run (real torchrun, the example script):
kill -9 of the controller (alone, and with torchrun's agent) leaves no process behind, a second
run of the same job is refused while the first lives, nothing listens beyond loopback, the run
token never shows, a worker's SIGKILL is named, ``python -c`` runs, a taken metrics port is not
fatal, and the report counts every trained sample."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import IO, Any

import pytest

from autoscaler.actuators import runlock
from autoscaler.actuators.processes import pids_with_env
from autoscaler.actuators.torchrun import TorchrunActuator
from tests.faults.sockets import listening
from tests.local.conftest import REPO, read_steps, train_command

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_available")]
MARKER = "EA_TEST_MARKER"


@pytest.fixture
def torch_available() -> None:
    pytest.importorskip("torch", reason="the 'train' extra (torch) is not installed")


@pytest.fixture
def marker() -> Iterator[str]:
    value = uuid.uuid4().hex
    yield value
    for pid in pids_with_env(MARKER, value):  # whatever a failed test left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _env(tmp: Path, marker: str) -> dict[str, str]:
    return {**os.environ, MARKER: marker, runlock.RUNTIME_DIR_VARIABLE: str(tmp / "rt")}


def _local(tmp: Path, marker: str, flags: list[str], *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "autoscaler", "local", "--no-live", "--no-overlap",
            "--report", str(tmp / "report"), *flags, "--", *train_command(tmp, *extra)]  # fmt: skip
    return subprocess.Popen(argv, cwd=REPO, env=_env(tmp, marker), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _read_until(out: IO[str], needle: str, timeout_s: float = 150.0) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = out.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} never came:\n" + "".join(lines[-20:]))


def _gone_within(marker: str, timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (left := pids_with_env(MARKER, marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(x.decode().split("=", 1) for x in raw if b"=" in x)


def test_kill_9_of_the_controller_leaves_nothing_and_a_rerun_is_refused_meanwhile(
    tmp_path: Path, marker: str
) -> None:
    proc = _local(tmp_path, marker, ["--min", "2", "--max", "2", "--interval", "2"])
    try:
        assert proc.stdout is not None
        seen = _read_until(proc.stdout, "window=")  # a window: scrapes proved the token
        tree = pids_with_env(MARKER, marker)
        assert len(tree) >= 4  # controller, watchdog, agent, 2 workers

        # nothing the run opened listens beyond loopback (c10d stores, gloo, metrics)
        sockets = listening(tree)
        assert sockets and all(addr in ("127.0.0.1", "::1") for _pid, addr, _port in sockets), (
            sockets
        )

        # the run token is in the workers' environment only: never printed or logged
        workers = [p for p in tree if "LOCAL_RANK" in _environ(p)]
        token = _environ(workers[0])["EA_RUN_TOKEN"]
        assert len(token) >= 32
        logs = "".join(p.read_text() for p in (tmp_path / "report" / "logs").glob("*.log"))
        assert token not in logs and token not in "".join(seen)

        # a second run of the same job while the first lives: one line, exit 2
        second = subprocess.run(
            [sys.executable, "-m", "autoscaler", "local", "--no-live", "--",
             *train_command(tmp_path)],
            cwd=REPO, env=_env(tmp_path, marker), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 2, second.stderr
        assert "another energy-autoscaler local run" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1

        proc.kill()  # kill -9: the controller runs no code at all
        proc.wait()
        assert _gone_within(marker, 20.0) == []
    finally:
        proc.kill()
    # the lock went with the last process: the job may run again
    os.environ[runlock.RUNTIME_DIR_VARIABLE] = str(tmp_path / "rt")
    try:
        keys = runlock.lock_keys(train_command(tmp_path), REPO, None)
        runlock.acquire(keys).release()
    finally:
        del os.environ[runlock.RUNTIME_DIR_VARIABLE]


def test_kill_9_of_controller_and_agent_together_still_ends_the_workers(
    tmp_path: Path, marker: str
) -> None:
    proc = _local(tmp_path, marker, ["--min", "2", "--max", "2", "--interval", "2"])
    try:
        assert proc.stdout is not None
        _read_until(proc.stdout, "window=")
        agents = [p for p in pids_with_env(MARKER, marker) if "agent.py" in _cmdline(p)]
        assert len(agents) == 1
        os.kill(agents[0], signal.SIGKILL)  # the agent's own handling cannot help now
        proc.kill()
        proc.wait()
        assert _gone_within(marker, 45.0) == []  # the watchdog's SIGTERM, then SIGKILL
    finally:
        proc.kill()


def test_a_workers_sigkill_is_named_in_the_error(tmp_path: Path, marker: str) -> None:
    proc = _local(tmp_path, marker, ["--min", "2", "--max", "2", "--interval", "2"])
    try:
        assert proc.stdout is not None
        _read_until(proc.stdout, "window=")
        workers = [p for p in pids_with_env(MARKER, marker) if _environ(p).get("RANK") == "1"]
        os.kill(workers[0], signal.SIGKILL)
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, out
    assert "worker rank 1 was killed by SIGKILL" in out
    assert _gone_within(marker, 20.0) == []


def test_the_report_counts_every_trained_sample(tmp_path: Path, marker: str) -> None:
    total = 256 * 1500
    proc = _local(tmp_path, marker, ["--min", "1", "--max", "1", "--interval", "2"],
                  "--total-samples", str(total))  # fmt: skip
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out
    trained = 256 * len(read_steps(tmp_path))  # steps of this run x the global batch
    assert trained == total
    report: dict[str, Any] = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["samples_done"] == trained


@pytest.fixture
def taken_port() -> Iterator[int]:
    """Another process already listens where the worker's metrics were meant to go."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ea_samples_total 999999\n")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


CODE = """
import signal, time
from autoscaler.worker import Reporter
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
r = Reporter.from_env().start()
while not stop:
    r.step(samples=4)
    time.sleep(0.01)
r.close()
"""


def test_python_dash_c_runs_and_a_taken_metrics_port_is_not_fatal(
    tmp_path: Path, taken_port: int
) -> None:
    job = TorchrunActuator([sys.executable, "-c", CODE], tmp_path / "logs", max_replicas=1,
                           metrics_base_port=taken_port, overlap=False)  # fmt: skip
    try:
        job.start(1)  # before: torchrun printed its usage text; or the port made it fail
        assert job.resizes[-1].first_step_at_s is not None
        assert job.metrics_ports() != [taken_port]  # the worker said where it went instead
        counters = job.step_probe([taken_port]) if job.step_probe else None
        assert counters is None  # the impostor cannot prove the run token
    finally:
        job.stop()
    assert job.final_samples() > 0
    job.close()
