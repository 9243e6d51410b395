"""torchrun command lines, free ports, and reading a failed start's log: the pure-ish helpers
of the torchrun actuator, kept apart so that it reads as lifecycle only."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from autoscaler.actuators.base import ActuatorError
from autoscaler.actuators.processes import GEN_VARIABLE, TAG_VARIABLE


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


AGENT_SCRIPT = str(Path(__file__).with_name("agent.py"))  # run by path: see agent.py


def is_python_command(command: Sequence[str]) -> bool:
    return bool(command) and Path(command[0]).name.startswith("python")


def gate_supported(command: Sequence[str]) -> bool:
    """Whether the overlapped-restart launcher can run this command: ``python script.py``,
    ``python -m module`` or ``python -c code`` (interpreter options such as ``-u`` or ``-X``
    it cannot pass on, so those commands get plain restarts)."""
    if not is_python_command(command) or len(command) < 2:
        return False
    first = command[1]
    return first in ("-m", "-c") or not first.startswith("-")


def torchrun_argv(
    command: Sequence[str], nproc: int, rdzv_port: int, run_id: str, gate: Path | None = None
) -> list[str]:
    """The torchrun command line for ``command`` at ``nproc`` workers on this host.

    ``python script.py …`` and ``python -m mod …`` run under that same interpreter's torchrun
    (so a virtual environment's python brings its own torch), as the agent script
    (:mod:`autoscaler.actuators.agent`: dies with the controller, loopback-only stores).
    ``python -c code …`` and python with interpreter options (``-u``, ``-X dev``) are run
    whole with ``--no-python`` (torchrun would take ``-c`` for an option of its own and print
    its usage), as is anything else. With ``gate``, python commands the launcher supports run
    under the overlapped-restart launcher (:mod:`autoscaler.actuators.prestart`).
    """
    if not command:
        raise ValueError("empty training command")
    if is_python_command(command):
        python, rest = command[0], list(command[1:])
        no_python: list[str] = []
        if gate is not None and gate_supported(command):
            rest = ["-m", "autoscaler.actuators.prestart", str(gate), *rest]
        elif rest and rest[0].startswith("-") and rest[0] != "-m":
            rest, no_python = list(command), ["--no-python"]
    else:
        python, rest, no_python = sys.executable, list(command), ["--no-python"]
    return [
        python, AGENT_SCRIPT,
        "--nnodes", "1",
        "--nproc-per-node", str(nproc),
        "--rdzv-backend", "c10d",
        "--rdzv-endpoint", f"127.0.0.1:{rdzv_port}",
        "--rdzv-id", run_id,
        "--local-addr", "127.0.0.1",
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
            "torch/distributed/run.py" in later or AGENT_SCRIPT in later
            for later in raw[i + 1 : i + 5]
        ):
            break  # the agent's own traceback and summary follow
        if line.startswith("$ ") or _TORCH_LOG_LINE.match(line) or not line.strip():
            continue
        if any(noise in line for noise in _NOISE):
            continue
        kept.append(line)
    return "\n".join(kept[-lines:]) if kept else "\n".join(raw[-lines:])


_FAILURE = re.compile(
    r"^\s*rank\s*:\s*(\d+)\s*\(local_rank:\s*\d+\)\s*\n\s*exitcode\s*:\s*(-?\d+)", re.MULTILINE
)


def failure_cause(log_text: str) -> str | None:
    """What torchrun's failure table says ended the job, in words: "worker rank 1 was killed by
    SIGKILL" (a negative exit code is the signal), or "worker rank 0 exited with code 3"; the
    root cause (torchrun lists it last) first, then other workers killed by something other
    than torchrun's own SIGTERM. None when the log has no failure table."""
    causes: list[str] = []
    for rank, code_text in _FAILURE.findall(log_text):
        code = int(code_text)
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            cause = f"worker rank {rank} was killed by {name}"
        else:
            cause = f"worker rank {rank} exited with code {code}"
        if cause not in causes:
            causes.append(cause)
    if not causes:
        return None
    root = causes.pop()  # the root cause is the table's last entry; torchrun's own SIGTERMs
    others = [c for c in causes if not c.endswith("SIGTERM")]  # to the rest are no news
    return "; ".join([root, *others])


def worker_env(base: Mapping[str, str], *, tag: str, generation: int, base_port: int,
               port_dir: Path, token: str, job_name: str) -> dict[str, str]:
    """The environment of one start's processes: ``base`` (the controller's own plus the
    user's), loopback-only collectives unless the user says otherwise, and what the reporter
    and the process tagging need (the run token by environment only, never on a command line)."""
    return {
        "GLOO_SOCKET_IFNAME": "lo",  # single host: collectives listen on loopback only
        "NCCL_SOCKET_IFNAME": "lo",  # (a user's own setting wins)
        **base,
        TAG_VARIABLE: tag,
        GEN_VARIABLE: f"{tag}-{generation}",
        "EA_METRICS_PORT": str(base_port),
        "EA_METRICS_ADDR": "127.0.0.1",
        "EA_METRICS_PORT_DIR": str(port_dir),
        "EA_RUN_TOKEN": token,
        "EA_CONTROLLER_PID": str(os.getpid()),
        "EA_JOB": job_name,
        "PYTHONUNBUFFERED": "1",
    }


def log_tail(path: Path, lines: int = 15) -> str:
    """The workers' last output lines in a torchrun log ("(no log)" when it cannot be read)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return worker_output_tail(text, lines)
