"""How long a local job outlives its controller after ``kill -9`` (issue 8).

Starts ``energy-autoscaler local`` on the example at 2 workers, waits for its first window,
SIGKILLs the controller (``--with-agent``: and torchrun's agent at the same moment, so only the
watchdog can clean up), and prints the seconds until no process of the job is left.

    .venv/bin/python benchmarks/local_kill9.py [--with-agent]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from autoscaler.actuators.processes import pids_with_env

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--with-agent", action="store_true", help="kill torchrun's agent too")
    args = p.parse_args()
    marker = uuid.uuid4().hex
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "autoscaler", "local", "--no-live", "--no-overlap",
               "--min", "2", "--max", "2", "--interval", "2", "--report", f"{tmp}/report", "--",
               sys.executable, str(REPO / "examples/train_elastic.py"), "--checkpoint",
               f"{tmp}/ckpt.pt", "--hidden", "64", "--global-batch", "256"]  # fmt: skip
        env = {**os.environ, "EA_BENCH_MARKER": marker}
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if "window=" in line:
                break
        tree = pids_with_env("EA_BENCH_MARKER", marker)
        if args.with_agent:
            for pid in tree:
                if b"agent.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        proc.kill()
        proc.wait()
        while pids_with_env("EA_BENCH_MARKER", marker) and time.monotonic() - t0 < 120:
            time.sleep(0.05)
        left = pids_with_env("EA_BENCH_MARKER", marker)
        who = "the controller and the agent" if args.with_agent else "the controller"
        took_s = time.monotonic() - t0
        print(f"kill -9 of {who}: {len(tree)} processes, {len(left)} left after {took_s:.2f} s")
        return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
