"""Measurement suite set-up: the real Prometheus fixture, real worker processes, RAPL trees."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_server import PrometheusServer, prometheus_server

from autoscaler.actuators.torchrun_cmd import free_port

__all__ = ["PrometheusServer", "prometheus_server"]

WORKER_SCRIPT = Path(__file__).with_name("worker_script.py")


class WorkerProcess:
    """A real training-like process using the Reporter, stepping at a known rate."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.port = port
        self.endpoint = f"127.0.0.1:{port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker() -> Iterator[StartWorker]:
    """``start_worker(job="j", samples_per_step=8, steps_per_s=20, world_size=1, extra_env={})``
    starts a worker process and waits until its endpoint answers; all are stopped after the test."""
    started: list[WorkerProcess] = []

    def start(
        job: str,
        samples_per_step: int = 8,
        steps_per_s: float = 20.0,
        world_size: int = 1,
        rank: int = 0,
        args: tuple[str, ...] = (),
        extra_env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        port = free_port()
        env = {
            **os.environ,
            "EA_METRICS_PORT": str(port),
            "EA_METRICS_ADDR": "127.0.0.1",
            "EA_JOB": job,
            "RANK": str(rank),
            "LOCAL_RANK": "0",
            "WORLD_SIZE": str(world_size),
            "EA_ENERGY_SOURCES": "estimate",
            **(extra_env or {}),
        }
        cmd = [
            sys.executable,
            str(WORKER_SCRIPT),
            f"--samples-per-step={samples_per_step}",
            f"--steps-per-s={steps_per_s}",
            *args,
        ]
        proc = subprocess.Popen(cmd, env=env)
        worker = WorkerProcess(proc, port)
        started.append(worker)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"worker exited with {proc.returncode}"
            try:
                httpx.get(f"http://{worker.endpoint}/metrics", timeout=1.0)
                return worker
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("worker endpoint did not come up in 15 s")

    yield start
    for w in started:
        w.stop()


def write_rapl_zone(
    root: Path, zone: str, name: str, energy_uj: int, max_uj: int = 262143328850
) -> Path:
    """One powercap zone directory as the kernel lays it out."""
    d = root / zone
    d.mkdir(parents=True, exist_ok=True)
    (d / "name").write_text(f"{name}\n")
    (d / "energy_uj").write_text(f"{energy_uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return d
