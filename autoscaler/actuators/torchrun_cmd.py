"""torchrun command lines, free ports, and reading a failed start's log: the pure-ish helpers
of the torchrun actuator, kept apart so that it reads as lifecycle only."""

from __future__ import annotations

import re
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from autoscaler.actuators.base import ActuatorError


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel says is free now (there is a small race until someone binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_port_block(count: int, host: str = "127.0.0.1", tries: int = 50) -> int:
    """The first of ``count`` consecutive free ports."""
    for _ in range(tries):
        base = free_port(host)
        if base + count > 65535:
            continue
        held = []
        try:
            for p in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(s)
                s.bind((host, p))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise ActuatorError(f"no block of {count} free ports found on {host}")


def is_python_command(command: Sequence[str]) -> bool:
    return bool(command) and Path(command[0]).name.startswith("python")


def torchrun_argv(
    command: Sequence[str], nproc: int, rdzv_port: int, run_id: str, gate: Path | None = None
) -> list[str]:
    """The torchrun command line for ``command`` at ``nproc`` workers on this host.

    ``python script.py …`` and ``python -m mod …`` run under that same interpreter's torchrun
    (so a virtual environment's python brings its own torch); anything else is run with
    ``--no-python``. With ``gate``, python commands run under the overlapped-restart
    launcher (:mod:`autoscaler.actuators.prestart`).
    """
    if not command:
        raise ValueError("empty training command")
    exe = Path(command[0]).name
    if exe.startswith("python"):
        python, rest = command[0], list(command[1:])
        no_python: list[str] = []
        if gate is not None:
            rest = ["-m", "autoscaler.actuators.prestart", str(gate), *rest]
    else:
        python, rest, no_python = sys.executable, list(command), ["--no-python"]
    return [
        python, "-m", "torch.distributed.run",
        "--nnodes", "1",
        "--nproc-per-node", str(nproc),
        "--rdzv-backend", "c10d",
        "--rdzv-endpoint", f"127.0.0.1:{rdzv_port}",
        "--rdzv-id", run_id,
        "--max-restarts", "0",
        *no_python, *rest,
    ]  # fmt: skip


_TORCH_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d")
_NOISE = ("FutureWarning: The pynvml package", "import pynvml", "OMP_NUM_THREADS", "*****")


def worker_output_tail(log_text: str, lines: int = 15) -> str:
    """The workers' own last words from a torchrun log: the agent's log lines, its traceback
    and failure table (which only repeat "exit code 1") are dropped, so a user sees *their*
    script's error first."""
    kept: list[str] = []
    raw = log_text.splitlines()
    for i, line in enumerate(raw):
        if line.startswith("Traceback (most recent call last):") and any(
            "torch/distributed/run.py" in later for later in raw[i + 1 : i + 5]
        ):
            break  # the agent's own traceback and summary follow
        if line.startswith("$ ") or _TORCH_LOG_LINE.match(line) or not line.strip():
            continue
        if any(noise in line for noise in _NOISE):
            continue
        kept.append(line)
    return "\n".join(kept[-lines:]) if kept else "\n".join(raw[-lines:])
