"""What makes a local job *owned* by its controller: the watchdog that outlives a killed
controller, the private run directory, and the files the workers leave there.

The private run directory (0700, under :func:`~autoscaler.actuators.runlock.runtime_base`)
has one folder per start (``gen-<n>``); each worker's reporter writes the port it actually
bound (``rank-<r>.port``: it falls back to an ephemeral port when another process holds its
assigned one) and, on close, its final sample count (``rank-<r>.final``). Only this user can
write there, so a port read from it is trusted as far as where to scrape; *what* answers there
still has to prove the run token (:mod:`autoscaler.worker.serve`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from autoscaler.actuators.watchdog import DONE


class Watchdog:
    """The per-run watchdog process (:mod:`autoscaler.actuators.watchdog`). ``start`` once;
    ``done`` after the job was stopped on purpose. If this process dies first, the kernel
    closes the pipe and the watchdog ends the job itself."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._pipe: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self, tag: str, grace_s: float, hold_fds: Sequence[int], run_dir: Path) -> None:
        if self._proc is not None:
            return
        read_end, write_end = os.pipe()
        env = {k: v for k, v in os.environ.items() if not k.startswith("EA_LOCAL_RUN_")}
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "autoscaler.actuators.watchdog", tag, f"{grace_s:g}",
                 str(run_dir)],
                stdin=read_end, stdout=subprocess.DEVNULL, env=env,
                start_new_session=True, pass_fds=tuple(hold_fds),
            )  # fmt: skip
        finally:
            os.close(read_end)
        self._pipe = os.fdopen(write_end, "wb")  # closed by GC too: then the watchdog cleans

    def done(self, timeout_s: float = 10.0) -> None:
        """The job was stopped here: tell the watchdog, and wait for it (it releases the run
        lock's descriptors it holds and removes the run directory)."""
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                self._pipe.write(DONE)
                self._pipe.flush()
            with contextlib.suppress(OSError):
                self._pipe.close()
            self._pipe = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None


def generation_dir(run_dir: Path, generation: int) -> Path:
    return run_dir / f"gen-{generation}"


def read_ports(directory: Path, replicas: int, base_port: int) -> list[int]:
    """Each worker's port: the one it wrote, else its assigned ``base_port + rank``."""
    ports = []
    for rank in range(replicas):
        try:
            ports.append(int((directory / f"rank-{rank}.port").read_text().strip()))
        except (OSError, ValueError):
            ports.append(base_port + rank)
    return ports


def final_samples(run_dir: Path) -> float:
    """Samples every worker of every start reported when it closed (0 where none did)."""
    total = 0.0
    for path in run_dir.glob("gen-*/rank-*.final"):
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            total += float(json.loads(path.read_text())["samples"])
    return total
