"""Reporter overhead on a small CPU training loop, as a % of step time (target <= 1%).

A tiny torch MLP (SGD, batch 64, one intra-op thread) is trained in rounds that alternate (ABBA)
between plain and instrumented: instrumented = ``reporter.step()`` every step while a scraper
*process* GETs the worker's /metrics every second (what Prometheus does; energy is read lazily
at each scrape). During plain rounds the scraper makes the same request to a decoy server of its
own, so its CPU use loads the machine equally in both arms. The end-to-end figure is a median of
paired rounds with its interquartile range (on a small shared machine the spread is large); the
cost of the parts — ``step()`` in a tight loop, one scrape's worth of collection — is printed too,
and is the stable figure.

``--no-scrape`` runs the instrumented rounds without scrapes (an A/A check of the noise).

The step split (issue 10) adds two costs, printed last: ``step()`` with sync measuring on, and
the DDP hook (``autoscaler.worker.ddp.attach``), measured as process CPU time per step of a
one-worker gloo DDP job with torch's built-in all-reduce vs the timed hook, in alternating
rounds (CPU time, because wall time on a shared 2-core machine swings by more than the cost).

    .venv/bin/python benchmarks/reporter_overhead.py [--rounds 40 --steps 250]
"""

from __future__ import annotations

import argparse
import http.server
import multiprocessing
import statistics
import threading
import time
from typing import Any, Protocol

import httpx
import torch
from prometheus_client import generate_latest

from autoscaler.actuators.torchrun_cmd import free_port
from autoscaler.worker import Reporter, ReporterConfig


class EventLike(Protocol):
    def wait(self, timeout: float | None = ...) -> bool: ...


def make_model() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(128, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)
    )
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


def instrumented_round(
    steps: int, reporter: Reporter, active: Any, scrape: bool
) -> tuple[float, float]:
    active.value = 1 if scrape else 0
    try:
        return run_round(steps, reporter)
    finally:
        active.value = 0


def run_round(steps: int, reporter: Reporter | None) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) per step over ``steps`` steps. CPU time includes the
    reporter's HTTP thread answering scrapes, and is far less disturbed by other processes."""
    model, opt = make_model()
    x, y = torch.randn(64, 128), torch.randint(0, 10, (64,))
    loss_fn = torch.nn.CrossEntropyLoss()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        if reporter is not None:
            reporter.step(samples=64)
    return (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps


def scraper(url: str, stop: EventLike, active: Any, count: Any) -> None:
    """Runs in its own process, as Prometheus would (its CPU is not the worker's). It scrapes
    the worker only during instrumented rounds; during plain rounds it makes the same request to
    a decoy server inside its own process, so the scraper's own CPU use (which competes with
    the worker on a small machine) is the same in both arms and only the worker's side differs."""
    body = httpx.get(url).content

    class Decoy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    decoy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Decoy)
    threading.Thread(target=decoy.serve_forever, daemon=True).start()
    decoy_url = f"http://127.0.0.1:{decoy.server_address[1]}/metrics"
    with httpx.Client() as client:
        while not stop.wait(1.0):
            client.get(url if active.value else decoy_url).raise_for_status()
            if active.value:
                with count.get_lock():
                    count.value += 1
    decoy.shutdown()


def ddp_hook_cost(rounds: int, steps: int) -> tuple[float, float, float]:
    """(CPU s/step built-in, with torch's Python all-reduce hook, with the timed hook) for
    a one-worker gloo DDP job of the MLP in ``make_model``."""
    import torch.distributed as dist
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
    from torch.nn.parallel import DistributedDataParallel

    from autoscaler.worker.ddp import attach

    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1
    )
    sink = Reporter(ReporterConfig(), sources=[])
    arms: dict[str, tuple[DistributedDataParallel, torch.optim.Optimizer]] = {}
    for name in ("builtin", "pyhook", "timed"):
        model, _ = make_model()
        ddp = DistributedDataParallel(model)
        if name == "pyhook":
            ddp.register_comm_hook(None, default_hooks.allreduce_hook)
        elif name == "timed":
            timer = attach(ddp, sink)
        arms[name] = (ddp, torch.optim.SGD(ddp.parameters(), lr=0.01))
    x, y = torch.randn(64, 128), torch.randint(0, 10, (64,))
    loss_fn = torch.nn.CrossEntropyLoss()
    cpu: dict[str, list[float]] = {k: [] for k in arms}

    def go(name: str, n: int) -> float:
        ddp, opt = arms[name]
        c0 = time.process_time()
        for _ in range(n):
            opt.zero_grad()
            loss_fn(ddp(x), y).backward()
            opt.step()
            if name == "timed":
                sink.step(samples=64)
        return (time.process_time() - c0) / n

    names = list(arms)
    for name in names:
        go(name, 20)
    before = timer.steps
    for r in range(rounds):
        for name in names[r % 3 :] + names[: r % 3]:
            cpu[name].append(go(name, steps))
    dist.destroy_process_group()
    assert timer.steps - before == rounds * steps, "the hook missed steps"
    return (
        statistics.median(cpu["builtin"]),
        statistics.median(cpu["pyhook"]),
        statistics.median(cpu["timed"]),
    )


