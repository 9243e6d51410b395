"""Local mode with a plain DDP tutorial script (``examples/ddp_tutorial.py``): no SIGTERM handler,
a snapshot per epoch, only samples reported.

Issue 10, failure mode 4: with such a script the engine measured 1 worker as clearly cheaper per
sample than 2, then held at 2 for the rest of the run, because noisy windows at 2 tripped drift
detection and the windows at 1 were forgotten. The run here must end at a degree whose measured
J/sample is within 10 % of the best J/sample the run measured at any degree, without a resize
loop. Only the report's own measurements are compared (the machine is shared, so absolute
timings mean nothing), and every resize kills the workers mid-epoch: the script must still
finish from its snapshots.

No ``--total-samples``: told that the job is a minute of work, the engine rightly finds that no
trial of another degree pays back, and never measuring a second degree would make this test say
nothing. Without it the engine plans as for a long job (one hour of remaining work), explores as
at the start of a real run, and this miniature job ends after ``EPOCHS`` epochs anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from autoscaler.actuators.processes import pids_with_env
from tests.local.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_available")]

SCRIPT = REPO / "examples" / "ddp_tutorial.py"
MARKER = "EA_TEST_MARKER"
EPOCHS = 60
# Twice the script's default --dataset-size: 0.5-6 s per epoch here. With the default, a quiet
# machine (67k samples/s at 1 worker) finished all 60 epochs in 36 s, while the trial at 2
# begun at 23 s was still measuring: the job ended at the trial, whatever the engine decided.
EPOCH_SAMPLES = 65536
# After the first start, measuring each other degree once and settling takes at most 3 resizes
# (2 -> 1 -> 3 -> 1). The engine before issue 10 took 4 here (2 -> 1 -> 2 -> 3 -> 1): it tried 2
# again after measuring 1 at 0.30 and 2 at 0.50 mJ/sample, a gap no noise explains.
MAX_RESIZES = 3
TOLERANCE = 0.10


def _run(tmp: Path, start: int) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    argv = [
        sys.executable, "-m", "autoscaler", "local", "--no-live",
        "--min", "1", "--max", "3", "--start", str(start), "--interval", "5s",
        "--objective", "energy",
        "--report", str(tmp / "report"),
        "--",
        sys.executable, str(SCRIPT), "--snapshot", str(tmp / "snapshot.pt"),
        "--epochs", str(EPOCHS), "--dataset-size", str(EPOCH_SAMPLES),
    ]  # fmt: skip
    env = {**os.environ, MARKER: uuid.uuid4().hex}
    env.pop("EA_STATIC_POWER", None)  # the CPU-time estimate alone, as documented
    done = subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert pids_with_env(MARKER, env[MARKER]) == [], "processes of the job outlived the run"
    report: dict[str, Any] = json.loads((tmp / "report" / "report.json").read_text())
    return done, report


def describe(report: dict[str, Any]) -> str:
    """The run in a few lines: per-degree measurements, the path, every decision's reason."""
    lines = [
        f"outcome={report['outcome']} final={report['final_replicas']} "
        f"wall={report['wall_s']:.0f}s samples={report['samples_done']:.0f}",
        "degrees: " + " -> ".join(str(r["to_replicas"]) for r in report["resizes"]),
    ]
    for n, m in sorted(report["measured"].items(), key=lambda kv: int(kv[0])):
        lines.append(
            f"  {n}: {1e3 * m['energy_per_sample_j']:.4f} mJ/sample, "
            f"{m['throughput_sps']:.0f} samples/s, {m['windows']} window(s) [{m['source']}]"
        )
    for d in report["decisions"]:
        lines.append(
            f"  t={d['now_s'] - report['started_at_s']:6.1f}s at {d['current']} -> "
            f"{d['replicas']} {d['reason']}: {d['message']}"
        )
    return "\n".join(lines)


def final_vs_best(report: dict[str, Any]) -> tuple[float, float]:
    """(measured J/sample at the final degree, best measured J/sample at any degree)."""
    measured = report["measured"]
    final = str(report["final_replicas"])
    assert final in measured, f"the final degree {final} was never measured\n{describe(report)}"
    best = min(m["energy_per_sample_j"] for m in measured.values())
    return measured[final]["energy_per_sample_j"], best


@pytest.mark.parametrize("start", [1, 2])
def test_plain_ddp_script_ends_near_its_own_best_degree(tmp_path: Path, start: int) -> None:
    done, report = _run(tmp_path, start)
    text = describe(report)
    print(text)  # the figures, with -s
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{text}"
    assert report["outcome"] == "finished", text

    # The script resumed from its epoch snapshots after every kill and trained every epoch.
    torch = pytest.importorskip("torch")
    snapshot = torch.load(tmp_path / "snapshot.pt", map_location="cpu", weights_only=True)
    assert snapshot["epochs_run"] == EPOCHS, text

    resizes = [r for r in report["resizes"] if r["from_replicas"]]
    assert len(resizes) <= MAX_RESIZES, f"resize loop\n{text}"
    assert len(report["measured"]) >= 2, f"it never measured a second degree\n{text}"

    final_j, best_j = final_vs_best(report)
    ratio = final_j / best_j
    print(f"final/best J/sample = {ratio:.3f}")
    assert ratio <= 1.0 + TOLERANCE, f"ended at {ratio:.3f} x the best it measured\n{text}"
