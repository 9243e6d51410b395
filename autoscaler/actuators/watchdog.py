"""Ends a local job's processes when its controller dies, even by SIGKILL.

Why a separate process: a controller killed with -9 runs no code, and torchrun's workers live
in sessions of their own, so neither a signal handler nor the process group reaches them. The
torchrun actuator starts this watchdog once per run, in a session of its own, with the read end
of a pipe as stdin; only the controller holds the write end. When the controller ends, however
it ends, the kernel closes that end and this process reads EOF:

- ``done`` was written first: the controller stopped the job itself; nothing to do;
- otherwise: SIGTERM to every process group holding a process tagged with the run's tag (the
  scripts write their final checkpoint), SIGKILL after the grace period — the same
  :func:`~autoscaler.actuators.processes.end_tagged` a normal stop uses.

It also inherits the run lock's descriptors (:mod:`autoscaler.actuators.runlock`), so a rerun
is refused until the last process of the old job is gone, and it removes the run's private
directory. Standard library only; ignores SIGINT/SIGHUP (a terminal's Ctrl-C or hang-up must
not stop the one process that cleans up).

    python -m autoscaler.actuators.watchdog TAG GRACE_S [PRIVATE_DIR]
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
from pathlib import Path

from autoscaler.actuators.processes import end_tagged

DONE = b"done"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3):
        print("usage: python -m autoscaler.actuators.watchdog TAG GRACE_S [DIR]", file=sys.stderr)
        return 2
    tag, grace_s = args[0], float(args[1])
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    said = b""
    with contextlib.suppress(OSError):
        said = sys.stdin.buffer.read()  # blocks until the controller's end closes
    if not said.startswith(DONE):
        end_tagged(tag, grace_s)
    if len(args) == 3:
        shutil.rmtree(Path(args[2]), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
