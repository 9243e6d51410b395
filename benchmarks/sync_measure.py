"""Which way of measuring a DDP step's sync wait is right? Run under torchrun (gloo, CPU)::

    torchrun --nproc-per-node 2 benchmarks/sync_measure.py [--hidden 512 --batch 64]
    torchrun --nproc-per-node 1 benchmarks/sync_measure.py [same flags]   # the n=1 reference

On GPUs (NCCL; each worker on GPU ``LOCAL_RANK``; every step ends with a device synchronise, so
host time is the step's real time; the hook then times the wait with CUDA events)::

    torchrun --nproc-per-node 1 benchmarks/sync_measure.py --device cuda \
        --hidden 4096 --layers 8 --batch 512 --json /tmp/sync.json

``--device auto`` takes CUDA when torch sees it, else the CPU; ``--json`` also writes the
figures (rank 0) for scripts such as ``benchmarks/gpu_check.sh``.

Three arms, alternated round by round (ABC, CAB, BCA ...) so drift hits all alike, each on its own
copy of the same MLP:

- ``builtin``: plain DDP (its C++ all-reduce), the step time a user has today;
- ``hook``: DDP with ``autoscaler.worker.ddp.attach`` (mechanism a): step time, and the hook's
  measured wait per step;
- ``no_sync``: every step under ``ddp.no_sync()`` (mechanism c, Pollux's accumulation steps):
  the step without any all-reduce, i.e. compute alone.

What it prints (rank 0): median step time per arm, the hook's median wait, and the two checks
that decide the mechanism: (1) hook wait vs the step time sync adds (builtin - no_sync), and
(2) hook overhead (hook - builtin). Timing (b) -- markers around a blocking wait in the script --
cannot see DDP's wait at all: it happens inside ``backward()``, interleaved with compute.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel

from autoscaler.worker.ddp import SyncTimer, attach


class Sink:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def add_sync(self, seconds: float) -> None:
        self.waits.append(seconds)

    def measure_sync(self) -> None:
        pass


def model(hidden: int, layers: int) -> nn.Module:
    torch.manual_seed(0)
    parts: list[nn.Module] = []
    for _ in range(layers):
        parts += [nn.Linear(hidden, hidden), nn.ReLU()]
    return nn.Sequential(*parts, nn.Linear(hidden, 10))


def run(
    ddp: DistributedDataParallel,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    no_sync: bool,
) -> list[float]:
    out = []
    cuda = x.is_cuda
    c0 = time.process_time()
    for _ in range(steps):
        t0 = time.perf_counter()
        with ddp.no_sync() if no_sync else nullcontext():
            loss = nn.functional.cross_entropy(ddp(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
        opt.step()
        if cuda:  # kernels are queued, not done, when opt.step() returns
            torch.cuda.synchronize()
        out.append(time.perf_counter() - t0)
    CPU_S[id(ddp)] = CPU_S.get(id(ddp), 0.0) + time.process_time() - c0
    return out


CPU_S: dict[int, float] = {}  # process CPU seconds per arm (all threads: gloo's too)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch", type=int, default=64, help="per worker")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument(
        "--device",
        choices=("cpu", "cuda", "auto"),
        default="cpu",
        help="cpu + gloo (default), cuda + NCCL (GPU LOCAL_RANK), auto: cuda when available",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures here (rank 0)")
    args = p.parse_args()
    torch.set_num_threads(1)
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        raise SystemExit("sync_measure: --device cuda given but torch sees no CUDA device")
    device = torch.device("cpu")
    if use_cuda:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if use_cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    arms = {}
    sink = Sink()
    timer: SyncTimer | None = None
    for name in ("builtin", "hook", "no_sync", "pyhook"):
        ddp = DistributedDataParallel(model(args.hidden, args.layers).to(device))
        if name == "hook":
            timer = attach(ddp, sink)
        elif name == "pyhook":  # torch's own Python all-reduce hook: the cost of any Python hook
            ddp.register_comm_hook(None, default_hooks.allreduce_hook)
        arms[name] = (ddp, torch.optim.SGD(ddp.parameters(), lr=0.01))
    g = torch.Generator().manual_seed(rank)
    x = torch.randn(args.batch, args.hidden, generator=g).to(device)
    y = torch.randint(0, 10, (args.batch,), generator=g).to(device)
    times: dict[str, list[float]] = {k: [] for k in arms}
    order = list(arms)
    for name in order:  # warm-up (DDP rebuilds its buckets after the first step)
        run(*arms[name], x, y, 3, name == "no_sync")
    flush_cuda_waits(timer, use_cuda)
    sink.waits.clear()
    steps_before = timer.steps if timer is not None else 0
    for r in range(args.rounds):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            dist.barrier()
            times[name] += run(*arms[name], x, y, args.steps, name == "no_sync")
    flush_cuda_waits(timer, use_cuda)
    hook_steps = (timer.steps if timer is not None else 0) - steps_before
    med = {k: statistics.median(v) for k, v in times.items()}
    wait = statistics.median(sink.waits) if sink.waits else float("nan")
    mean_wait = statistics.fmean(sink.waits) if sink.waits else float("nan")
    mean = {k: statistics.fmean(v) for k, v in times.items()}
    if rank == 0:
        params = sum(q.numel() for q in arms["builtin"][0].parameters())
        print(
            f"world {world}, per-worker batch {args.batch}, {params / 1e6:.2f} M params, "
            f"{args.rounds} x {args.steps} steps per arm, threads 1, "
            f"cores {os.cpu_count()}, device {device} ({dist.get_backend()})"
        )
        print(f"  hook measured {hook_steps} of {args.rounds * args.steps} steps")
        for k in order:
            print(f"  step {k:8s}: median {med[k] * 1e3:7.2f} ms  mean {mean[k] * 1e3:7.2f} ms")
        print(
            f"  hook wait     : median {wait * 1e3:7.2f} ms  mean {mean_wait * 1e3:7.2f} ms "
            f"over {len(sink.waits)} steps"
        )
        print(
            f"  (1) sync cost by no_sync (builtin - no_sync): "
            f"{(med['builtin'] - med['no_sync']) * 1e3:7.2f} ms median, "
            f"{(mean['builtin'] - mean['no_sync']) * 1e3:7.2f} ms mean"
        )
        print(
            f"  (2) hook overhead (hook - builtin): {(med['hook'] - med['builtin']) * 1e3:+.3f} ms"
            f" = {100 * (med['hook'] / med['builtin'] - 1):+.2f} % of the step (median)"
        )
        print(
            f"  (2b) any Python hook (pyhook - builtin): "
            f"{100 * (med['pyhook'] / med['builtin'] - 1):+.2f} %; ours vs torch's Python hook:"
            f" {100 * (med['hook'] / med['pyhook'] - 1):+.2f} %"
        )
        cpu = {k: CPU_S[id(arms[k][0])] / len(times[k]) for k in order}
        print(
            "  CPU per step (process, all threads): "
            + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in cpu.items())
            + f"; hook - builtin {(cpu['hook'] - cpu['builtin']) * 1e6:+.0f} us"
            + f" = {100 * (cpu['hook'] / cpu['builtin'] - 1):+.2f} %"
        )
        print(
            f"  compute by hook (hook step - wait): {(mean['hook'] - mean_wait) * 1e3:7.2f} ms"
            f" mean; no_sync step {mean['no_sync'] * 1e3:7.2f} ms mean"
        )
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({
                "world": world, "device": str(device), "backend": dist.get_backend(),
                "hidden": args.hidden, "layers": args.layers, "batch": args.batch,
                "params_m": params / 1e6, "steps_per_arm": args.rounds * args.steps,
                "hook_steps_measured": hook_steps,
                "step_median_ms": {k: med[k] * 1e3 for k in order},
                "step_mean_ms": {k: mean[k] * 1e3 for k in order},
                "hook_overhead_pct": 100 * (med["hook"] / med["builtin"] - 1),
                "pyhook_overhead_pct": 100 * (med["pyhook"] / med["builtin"] - 1),
                "sync_s_median": wait, "sync_s_mean": mean_wait,
                "sync_s_quantiles": quantiles(sink.waits),
                "sync_cost_by_no_sync_ms": (med["builtin"] - med["no_sync"]) * 1e3,
            }, indent=1) + "\n")  # fmt: skip
    dist.destroy_process_group()


def flush_cuda_waits(timer: SyncTimer | None, use_cuda: bool) -> None:
    """On CUDA the hook reads a step's events only when the next step launches its first
    bucket; synchronise and read what is pending so every measured step is counted (a private
    call: this benchmark checks the hook's bookkeeping, which a training script never needs)."""
    if timer is not None and use_cuda:
        torch.cuda.synchronize()
        timer._read_cuda_events()


def quantiles(values: list[float]) -> dict[str, float]:
    """min, p10, median, p90, max of the measured waits (s); empty when none were measured."""
    if len(values) < 2:
        return {}
    deciles = statistics.quantiles(values, n=10)
    return {"min": min(values), "p10": deciles[0], "p50": statistics.median(values),
            "p90": deciles[-1], "max": max(values)}  # fmt: skip


if __name__ == "__main__":
    main()