def bookkeeping_cost(n: int = 100_000) -> float:
    """Seconds of the hook's own Python bookkeeping per bucket (launch + completion), the part
    our timing adds on top of any Python comm hook."""
    from autoscaler.worker.ddp import SyncTimer

    sink = Reporter(ReporterConfig(), sources=[])
    timer = SyncTimer(sink)
    t0 = time.perf_counter()
    for _ in range(n):
        timer.launched(True)
        timer.completed()
    return (time.perf_counter() - t0) / n


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--steps", type=int, default=250)
    p.add_argument(
        "--no-scrape", action="store_true", help="instrumented rounds call step() only (A/A check)"
    )
    p.add_argument("--ddp-rounds", type=int, default=30, help="rounds per DDP arm")
    args = p.parse_args()
    torch.set_num_threads(1)
    port = free_port()
    # auto sources: RAPL if readable, NVML if any, else the CPU-time estimate
    reporter = Reporter(ReporterConfig(port=port, addr="127.0.0.1", job="bench")).start()
    stop, active = multiprocessing.Event(), multiprocessing.Value("b", 0)
    scrapes = multiprocessing.Value("i", 0)
    url = f"http://127.0.0.1:{port}/metrics"
    proc = multiprocessing.Process(target=scraper, args=(url, stop, active, scrapes), daemon=True)
    proc.start()
    run_round(50, None)  # warm-up
    plain: list[tuple[float, float]] = []
    instrumented: list[tuple[float, float]] = []
    for i in range(args.rounds):  # ABBA order: drift (clock boost, cache) hits both alike
        if i % 2 == 0:
            plain.append(run_round(args.steps, None))
            instrumented.append(
                instrumented_round(args.steps, reporter, active, not args.no_scrape)
            )
        else:
            instrumented.append(
                instrumented_round(args.steps, reporter, active, not args.no_scrape)
            )
            plain.append(run_round(args.steps, None))
    stop.set()
    proc.join()

    scrape_n = 200
    t0 = time.perf_counter()
    for _ in range(scrape_n):
        generate_latest(reporter.registry)  # what one scrape costs the worker process
    scrape_s = (time.perf_counter() - t0) / scrape_n

    n = 200_000
    bare = Reporter(ReporterConfig(), sources=[]).start()
    t0 = time.perf_counter()
    for _ in range(n):
        bare.step(samples=64)
    step_call_s = (time.perf_counter() - t0) / n
    bare.close()
    timed = Reporter(ReporterConfig(), sources=[])
    timed.measure_sync()
    t0 = time.perf_counter()
    for _ in range(n):
        timed.add_sync(0.001)
        timed.step(samples=64)
    step_sync_call_s = (time.perf_counter() - t0) / n
    book_s = bookkeeping_cost()
    ddp_builtin_s, ddp_py_s, ddp_timed_s = ddp_hook_cost(args.ddp_rounds, args.steps)
    reporter.close()

    base_s = statistics.median(w for w, _ in plain)
    inst_s = statistics.median(w for w, _ in instrumented)
    print(f"energy sources: {', '.join(s.name for s in reporter.sources if s.available)}")
    print(f"rounds: {args.rounds} x {args.steps} steps each, ABBA order; scrapes: {scrapes.value}")
    print(f"step time without reporter : {base_s * 1e3:.3f} ms (median of rounds)")
    print(f"step time with reporter    : {inst_s * 1e3:.3f} ms (step() + 1 Hz /metrics scrape)")
    pairs = list(zip(instrumented, plain, strict=True))
    for label, k in (("wall", 0), ("CPU ", 1)):
        ratios = [100 * (i[k] / b[k] - 1) for i, b in pairs]
        q1, med, q3 = statistics.quantiles(ratios, n=4)
        print(
            f"overhead, end to end, {label}: {med:+.2f} % median of paired rounds "
            f"(interquartile {q1:+.1f} % .. {q3:+.1f} %: the spread is the machine's noise)"
        )
    print(
        f"reporter.step() alone      : {step_call_s * 1e9:.0f} ns/call = "
        f"{100 * step_call_s / base_s:.3f} % of a step"
    )
    print(
        f"one /metrics scrape        : {scrape_s * 1e3:.3f} ms of worker CPU = "
        f"{100 * scrape_s / 1.0:.3f} % of each second at a 1 s scrape interval"
    )
    print(
        "overhead (components)      : "
        f"{100 * (step_call_s / base_s + scrape_s / 1.0):.3f} % of step time (target <= 1 %)"
    )
    print("-- step split (sync wait) --")
    print(
        f"step() + add_sync(), sync on: {step_sync_call_s * 1e9:.0f} ns/call "
        f"(plain step() {step_call_s * 1e9:.0f} ns) = {100 * step_sync_call_s / base_s:.3f} %"
        " of a step"
    )
    print(f"hook bookkeeping per bucket : {book_s * 1e9:.0f} ns (launch + completion, lock)")
    print(
        f"DDP, 1 gloo worker, CPU/step: built-in {ddp_builtin_s * 1e3:.3f} ms, torch's Python "
        f"hook {ddp_py_s * 1e3:.3f} ms ({100 * (ddp_py_s / ddp_builtin_s - 1):+.2f} %), timed "
        f"hook {ddp_timed_s * 1e3:.3f} ms ({100 * (ddp_timed_s / ddp_builtin_s - 1):+.2f} %; "
        f"{100 * (ddp_timed_s / ddp_py_s - 1):+.2f} % vs torch's Python hook)"
    )


if __name__ == "__main__":
    main()
