"""Worker-side launcher for overlapped restarts; runs *inside* each new worker process.

Most of a restart is start-up, not stopping: ``import torch`` in torchrun's agent and in every
worker took 2 s on an idle core and 7-8 s on a loaded one here, while stopping takes ~1 s. So
the torchrun actuator starts the new generation *while the old one still trains*, under this
launcher: it imports torch, says it is ready (a file next to the gate), waits for the gate
file, and only then runs the training script in this same process (its ``import torch`` is
then free). The actuator opens the gate once the old generation has written its final
checkpoint and exited, so the script resumes from it exactly as after a plain restart — no
cooperation from the script needed. Standard library only, besides the torch import.

    python -m autoscaler.actuators.prestart GATE script.py ARGS...
    python -m autoscaler.actuators.prestart GATE -m package.module ARGS...
    python -m autoscaler.actuators.prestart GATE -c CODE ARGS...
"""

from __future__ import annotations

import contextlib
import importlib
import os
import runpy
import sys
import time
from pathlib import Path


def ready_path(gate: Path, local_rank: int) -> Path:
    return gate.with_name(f"{gate.name}.ready.{local_rank}")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        raise SystemExit("usage: python -m autoscaler.actuators.prestart GATE script.py [args]")
    gate, target = Path(args[0]), args[1:]
    # The expensive part, overlapped with the old generation: torch and what a DDP script
    # imports next (distributed, DDP, the reporter). Missing ones are simply not preloaded.
    for module in ("torch", "torch.distributed", "torch.nn.parallel", "autoscaler.worker"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    ready_path(gate, int(os.environ.get("LOCAL_RANK", "0"))).touch()
    while not gate.exists():  # SIGTERM meanwhile: default action, we simply end
        time.sleep(0.05)
    if target[0] == "-c":  # as ``python -c``: sys.argv[0] is "-c", the code runs in __main__
        sys.argv = ["-c", *target[2:]]
        sys.path[0] = ""
        exec(compile(target[1], "<string>", "exec"), {"__name__": "__main__"})
    elif target[0] == "-m":
        sys.argv = [target[1], *target[2:]]
        runpy.run_module(target[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = target
        sys.path[0] = str(Path(target[0]).resolve().parent)
        runpy.run_path(target[0], run_name="__main__")


if __name__ == "__main__":
    main()
