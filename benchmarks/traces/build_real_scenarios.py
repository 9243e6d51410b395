"""Write benchmarks/scenarios_real/*.yaml from the measured traces in this folder.

    python benchmarks/traces/build_real_scenarios.py        # rewrites the suite, prints a summary

Why generated: every number in the suite must be traceable to a measured row of
``pollux_placements.csv`` (Pollux / AdaptDL artifact) and to the power estimate in
``power_g4dn_12xlarge.json``; a script makes the conversion one readable function instead of
hand-edited tables. Conversion (also written into each file's header):

- n workers are packed on 4-GPU nodes (placement "4"*(n//4) after the remainder), as the
  Pollux scheduler prefers; nodes(n) = ceil(n/4).
- Per-worker batch b: fixed (``per_worker``) or G/n (``global``); a step time at a b the trace
  does not list is interpolated linearly in b between the two listed neighbours, as Pollux's
  own simulator does (``interp1d`` over local_bsz).
- compute_s(b) = step_time - sync_time of the single-GPU placement "1" (no synchronisation
  there), every listed b; sync_s(n) = step_time(n, b) - compute_s(b): all of a step beyond
  the single-GPU compute is time waiting on synchronisation, which is what a worker-side timer
  measures. So the ``step`` and ``throughput: table`` forms give the same throughput
  X(n) = n*b / step_time(n, b) at every n, except where the measured step at n is shorter
  than the single-GPU compute (noise; once in the suite: imagenet b=57 at n=2, by 0.25 %):
  sync_s is then 0 and X(n) = n*b / compute_s(b), in both forms.
- Power P(n) = 90.2 W * n + 108.4 W * nodes(n): an ESTIMATE (see the JSON file).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "scenarios_real"
REPO = "https://github.com/petuum/adaptdl"
SIM_COMMIT = "de25dcc90c350b8ade3a710e437a651a8d2efae6"
SCHED_COMMIT = "81a4f2ec402278568260d3239ecc421d12bcea03"
SOURCE = {
    "cifar10": ("simulator/traces/cifar10/placements.csv", SIM_COMMIT),
    "imagenet": ("simulator/traces/imagenet/placements.csv", SIM_COMMIT),
    "bert": ("simulator/traces/bert/placements.csv", SIM_COMMIT),
    "yolov3": ("simulator/traces/yolov3/placements.csv", SIM_COMMIT),
    "deepspeech2": ("sched/traces/deepspeech2/placements.csv", SCHED_COMMIT),
}
WORKERS_PER_NODE = 4

Trace = dict[int, dict[int, tuple[float, float]]]  # n -> local_bsz -> (step_s, sync_s)


def load_traces(path: Path = HERE / "pollux_placements.csv") -> dict[str, Trace]:
    """model -> n -> local_bsz -> (step_time, sync_time), as measured."""
    out: dict[str, Trace] = {}
    with path.open() as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            by_n = out.setdefault(row["model"], {}).setdefault(int(row["n"]), {})
            by_n[int(row["local_bsz"])] = (float(row["step_time"]), float(row["sync_time"]))
    return out


def _interp(points: dict[int, float], b: float) -> float:
    xs = sorted(points)
    if not xs[0] - 1e-9 <= b <= xs[-1] + 1e-9:
        raise ValueError(f"batch {b:g} outside the measured {xs[0]}..{xs[-1]}")
    return float(np.interp(b, xs, [points[x] for x in xs]))


def compute_table(trace: Trace) -> dict[int, float]:
    """Compute seconds per step by per-worker batch: the single-GPU step minus its sync."""
    return {b: s - y for b, (s, y) in sorted(trace[1].items())}


@dataclass(frozen=True)
class Regime:
    """One batch regime: ``per_worker`` (b fixed) or ``global`` (b = batch / n)."""

    kind: str
    batch: int

    def per_worker(self, n: int) -> float:
        return float(self.batch) if self.kind == "per_worker" else self.batch / n

    def yaml(self) -> str:
        key = "per_worker" if self.kind == "per_worker" else "global"
        return f"{{{key}: {self.batch}}}"


def curve(trace: Trace, regime: Regime, lo: int, hi: int) -> dict[int, tuple[float, float]]:
    """n -> (sync_s, throughput_sps) over [lo, hi] under ``regime``."""
    comp = compute_table(trace)
    out = {}
    for n in range(lo, hi + 1):
        b = regime.per_worker(n)
        step = _interp({k: v[0] for k, v in trace[n].items()}, b)
        sync = max(step - _interp(comp, b), 0.0)
        out[n] = (sync, n * b / (_interp(comp, b) + sync))
    return out


def power_w(n: int, per_worker_w: float, per_node_w: float) -> float:
    return per_worker_w * n + per_node_w * math.ceil(n / WORKERS_PER_NODE)


@dataclass(frozen=True)
class Spec:
    """One scenario of the suite; ``about`` says what it tests, in one or two lines."""

    name: str
    model: str
    regime: Regime
    lo: int
    hi: int
    initial: int
    objective: str
    form: str  # "step" or "table"
    hours: float
    about: str
    seed: int = 0
    throughput_cv: float = 0.03
    power_cv: float = 0.02
    downtime_s: float = 60.0
    deadline_at: int | None = None  # deadline = 1.1 x the time the whole job takes at this n
    budget_at: int | None = None  # budget = 1.1 x the energy the whole job takes at this n
    drift: tuple[float, Regime] | None = None  # from this fraction of the work, this regime


def _g(x: float) -> str:
    return f"{x:.5g}"


def _table(d: dict[int, float], fmt: Callable[[float], str] = _g) -> str:
    return "{" + ", ".join(f"{k}: {fmt(v)}" for k, v in d.items()) + "}"


def _step_block(trace: Trace, regime: Regime, cur: dict[int, tuple[float, float]], ind: str) -> str:
    comp = compute_table(trace)
    sync = {n: s for n, (s, _) in cur.items()}
    return (f"{ind}step:\n{ind}  batch: {regime.yaml()}\n"
            f"{ind}  compute_s: {{table: {_table(comp)}}}\n"
            f"{ind}  sync_s: {{table: {_table(sync)}}}\n")


def render(
    spec: Spec, traces: dict[str, Trace], power: dict[str, float]
) -> tuple[str, dict[str, Any]]:
    trace = traces[spec.model]
    pw, pn = power["per_worker_w"], power["per_node_w"]
    cur = curve(trace, spec.regime, spec.lo, spec.hi)
    xs = {n: x for n, (_, x) in cur.items()}
    e = {n: power_w(n, pw, pn) / x for n, x in xs.items()}
    total = round(spec.hours * 3600 * float(np.median(list(xs.values()))), -3)
    path, commit = SOURCE[spec.model]
    facts = {"best_energy_n": min(e, key=e.__getitem__), "best_time_n": max(xs, key=xs.__getitem__)}
    lines = [f"# {spec.name}: {spec.about}",
             f"# Source: {REPO} {path} at commit {commit} (measured on AWS g4dn.12xlarge, 4 x T4",
             "#   per node; extract: benchmarks/traces/pollux_placements.csv).",
             f"# Conversion (benchmarks/traces/build_real_scenarios.py): {spec.model}, "
             f"{spec.regime.kind} batch {spec.regime.batch}, n packed on 4-GPU nodes;",
             "#   compute_s(b) = step - sync of the 1-GPU placement; sync_s(n) = step(n, b) - "
             "compute_s(b);",
             "#   X(n) = n*b / step(n, b) (b interpolated linearly in the measured local_bsz).",
             "# Form: " + ("step (compute/sync split)." if spec.form == "step" else
                           "throughput table (no split: a script reporting samples only)."),
             "# Power: ESTIMATE, not measured: 90.2 W per worker (T4 TDP 70 W + CPU share)",
             "#   + 108.4 W per node (host idle), see benchmarks/traces/power_g4dn_12xlarge.json.",
             f"# Truth over n {spec.lo}..{spec.hi}: least J/sample at n={facts['best_energy_n']}, "
             f"most samples/s at n={facts['best_time_n']}."]
    if spec.drift:
        lines.append(f"# Drift: from {spec.drift[0]:g} of the work on, {spec.drift[1].kind} batch "
                     f"{spec.drift[1].batch} (a batch-size schedule).")
    body = [f"seed: {spec.seed}", "workload:", f"  total_samples: {total:.6g}".replace("e+0", "e+"),
            f"  workers_per_node: {WORKERS_PER_NODE}"]  # the placement: the cluster's, any form
    if spec.form == "step":
        body.append(_step_block(trace, spec.regime, cur, "  ").rstrip("\n"))
        body.append(f"  power:\n    linear: {{static_w: 0, per_worker_w: {pw}, per_node_w: {pn}}}")
    else:
        body.append(f"  throughput:\n    table: {_table(xs)}")
        body.append("  power:\n    table: " +
                    _table({n: power_w(n, pw, pn) for n in xs}, lambda v: f"{v:.1f}"))
    body.append(f"  noise: {{throughput_cv: {spec.throughput_cv}, power_cv: {spec.power_cv}}}")
    body.append(f"  resize_downtime_s: {spec.downtime_s:g}")
    if spec.drift:
        frac, reg2 = spec.drift
        cur2 = curve(trace, reg2, spec.lo, spec.hi)
        if spec.form == "step":
            body.append(f"  phases:\n    - at_fraction: {frac}\n" +
                        _step_block(trace, reg2, cur2, "      ").rstrip("\n"))
        else:
            body.append(f"  phases:\n    - at_fraction: {frac}\n      throughput:\n        table: "
                        + _table({n: x for n, (_, x) in cur2.items()}))
    job = ["job:", f"  initial_replicas: {spec.initial}", f"  min_replicas: {spec.lo}",
           f"  max_replicas: {spec.hi}", f"  objective: {spec.objective!r}".replace("'", '"')]
    if spec.deadline_at is not None:
        deadline = 1.1 * total / xs[spec.deadline_at]
        job.append(f"  deadline_s: {deadline:.0f}")
        lines.append(f"# Deadline: 1.1 x the time at n={spec.deadline_at} ({deadline:.0f} s); "
                     f"at the energy optimum n={facts['best_energy_n']} the job would take "
                     f"{total / xs[facts['best_energy_n']]:.0f} s.")
    if spec.budget_at is not None:
        budget = 1.1 * total * e[spec.budget_at]
        job.append(f"  energy_budget_j: {budget:.4g}")
        lines.append(f"# Budget: 1.1 x the energy at n={spec.budget_at} ({budget:.4g} J); at the "
                     f"fastest n={facts['best_time_n']} the job would draw "
                     f"{total * e[facts['best_time_n']]:.4g} J.")
    text = "\n".join(lines + body + job) + "\n"
    return text, {"name": spec.name, **facts, "total_samples": total,
                  "hours_at_initial": total / xs[spec.initial] / 3600}


def main() -> None:
    from suite_specs import SPECS  # the list of scenarios, kept apart to keep this file short

    traces = load_traces()
    power = json.loads((HERE / "power_g4dn_12xlarge.json").read_text())
    OUT.mkdir(exist_ok=True)
    for spec in SPECS:
        text, facts = render(spec, traces, power)
        (OUT / f"{spec.name}.yaml").write_text(text)
        print(f"{spec.name:<34} {spec.form:<5} E*={facts['best_energy_n']:>2} "
              f"T*={facts['best_time_n']:>2} {facts['hours_at_initial']:5.1f} h at initial")


if __name__ == "__main__":
    main()
