"""The DDP hook's sync-wait timing: its bookkeeping (unit), and a real 2-worker gloo job under
torchrun whose windows show 0 < sync_s < step_s (slow)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the 'train' extra (torch) is not installed")

from autoscaler.actuators.torchrun_cmd import free_port
from autoscaler.decision.types import Quality
from autoscaler.sources import ScrapeSource, SourceError, compute_window
from autoscaler.worker.ddp import SyncTimer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_elastic.py"


class Sink:
    def __init__(self) -> None:
        self.waits: list[float] = []
        self.on = False

    def add_sync(self, seconds: float) -> None:
        self.waits.append(seconds)

    def measure_sync(self) -> None:
        self.on = True


def test_the_wait_runs_from_the_last_launch_to_the_last_completion_in_any_order() -> None:
    now = [0.0]
    sink = Sink()
    timer = SyncTimer(sink, clock=lambda: now[0])
    # step 1: bucket 0 launched at 1.0 and completed at 1.5 (overlapped with compute), the last
    # bucket launched at 3.0; completions arrive out of order, the last at 3.4
    now[0] = 1.0
    timer.launched(last=False)
    now[0] = 1.5
    timer.completed()
    now[0] = 2.0
    timer.launched(last=False)
    now[0] = 3.0
    timer.launched(last=True)
    now[0] = 3.2
    timer.completed()
    assert sink.waits == []  # one bucket still in flight
    now[0] = 3.4
    timer.completed()
    assert sink.waits == [pytest.approx(0.4)]
    # step 2: everything finished before backward did (fully hidden): wait 0, never negative
    now[0] = 5.0
    timer.launched(last=True)
    now[0] = 5.0
    timer.completed()
    assert sink.waits[-1] == 0.0
    assert timer.steps == 2


def _stepping(ports: list[int], min_steps: int) -> bool:
    source = ScrapeSource([f"127.0.0.1:{p}" for p in ports], timeout_s=2.0)
    try:
        snap = source.snapshot()
    except SourceError:
        return False
    finally:
        source.close()
    counts = [w.steps.steps if w.steps else 0.0 for w in snap.workers.values()]
    return len(counts) == len(ports) and min(counts) >= min_steps


def _scrape_window(ports: list[int], wait_s: float) -> tuple[object, object]:
    source = ScrapeSource([f"127.0.0.1:{p}" for p in ports], timeout_s=5.0)
    try:
        before = source.snapshot()
        time.sleep(wait_s)
        after = source.snapshot()
    finally:
        source.close()
    return before, after


@pytest.mark.slow
def test_a_real_two_worker_gloo_job_reports_sync_wait_below_its_step_time(tmp_path: Path) -> None:
    base = free_port()
    env = {
        **os.environ,
        "EA_METRICS_PORT": str(base),
        "EA_METRICS_ADDR": "127.0.0.1",
        "EA_JOB": "ddp-sync",
        "EA_ENERGY_SOURCES": "estimate",
        "OMP_NUM_THREADS": "1",
    }
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--master-port", str(free_port()), str(EXAMPLE),
        "--checkpoint", str(tmp_path / "ckpt.pt"), "--hidden", "256",
        "--global-batch", "128", "--checkpoint-every", "100000",
    ]  # fmt: skip
    log = (tmp_path / "torchrun.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=log, stderr=log)
    ports = [base, base + 1]
    try:
        deadline = time.monotonic() + 90
        while not _stepping(ports, min_steps=20):  # past start-up and DDP's bucket rebuild
            assert proc.poll() is None, f"torchrun exited with {proc.returncode}"
            assert time.monotonic() < deadline, "workers did not start stepping in 90 s"
            time.sleep(0.5)
        before, after = _scrape_window(ports, 5.0)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    w = compute_window(before, after, replicas=2)  # type: ignore[arg-type]
    assert w.quality in (Quality.OK,), w.note
    assert w.nodes == 1
    assert w.batch_per_worker == pytest.approx(64)
    assert w.step_s is not None and w.sync_s is not None, w
    assert 0.0 < w.sync_s < w.step_s, w
    print(f"2 gloo workers: step {w.step_s * 1e3:.2f} ms, sync wait {w.sync_s * 1e3:.2f} ms")
