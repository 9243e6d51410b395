"""A real data-parallel training job that survives being resized.

Run it under torchrun (``energy-autoscaler local`` does that for you)::

    torchrun --nproc-per-node 2 examples/train_elastic.py --checkpoint /tmp/ckpt.pt

What makes it elastic:

- **Rank and world size come from the environment on every start** (``RANK``, ``WORLD_SIZE``,
  ``LOCAL_RANK`` set by torchrun), never from a flag, so the same command runs at any degree.
- **The global batch is fixed** (``--global-batch``); each worker takes ``global / world``
  samples of it. A step therefore means the same work at every degree, and the data position is
  simply the step number: batch *s* is generated from ``(seed, s)``, so a resumed job reads
  exactly the batches it has not trained on yet, whatever its new world size.
- **Checkpoint and resume**: rank 0 writes model, optimizer, step and data position every
  ``--checkpoint-every`` steps and on stop, to a temporary file renamed over the old one
  (``os.replace`` is atomic), so a crash mid-write never leaves a torn checkpoint.
- **Clean stop on SIGTERM at a step boundary**: the handler only sets a flag; after each step
  the ranks agree (a one-element all-reduce) whether anyone was asked to stop, so they all stop
  after the same step, and rank 0's final checkpoint holds every completed step.
- **The reporter** (``autoscaler.worker.Reporter``) counts samples for the autoscaler; each
  worker reports its own share of every step. ``autoscaler.worker.ddp.attach`` times how long
  each step waits on DDP's gradient all-reduce (a communication hook), and ``reporter.sync()``
  times the per-step stop-flag all-reduce, so the autoscaler sees compute and sync apart.

**Device**: under torchrun each worker trains on GPU ``LOCAL_RANK`` with NCCL when torch sees
CUDA, else on the CPU with gloo (``--device auto``, the default; ``--device cuda`` insists on a
GPU, ``--device cpu`` ignores it). ``--max-seconds`` stops a start after that long, as SIGTERM
would (``benchmarks/gpu_check.sh`` uses it to time-box its run); ``--stop-at`` stops at a
wall-clock time, whichever start is running (``scripts/demo``: a time budget across resizes).

Data is synthetic (a fixed random linear teacher) so nothing is downloaded. ``--step-log``
appends one JSON line per completed step (rank 0) — the tests read it to prove that no step
is lost or repeated across resizes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

_STOP_REQUESTED = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Only set a flag: stopping mid-step would lose or tear the step."""
    global _STOP_REQUESTED
    _STOP_REQUESTED = True


def _unix_time(text: str) -> float:
    """A finite time in UNIX seconds (``nan`` would never be reached)."""
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a time in UNIX seconds: {text!r}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, default=Path("train_elastic.ckpt.pt"))
    p.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints")
    p.add_argument("--total-samples", type=int, default=None, help="stop after this many samples")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this global step")
    p.add_argument("--global-batch", type=int, default=2048, help="samples per step, all workers")
    p.add_argument("--hidden", type=int, default=256, help="width of the MLP (step cost)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--step-log", type=Path, default=None, help="JSON line per step (rank 0)")
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto (default): CUDA + NCCL under torchrun when torch sees a GPU, else CPU + gloo; "
        "cuda: require a GPU (one-line error without one); cpu: CPU + gloo even with a GPU",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="stop (checkpointed, as on SIGTERM) after this many seconds of this start: "
        "a time-boxed run, e.g. a GPU check",
    )
    p.add_argument(
        "--stop-at",
        type=_unix_time,
        default=None,
        help="stop (checkpointed, as on SIGTERM) at this wall-clock time, in UNIX seconds, "
        "whichever start is running: a fixed time budget across resizes (scripts/demo)",
    )
    p.add_argument(
        "--crash-at-start", action="store_true", help=argparse.SUPPRESS
    )  # for the tests: a command that fails before its first step
    return p.parse_args(argv)


def pick_device(choice: str, distributed: bool) -> torch.device:
    """``--device`` → this worker's device. ``auto`` keeps the long-standing rule: CUDA only
    under torchrun (a lone ``python train_elastic.py`` stays on the CPU, as the tests expect);
    ``cuda`` asks for a GPU even without torchrun. Each worker takes GPU ``LOCAL_RANK``."""
    wants_cuda = choice == "cuda" or (choice == "auto" and distributed)
    if not wants_cuda or not torch.cuda.is_available():
        if choice == "cuda":
            raise SystemExit("train_elastic: --device cuda given but torch sees no CUDA device")
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def build_model(hidden: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 10),
    )


_CHUNK = 8  # samples per independently seeded chunk: the unit of sharding


