"""``energy-autoscaler sweep`` on a real torchrun job at 1 and 2 workers (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from autoscaler.actuators.processes import pids_with_env
from tests.local.conftest import REPO, assert_no_step_lost_or_repeated, read_steps, train_command

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_available")]
MARKER = "EA_TEST_MARKER"


@pytest.fixture
def torch_available() -> None:
    pytest.importorskip("torch", reason="the 'train' extra (torch) is not installed")


def test_sweep_measures_each_degree_and_writes_the_study(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    report = tmp_path / "report"
    argv = [
        sys.executable, "-m", "autoscaler", "sweep", "--degrees", "1,2",
        "--per-degree", "3s", "--warmup", "1s", "--static-power", "20W",
        "--report", str(report), "--", *train_command(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(
        argv, cwd=REPO, env={**os.environ, MARKER: marker}, capture_output=True, text=True,
        timeout=150,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    # progress per degree, then the table and the files
    assert "[1/2] 1 worker(s): starting" in out and "[2/2] 2 worker(s): starting" in out
    assert "estimate(static 20 W)" in out
    assert "speed-up" in out and "outcome: finished" in out
    study = json.loads((report / "sweep.json").read_text())
    rows = {r["replicas"]: r for r in study["rows"]}
    assert sorted(rows) == [1, 2]
    for r in rows.values():
        assert r["windows"] >= 1 and r["samples"] > 0 and r["energy_j"] > 0
        assert r["energy_source"] == "estimate(static 20 W)"
    assert rows[1]["speedup"] == pytest.approx(1.0)
    assert rows[2]["marginal"] is not None
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"report: {report / 'sweep.json'}")
    for name in ("sweep.json", "sweep.png"):
        assert (str(report / name) in last) == (report / name).exists()
    # the job trained on across the degrees, from its checkpoint; nothing is left running
    steps = read_steps(tmp_path)
    assert {s["world"] for s in steps} == {1, 2}
    assert_no_step_lost_or_repeated(steps)
    assert pids_with_env(MARKER, marker) == []
