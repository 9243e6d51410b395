"""The torchrun actuator against real torchrun (gloo on CPU): the degree really changes, the
job resumes from its checkpoint without losing or repeating a step, nothing is left running,
and a command that dies at start is reported once, clearly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from autoscaler.actuators.torchrun import StartupError, TorchrunActuator
from tests.local.conftest import assert_no_step_lost_or_repeated, read_steps, train_command

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("torch_available")]


def _wait_for_more_steps(tmp: Path, at_least: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(read_steps(tmp)) < at_least and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapped", "plain"])
def test_scale_1_2_1_changes_world_size_and_loses_no_step(tmp_path: Path, overlap: bool) -> None:
    job = TorchrunActuator(
        train_command(tmp_path), tmp_path / "logs", max_replicas=2, overlap=overlap
    )
    try:
        worlds_seen = []
        for n in (1, 2, 1):
            job.scale_to(n)
            assert job.current() == n and job.running()
            _wait_for_more_steps(tmp_path, len(read_steps(tmp_path)) + 5)
            worlds_seen.append(read_steps(tmp_path)[-1]["world"])
    finally:
        job.stop()
    assert worlds_seen == [1, 2, 1]
    steps = read_steps(tmp_path)
    assert_no_step_lost_or_repeated(steps)
    assert [e.to_replicas for e in job.resizes] == [1, 2, 1]
    assert all(e.latency_s is not None and e.latency_s > 0 for e in job.resizes)
    for e in job.resizes[1:]:  # overlapped: the old workers trained while the new ones started
        assert e.downtime_s is not None and e.latency_s is not None
        assert (e.downtime_s < e.latency_s) == overlap
        assert (e.old_samples is not None and e.old_samples > 0) == overlap
    assert job.leftover_pids() == []


def test_command_that_crashes_at_start_raises_once_with_its_log(tmp_path: Path) -> None:
    job = TorchrunActuator(
        train_command(tmp_path, "--crash-at-start"), tmp_path / "logs", max_replicas=2
    )
    with pytest.raises(StartupError) as err:
        job.scale_to(2)
    message = str(err.value)
    assert "exited with code" in message and "--crash-at-start given" in message
    assert not job.running() and job.leftover_pids() == []
    assert len(list((tmp_path / "logs").glob("torchrun-*.log"))) == 1