def batch_for_step(
    step: int, seed: int, global_batch: int, teacher: torch.Tensor, rank: int, world: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's share of global batch ``step``.

    The batch is cut into chunks of ``_CHUNK`` samples, each generated from (seed, step, chunk)
    alone: the data position survives a change of world size, and each rank generates only its
    own chunks (generating the whole batch on every rank would be work that never scales).
    """
    n_chunks = -(-global_batch // _CHUNK)
    lo, hi = shard_bounds(n_chunks, rank, world)
    xs = []
    for c in range(lo, hi):
        size = min(_CHUNK, global_batch - c * _CHUNK)
        g = torch.Generator().manual_seed(((seed * 1_000_003 + step) * 4096 + c) % 2**63)
        xs.append(torch.randn(size, teacher.shape[0], generator=g))
    x = torch.cat(xs) if xs else torch.empty(0, teacher.shape[0])
    return x, (x @ teacher).argmax(dim=1)


def shard_bounds(items: int, rank: int, world: int) -> tuple[int, int]:
    """Split ``items`` into ``world`` contiguous shards whose sizes differ by at most one."""
    base, extra = divmod(items, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def load_checkpoint(path: Path, model: nn.Module, opt: torch.optim.Optimizer) -> int:
    """Restore model and optimizer; return the number of completed steps (0 if none).

    ``weights_only=True``: the checkpoint holds only tensors and plain types, and unpickling
    anything else could run code from whoever could write the file."""
    if not path.exists():
        return 0
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    return int(state["step"])


def save_checkpoint(
    path: Path,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    step: int,
    global_batch: int,
    world: int,
) -> None:
    """Write to a temporary file and rename it over the old one: never a torn checkpoint.
    Only tensors and plain types (what ``weights_only=True`` loads back)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp.{os.getpid()}")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "step": step,
            "data_position": step,  # next batch index to read
            "samples_done": step * global_batch,
            "world_size": world,
            "saved_at": float(time.time()),
        },
        tmp,
    )
    os.replace(tmp, path)


def make_reporter(ddp: nn.Module) -> Any:
    """The autoscaler's worker reporter; absent only when the package is not installed. With
    DDP, its all-reduce is timed too (sync wait vs compute)."""
    try:
        from autoscaler.worker import Reporter
        from autoscaler.worker.ddp import attach
    except ImportError:
        print("train_elastic: autoscaler.worker not importable; not reporting", file=sys.stderr)
        return None
    reporter = Reporter.from_env()
    reporter.start()
    if isinstance(ddp, DistributedDataParallel):
        attach(ddp, reporter)
    else:
        reporter.measure_sync()  # one process, no DDP: a step waits on no one
    return reporter


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if args.crash_at_start:
        raise SystemExit("train_elastic: --crash-at-start given; failing before the first step")
    torch.set_num_threads(args.threads)
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    distributed = "MASTER_ADDR" in os.environ
    device = pick_device(args.device, distributed)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    else:
        # As the loss falls, gradients and momentum reach denormal floats, which x86 CPUs
        # compute on a slow path: one worker's steps/s fell 22 % within a minute here, at every
        # degree alike, and the autoscaler read the slowdown as drift. Flushed to zero: -3 %.
        torch.set_flush_denormal(True)
    if distributed:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    torch.manual_seed(args.seed)  # identical initial weights on every rank
    model = build_model(args.hidden).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    step = load_checkpoint(args.checkpoint, model, opt)
    ddp: nn.Module = DistributedDataParallel(model) if distributed else model
    reporter = make_reporter(ddp)
    teacher = torch.randn(args.hidden, 10, generator=torch.Generator().manual_seed(args.seed))
    last_saved = step
    max_steps = args.max_steps
    if args.total_samples is not None:
        by_samples = -(-args.total_samples // args.global_batch)
        max_steps = by_samples if max_steps is None else min(max_steps, by_samples)
    if rank == 0:
        print(f"train_elastic: rank 0 of {world}, resuming at step {step}", flush=True)
    stop_flag = torch.zeros(1, device=device)
    deadline = None if args.max_seconds is None else time.monotonic() + args.max_seconds

    def out_of_time() -> str | None:
        """Why this start's time is up (--max-seconds or --stop-at), else None."""
        if deadline is not None and time.monotonic() >= deadline:
            return f"stopped after --max-seconds {args.max_seconds:g}"
        if args.stop_at is not None and time.time() >= args.stop_at:
            return "stopped at --stop-at (its time budget)"
        return None

    try:
        while max_steps is None or step < max_steps:
            x, y = batch_for_step(step, args.seed, args.global_batch, teacher, rank, world)
            loss = nn.functional.cross_entropy(ddp(x.to(device)), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if reporter is not None:
                reporter.step(samples=len(x))
            if rank == 0 and args.step_log is not None:
                with args.step_log.open("a") as f:
                    f.write(
                        json.dumps(
                            {"step": step, "world": world, "loss": loss.item(), "t": time.time()}
                        )
                        + "\n"
                    )
            if rank == 0 and step % args.checkpoint_every == 0:
                save_checkpoint(args.checkpoint, model, opt, step, args.global_batch, world)
                last_saved = step
            stop_flag.fill_(1.0 if _STOP_REQUESTED or out_of_time() is not None else 0.0)
            if distributed:  # all ranks stop after the same step; a wait on the others
                with reporter.sync() if reporter is not None else contextlib.nullcontext():
                    dist.all_reduce(stop_flag, op=dist.ReduceOp.MAX)
            if stop_flag.item() > 0:
                break
    finally:
        if rank == 0 and step != last_saved:
            save_checkpoint(args.checkpoint, model, opt, step, args.global_batch, world)
        if reporter is not None:
            reporter.close()
        if rank == 0:
            why = "stopped by SIGTERM" if _STOP_REQUESTED else (out_of_time() or "finished")
            print(f"train_elastic: {why} at step {step} (world {world})", flush=True)
        if distributed and dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is saved, reported and closed. Skip the interpreter's teardown: with torch and
    # gloo loaded it took 4-5 s here after SIGTERM, which every resize would wait for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
