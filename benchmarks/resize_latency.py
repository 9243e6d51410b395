"""Resize latency of local mode: decision → first step completed by every worker at the new
degree (target: median ≤ 10 s on a 2-core machine).

Runs ``examples/train_elastic.py`` (the demo's configuration) under the torchrun actuator and
resizes it through a sequence of degrees, each held a few seconds. For every resize it prints
the stop part (SIGTERM → final checkpoint → every process gone), how long training was paused
(old workers stopped → first new step; with overlapped restarts the new workers import torch
while the old ones still train), and the latency; then the medians. The
machine's load average is printed before and after: on a shared machine other work inflates
start-up (``import torch`` alone took 2 s on an idle core and 7-8 s at load 5 here).

    .venv/bin/python benchmarks/resize_latency.py [--degrees 1,2,3,2,1,2] [--hold-s 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from autoscaler.actuators.torchrun import TorchrunActuator

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--degrees", default="1,2,3,2,1,2", help="comma list; the first is the start")
    p.add_argument("--hold-s", type=float, default=3.0, help="seconds at each degree")
    p.add_argument("--hidden", default="256")
    p.add_argument("--global-batch", default="2048")
    p.add_argument(
        "--no-overlap", action="store_true", help="plain stop + restart (no overlapped start)"
    )
    args = p.parse_args()
    degrees = [int(x) for x in args.degrees.split(",")]
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    with tempfile.TemporaryDirectory(prefix="ea-resize-") as tmp_dir:
        tmp = Path(tmp_dir)
        command = [
            sys.executable, str(REPO / "examples" / "train_elastic.py"),
            "--checkpoint", str(tmp / "ckpt.pt"),
            "--hidden", args.hidden, "--global-batch", args.global_batch,
        ]  # fmt: skip
        job = TorchrunActuator(
            command, tmp / "logs", max_replicas=max(degrees), overlap=not args.no_overlap
        )
        print(f"overlapped restarts: {job.overlap}")
        try:
            for n in degrees:
                job.scale_to(n)
                time.sleep(args.hold_s)
        finally:
            job.stop()
        left = job.leftover_pids()
    print(f"{'from':>4} {'to':>3} {'stop s':>7} {'paused s':>9} {'latency s':>10}")
    latencies, downtimes = [], []
    for e in job.resizes:
        began = e.requested_at_s if e.stop_began_at_s is None else e.stop_began_at_s
        lat, down = e.latency_s, e.downtime_s
        print(
            f"{e.from_replicas:>4} {e.to_replicas:>3} {e.stopped_at_s - began:>7.2f} "
            f"{down if down is not None else float('nan'):>9.2f} "
            f"{lat if lat is not None else float('nan'):>10.2f}"
            + ("   (first start, not a resize)" if e.from_replicas == 0 else "")
        )
        if e.from_replicas and lat is not None and down is not None:
            latencies.append(lat)
            downtimes.append(down)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if latencies:
        print(
            f"resize latency (decision -> first step at the new degree): median "
            f"{statistics.median(latencies):.2f} s over {len(latencies)} resizes "
            f"(min {min(latencies):.2f}, max {max(latencies):.2f}); target <= 10 s"
        )
        print(
            f"training paused (old workers stopped -> first new step): median "
            f"{statistics.median(downtimes):.2f} s (min {min(downtimes):.2f}, "
            f"max {max(downtimes):.2f})"
        )
    print(f"processes left behind: {len(left)}")
    return 0 if latencies and not left else 1


if __name__ == "__main__":
    sys.exit(main())
