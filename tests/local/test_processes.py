"""Ending a local job: every tagged process is found, even in sessions of its own, and none
survives — the polite ones by SIGTERM, the stubborn ones by SIGKILL after the grace period."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from autoscaler.actuators.processes import TAG_VARIABLE, end_tagged, tagged_pids


@pytest.fixture
def tag() -> Iterator[str]:
    t = uuid.uuid4().hex
    yield t
    end_tagged(t, grace_s=0.1)  # whatever a failed test left behind


def _spawn(tag: str, script: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, TAG_VARIABLE: tag}
    # a new session, as torchrun gives its workers: signalling our group would not reach it
    return subprocess.Popen(["bash", "-c", script], env=env, start_new_session=True)


def test_tagged_processes_are_found_including_grandchildren_in_other_sessions(tag: str) -> None:
    parent = _spawn(tag, "setsid sleep 30 & sleep 30 & wait")
    try:
        for _ in range(50):
            if len(tagged_pids(tag)) >= 3:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        pids = tagged_pids(tag)
        assert parent.pid in pids and len(pids) == 3
        assert os.getpid() not in pids
    finally:
        end_tagged(tag, grace_s=2.0)
        parent.wait(timeout=5)


def test_processes_that_ignore_sigterm_are_killed_after_the_grace_period(tag: str) -> None:
    stubborn = _spawn(tag, "trap '' TERM; sleep 30 & wait; sleep 30")
    polite = _spawn(tag, "sleep 30")
    for _ in range(50):
        if len(tagged_pids(tag)) >= 3:
            break
        subprocess.run(["sleep", "0.05"], check=True)
    killed = end_tagged(tag, grace_s=0.5)
    stubborn.wait(timeout=5)
    polite.wait(timeout=5)
    assert stubborn.pid in killed and polite.pid not in killed
    assert tagged_pids(tag) == []


def test_other_tags_are_left_alone(tag: str) -> None:
    other = uuid.uuid4().hex
    bystander = _spawn(other, "sleep 30")
    try:
        mine = _spawn(tag, "sleep 30")
        for _ in range(50):
            if tagged_pids(tag) and tagged_pids(other):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        end_tagged(tag, grace_s=2.0)
        mine.wait(timeout=5)
        assert bystander.poll() is None
    finally:
        end_tagged(other, grace_s=0.5)
        bystander.wait(timeout=5)
