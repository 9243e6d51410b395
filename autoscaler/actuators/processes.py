"""Process bookkeeping for local jobs: find every process a job started, and end them all.

torchrun starts each worker in a *session of its own* (``start_new_session=True`` in torch's
elastic subprocess handler), so signalling the agent's process group does not reach the
workers, and a SIGKILLed agent leaves its workers running. We therefore tag every process of
a job with an environment variable (inherited by the agent, its workers and their children)
and find them by scanning ``/proc/<pid>/environ``: a process that escaped its parent is still
found, and the tests use the same scan to prove nothing is left behind.

Linux only (``/proc``); no psutil.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

TAG_VARIABLE = "EA_LOCAL_RUN_TAG"  # every process of one local job
GEN_VARIABLE = "EA_LOCAL_RUN_GENERATION"  # ... of one start of it (overlapped restarts)


def _environ_has(pid: int, needle: bytes, proc_root: Path) -> bool:
    try:
        data = (proc_root / str(pid) / "environ").read_bytes()
    except OSError:  # gone, or not ours to read
        return False
    return needle in data.split(b"\0")


def _is_zombie(pid: int, proc_root: Path) -> bool:
    try:
        stat = (proc_root / str(pid) / "stat").read_text()
    except OSError:
        return True
    # the state letter follows the command name in parentheses, which may contain spaces
    return stat[stat.rindex(")") + 2 :].startswith("Z")


def tagged_pids(tag: str, proc_root: Path = Path("/proc")) -> list[int]:
    """Live (non-zombie) processes whose environment holds ``EA_LOCAL_RUN_TAG=<tag>``."""
    return pids_with_env(TAG_VARIABLE, tag, proc_root)


def pids_with_env(name: str, value: str, proc_root: Path = Path("/proc")) -> list[int]:
    """Live (non-zombie) processes, other than this one, whose environment holds
    ``name=value``.

    A process in the middle of ``execve`` shows an empty environment for a moment (the kernel
    sets its bounds only once the new image is loaded), even after its parent's ``Popen`` has
    returned: one scan can miss a process started just now, so callers that must see it poll
    (as :func:`end_tagged` does until its grace period ends)."""
    needle = f"{name}={value}".encode()
    me = os.getpid()
    found = []
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid != me and _environ_has(pid, needle, proc_root) and not _is_zombie(pid, proc_root):
            found.append(pid)
    return sorted(found)


def process_groups(pids: Iterable[int]) -> set[int]:
    """The process-group ids of ``pids`` (those still alive)."""
    groups = set()
    for pid in pids:
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            continue
    return groups


def signal_groups(groups: Iterable[int], sig: signal.Signals) -> None:
    """Send ``sig`` to each whole process group; a group that is already gone is fine."""
    for pgid in groups:
        if pgid <= 1 or pgid == os.getpgrp():
            continue  # never signal init or our own group
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            continue


def end_tagged(
    tag: str,
    grace_s: float,
    *,
    leader: int | None = None,
    leader_grace_s: float = 0.5,
    poll_s: float = 0.05,
    variable: str = TAG_VARIABLE,
) -> list[int]:
    """SIGTERM every process group holding a tagged process, wait up to ``grace_s`` for them
    to exit (training scripts checkpoint then), SIGKILL whatever is left. Returns the pids
    that had to be killed (the leader's quick kill below is not counted).

    ``variable`` picks the tag: the whole job (default) or one generation of it.
    ``leader`` is the launcher (torchrun's agent). Once every other tagged process has exited,
    it has nothing left to protect, yet its own shutdown took 2-3 s here; after
    ``leader_grace_s`` its group gets SIGKILL. Killing it earlier would orphan its workers.
    """
    pids = pids_with_env(variable, tag)
    signal_groups(process_groups(pids), signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    followers_gone_at: float | None = None
    while pids and time.monotonic() < deadline:
        time.sleep(poll_s)
        pids = pids_with_env(variable, tag)
        if leader is not None and pids == [leader]:
            now = time.monotonic()
            followers_gone_at = followers_gone_at or now
            if now - followers_gone_at >= leader_grace_s:
                signal_groups(process_groups([leader]), signal.SIGKILL)
                _kill(leader)
    if pids and pids != [leader]:
        signal_groups(process_groups(pids), signal.SIGKILL)
        for pid in pids:  # a process that left its group still gets the signal
            _kill(pid)
        return pids
    return []


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def reap(proc: subprocess.Popen[bytes] | None, log: IO[bytes] | None) -> None:
    """Collect an ended launcher (SIGKILL if it has not exited 5 s after being ended) and close
    its log, so no zombie or open file outlives a start."""
    if proc is not None:
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if log is not None:
        log.close()
