"""Decision overhead: update + fit + decide for one job with a 200-window history.

Builds a controller holding 200 steady-state windows (noisy USL throughput, linear power, over
five degrees), then repeatedly observes one new window at the current degree and decides — the
work the runtime does once per interval per job. Prints median and p95 milliseconds, for that
steady loop (the fit is reused while new windows move no mean beyond a fraction of its standard
error) and for a forced refit every time (the worst case: a new degree was just measured).

    .venv/bin/python benchmarks/decision_overhead.py [--repetitions 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace

import numpy as np

from autoscaler.decision import Controller, JobSpec, Objective, PolicyConfig, Progress, Window
from autoscaler.decision.prices import Prices, Rate

INTERVAL_S = 30.0


def _window(rng: np.random.Generator, t_s: float, n: int, cv: float,
            split: bool = False) -> Window:
    x = 100.0 * n / (1 + 0.05 * (n - 1) + 0.002 * n * (n - 1)) * (1 + cv * rng.standard_normal())
    p = (200.0 + 100.0 * n) * (1 + cv * rng.standard_normal())
    w = Window(t_s, t_s + INTERVAL_S, n, x, p, p * INTERVAL_S, x * INTERVAL_S, "simulated")
    if split:  # what a reporter with the DDP hook sends: batch 32 per worker, 4 workers a node
        step_s = 32.0 * n / x
        w = replace(w, step_s=step_s, sync_s=step_s * 0.1 * (n - 1) / n,
                    batch_per_worker=32.0, nodes=-(-n // 4))
    return w


# Issue 12: the cost objective with an hourly electricity schedule (24 points, daily) and a cap.
HOURLY = Prices(Rate(tuple((h * 3600.0, 0.10 + 0.02 * (h % 12)) for h in range(24)), 86_400.0),
                Rate.constant(2.5))


def build(history: int, cv: float, seed: int, split: bool = False,
          priced: bool = False) -> tuple[Controller, float, np.random.Generator]:
    rng = np.random.default_rng(seed)
    spec = JobSpec(1, 16, Objective.parse("cost" if priced else "energy"), total_samples=1e9,
                   workers_per_node=4 if split else None,
                   prices=HOURLY if priced else None, max_power_w=1500.0 if priced else None)
    ctl = Controller(spec, PolicyConfig())
    degrees = [4, 5, 3, 6, 5]
    t_s = 0.0
    for i in range(history):
        ctl.observe(_window(rng, t_s, degrees[min(i * len(degrees) // history, 4)], cv, split))
        t_s += INTERVAL_S
    return ctl, t_s, rng


def measure(repetitions: int, history: int, cv: float, force_refit: bool,
            split: bool = False, priced: bool = False) -> list[float]:
    ctl, t_s, rng = build(history, cv, seed=1, split=split, priced=priced)
    ctl.decide(t_s, Progress(5, 1e6))
    times_ms: list[float] = []
    for _ in range(repetitions):
        window = _window(rng, t_s, 5, cv, split)
        t_s += INTERVAL_S
        if force_refit:
            ctl._fit = None  # benchmark-only: drop the cached fit to time a full refit
        start = time.perf_counter()
        ctl.observe(window)
        ctl.decide(t_s, Progress(5, 1e6))
        times_ms.append((time.perf_counter() - start) * 1e3)
    return times_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=2000)
    parser.add_argument("--history", type=int, default=200)
    parser.add_argument("--cv", type=float, default=0.05, help="per-window noise")
    args = parser.parse_args(argv)
    print(f"decision overhead, {args.history}-window history, {args.repetitions} repetitions")
    cases = (("update+fit+decide (steady loop)", False, False, False),
             ("forced refit every time", True, False, False),
             ("step model, steady loop", False, True, False),
             ("step model, forced refit", True, True, False),
             ("cost, hourly schedule + cap, steady", False, False, True),
             ("cost, hourly schedule + cap, refit", True, False, True))
    for label, force, split, priced in cases:
        ms = sorted(measure(args.repetitions, args.history, args.cv, force, split, priced))
        p95 = ms[int(0.95 * (len(ms) - 1))]
        print(f"  {label:34s} median {statistics.median(ms):.3f} ms   p95 {p95:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
