"""On a machine with an NVIDIA GPU: does NVML's energy counter agree with integrated power?

Loads GPU 0 (torch matmuls when torch sees CUDA; otherwise whatever is running) for ``--seconds``
(default 30), polls ``nvmlDeviceGetPowerUsage`` every 20 ms and integrates it (trapezoid), and
compares that with the delta of ``nvmlDeviceGetTotalEnergyConsumption`` over the same interval.
Prints both in joules and the disagreement in %; they should agree within ~1% (power readings
are themselves averaged over a short window by the driver, so a few tenths of a % is normal).
It also prints what our ``NvmlSource`` reported over the interval.

Without a GPU (or without the driver) it says so and exits 0: this is never part of CI.

    .venv/bin/python benchmarks/nvml_energy_check.py [--seconds 30 --device 0]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import warnings
from typing import Any


def load_gpu(stop: threading.Event, device: int) -> str:
    try:
        import torch
    except ImportError:
        return "no torch: measuring whatever load the GPU has"
    if not torch.cuda.is_available():
        return "torch sees no CUDA device: measuring whatever load the GPU has"

    def work() -> None:
        with torch.cuda.device(device):
            a = torch.randn(8192, 8192, device="cuda")
            while not stop.is_set():
                for _ in range(10):
                    a = (a @ a).clamp_(-1.0, 1.0)
                torch.cuda.synchronize()

    threading.Thread(target=work, daemon=True).start()
    return "torch matmul load on the GPU"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--device", type=int, default=0)
    p.add_argument("--poll-s", type=float, default=0.02)
    args = p.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pynvml as nv
        except ImportError:
            print("NVML: library not found (pip install nvidia-ml-py); nothing to check")
            return 0
    try:
        nv.nvmlInit()
    except nv.NVMLError as e:
        print(f"NVML unavailable ({e}): no NVIDIA GPU/driver here; nothing to check")
        return 0
    try:
        if nv.nvmlDeviceGetCount() <= args.device:
            print(f"NVML: no GPU {args.device} here; nothing to check")
            return 0
        return check(nv, args)
    finally:
        nv.nvmlShutdown()


def check(nv: Any, args: argparse.Namespace) -> int:
    from autoscaler.worker.nvml import NvmlSource

    handle = nv.nvmlDeviceGetHandleByIndex(args.device)
    name = nv.nvmlDeviceGetName(handle)
    try:
        nv.nvmlDeviceGetTotalEnergyConsumption(handle)
    except nv.NVMLError as e:
        print(f"{name}: no energy counter ({e}; pre-Volta?) — our source falls back to polling")
        return 0
    stop = threading.Event()
    how = load_gpu(stop, args.device)
    time.sleep(3.0)  # let the load ramp up: a step at the start skews a short integration
    source = NvmlSource.open(str(args.device))
    ours_start = {r.device: r.energy_j for r in source.read()}
    integrated_j = 0.0
    start_mj = nv.nvmlDeviceGetTotalEnergyConsumption(handle)
    t_prev = time.monotonic()
    p_prev = nv.nvmlDeviceGetPowerUsage(handle) / 1000.0
    end = t_prev + args.seconds
    samples = 0
    while time.monotonic() < end:
        time.sleep(args.poll_s)
        t = time.monotonic()
        p_w = nv.nvmlDeviceGetPowerUsage(handle) / 1000.0
        integrated_j += 0.5 * (p_w + p_prev) * (t - t_prev)
        t_prev, p_prev = t, p_w
        samples += 1
    counter_j = (nv.nvmlDeviceGetTotalEnergyConsumption(handle) - start_mj) / 1000.0
    ours = {r.device: r.energy_j - ours_start.get(r.device, 0.0) for r in source.read()}
    stop.set()
    source.close()
    elapsed = args.seconds
    print(f"GPU {args.device}: {name} ({how})")
    print(f"interval: {elapsed:.0f} s, {samples} power samples every {args.poll_s * 1e3:.0f} ms")
    print(f"energy counter delta   : {counter_j:10.1f} J  ({counter_j / elapsed:7.1f} W mean)")
    print(
        f"integrated power       : {integrated_j:10.1f} J  ({integrated_j / elapsed:7.1f} W mean)"
    )
    for dev, j in ours.items():
        print(f"NvmlSource ({dev[:16]}…): {j:10.1f} J  [source=nvml]")
    disagreement = 100.0 * (integrated_j - counter_j) / counter_j if counter_j else float("nan")
    print(f"disagreement: {disagreement:+.2f} % (expected within ~1 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
