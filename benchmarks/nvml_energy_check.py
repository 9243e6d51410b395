"""On a machine with an NVIDIA GPU: does NVML's energy counter agree with integrated power?

Loads GPU 0 (torch matmuls when torch sees CUDA; otherwise whatever is running) for ``--seconds``
(default 30), polls ``nvmlDeviceGetPowerUsage`` every 20 ms and integrates it (trapezoid), and
compares that with the delta of ``nvmlDeviceGetTotalEnergyConsumption`` over the same interval.
Prints both in joules and the disagreement in %; they should agree within ~1% (power readings
are themselves averaged over a short window by the driver, so a few tenths of a % is normal).
It also prints what our ``NvmlSource`` reported over the interval.

Without a GPU (or without the driver) it says so and exits 0: this is never part of CI.

    .venv/bin/python benchmarks/nvml_energy_check.py [--seconds 30 --device 0 --json out.json]

``--json`` also writes the figures (for ``benchmarks/gpu_check.sh``); without a GPU it writes
``{"skipped": "<why>"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any


def load_gpu(stop: threading.Event, device: int) -> tuple[str, threading.Thread | None]:
    """Start the load; the thread is returned so that it can be joined before NVML shuts down
    and the interpreter exits (a daemon thread still inside CUDA at exit can crash the exit)."""
    try:
        import torch
    except ImportError:
        return "no torch: measuring whatever load the GPU has", None
    if not torch.cuda.is_available():
        return "torch sees no CUDA device: measuring whatever load the GPU has", None

    def work() -> None:
        with torch.cuda.device(device):
            a = torch.randn(8192, 8192, device="cuda")
            while not stop.is_set():
                for _ in range(10):
                    a = (a @ a).clamp_(-1.0, 1.0)
                torch.cuda.synchronize()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return "torch matmul load on the GPU", thread


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--device", type=int, default=0)
    p.add_argument("--poll-s", type=float, default=0.02)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args()
    figures = run(args)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The check's figures, or ``{"skipped": why}`` where there is nothing to check."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pynvml as nv
        except ImportError:
            return skipped("NVML: library not found (pip install nvidia-ml-py); nothing to check")
    try:
        nv.nvmlInit()
    except nv.NVMLError as e:
        return skipped(f"NVML unavailable ({e}): no NVIDIA GPU/driver here; nothing to check")
    try:
        if nv.nvmlDeviceGetCount() <= args.device:
            return skipped(f"NVML: no GPU {args.device} here; nothing to check")
        return check(nv, args)
    finally:
        nv.nvmlShutdown()


def skipped(why: str) -> dict[str, Any]:
    print(why)
    return {"skipped": why}


def check(nv: Any, args: argparse.Namespace) -> dict[str, Any]:
    from autoscaler.worker.nvml import NvmlSource

    handle = nv.nvmlDeviceGetHandleByIndex(args.device)
    name = nv.nvmlDeviceGetName(handle)
    try:
        nv.nvmlDeviceGetTotalEnergyConsumption(handle)
    except nv.NVMLError as e:
        return skipped(
            f"{name}: no energy counter ({e}; pre-Volta?) — our source falls back to polling"
        )
    stop = threading.Event()
    how, loader = load_gpu(stop, args.device)
    time.sleep(3.0)  # let the load ramp up: a step at the start skews a short integration
    source = NvmlSource.open(str(args.device))
    ours_start = {r.device: r.energy_j for r in source.read()}
    integrated_j = 0.0
    start_mj = nv.nvmlDeviceGetTotalEnergyConsumption(handle)
    t_prev = t_start = time.monotonic()
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
    elapsed = time.monotonic() - t_start  # the interval both figures cover, not the asked one
    readings = source.read()
    ours = {r.device: r.energy_j - ours_start.get(r.device, 0.0) for r in readings}
    ours_label = sorted({r.source.value for r in readings})
    stop.set()
    if loader is not None:
        loader.join(timeout=30.0)
    source.close()
    print(f"GPU {args.device}: {name} ({how})")
    print(f"interval: {elapsed:.0f} s, {samples} power samples every {args.poll_s * 1e3:.0f} ms")
    print(f"energy counter delta   : {counter_j:10.1f} J  ({counter_j / elapsed:7.1f} W mean)")
    print(
        f"integrated power       : {integrated_j:10.1f} J  ({integrated_j / elapsed:7.1f} W mean)"
    )
    for dev, j in ours.items():
        print(f"NvmlSource ({dev[:16]}…): {j:10.1f} J  [source={','.join(ours_label)}]")
    disagreement = 100.0 * (integrated_j - counter_j) / counter_j if counter_j else float("nan")
    print(f"disagreement: {disagreement:+.2f} % (expected within ~1 %)")
    ours_j = sum(ours.values())
    ours_vs = 100.0 * (ours_j - counter_j) / counter_j if counter_j else float("nan")
    print(f"NvmlSource vs counter: {ours_vs:+.2f} % (expected ~0: it reads the same counter)")
    return {
        "gpu": name if isinstance(name, str) else name.decode(), "load": how,
        "interval_s": elapsed, "power_samples": samples, "poll_s": args.poll_s,
        "counter_j": counter_j, "integrated_j": integrated_j,
        "mean_w_counter": counter_j / elapsed, "disagreement_pct": disagreement,
        "nvml_source_j": ours, "nvml_source_label": ours_label,
        "nvml_source_vs_counter_pct": ours_vs,
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
