"""``energy-autoscaler local`` end to end, with real torchrun: dry-run never resizes, SIGTERM
ends every process with a final checkpoint and still writes the report, and a command that
crashes at start gets one clear error instead of a resize loop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO, Any

import pytest

from autoscaler.actuators.processes import pids_with_env
from tests.local.conftest import REPO, assert_no_step_lost_or_repeated, read_steps, train_command

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_available")]
MARKER = "EA_TEST_MARKER"


def _start(tmp: Path, marker: str, flags: list[str], *extra: str) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "autoscaler",
        "local",
        "--no-live",
        "--report",
        str(tmp / "report"),
        *flags,
        "--",
        *train_command(tmp, *extra),
    ]
    env = {**os.environ, MARKER: marker}
    return subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _read_until(out: IO[str], predicate: Any, timeout_s: float = 90.0) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = out.readline()
        if not line:
            break
        lines.append(line)
        if predicate(line):
            return lines
    raise AssertionError("expected output never came:\n" + "".join(lines[-20:]))


def _report(tmp: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp / "report" / "report.json").read_text())
    return data


def _no_process_left(marker: str) -> None:
    assert pids_with_env(MARKER, marker) == []


def test_dry_run_recommends_but_never_resizes(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    proc = _start(tmp_path, marker, ["--dry-run", "--min", "1", "--max", "2", "--interval", "2"])
    try:
        assert proc.stdout is not None
        _read_until(proc.stdout, lambda line: "recommend=2" in line)
        _read_until(proc.stdout, lambda line: "recommend=" in line)  # and it stays at 1
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    report = _report(tmp_path)
    assert [r["to_replicas"] for r in report["resizes"]] == [1]  # the first start only
    assert any(d["resize"] for d in report["decisions"])  # it did recommend a change
    assert {s["world"] for s in read_steps(tmp_path)} == {1}
    assert report["chosen_replicas"] == report["decisions"][-1]["replicas"]
    _no_process_left(marker)


def test_sigterm_stops_every_process_checkpoints_and_writes_the_report(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    proc = _start(tmp_path, marker, ["--min", "2", "--max", "2", "--interval", "2"])
    try:
        assert proc.stdout is not None
        _read_until(proc.stdout, lambda line: "decide=" in line)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "report:" in out
    _no_process_left(marker)
    report = _report(tmp_path)
    assert report["outcome"] == "interrupted"
    steps = read_steps(tmp_path)
    assert_no_step_lost_or_repeated(steps)
    torch = pytest.importorskip("torch")
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert ckpt["step"] == steps[-1]["step"]  # the final checkpoint holds the last step
    assert (tmp_path / "report" / "report.png").exists()


def test_command_crashing_at_start_gets_a_clear_error_and_no_resize_loop(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    proc = _start(tmp_path, marker, ["--max", "3", "--interval", "2"], "--crash-at-start")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "error: the training command exited with code 1 before its first step" in out
    assert "--crash-at-start given" in out
    assert "Traceback" not in out.split("error:", 1)[1]
    assert len(list((tmp_path / "report" / "logs").glob("torchrun-*.log"))) == 1
    assert _report(tmp_path)["outcome"].startswith("failed")
    _no_process_left(marker)
