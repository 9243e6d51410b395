"""Peer benchmark: throughput predicted at UNMEASURED degrees, ours against Pollux's model.

    .venv/bin/python benchmarks/peer_model.py --setup     # once: benchmarks/.peer-venv (adaptdl)
    .venv/bin/python benchmarks/peer_model.py [--verbose]

Why: a scaling model is only as good as what it says about degrees it has not run. On the
measured traces of ``benchmarks/traces/`` (Pollux's own measurements, 4-GPU nodes), each model
is given the windows of a few "measured" degrees — the sets {16}, {16, 8}, {16, 8, 4}, {4, 8}
and {1, 2, 4}, clipped to the trace's range — and predicts throughput at every other degree.

- ours (split): ``Controller`` fed ``Window`` objects carrying the step's compute/sync split,
  the per-worker batch and the node count, with ``workers_per_node=4``;
- ours (samples): the same windows without the split (a script that reports samples only);
- Pollux: ``adaptdl==0.2.11`` ``fit_perf_params`` + ``GoodputFunction.throughput``, fed as its
  simulator feeds it (per-degree step and sync times), in its own venv via
  ``benchmarks/peer_pollux.py`` (JSON in, JSON out) so that this process never imports adaptdl.

Both see the same noisy windows (6 per degree, 3 % throughput noise, seeded); Pollux gets their
per-degree means. Printed per set: mean absolute percentage error of each model over all
(trace, unmeasured degree) pairs, and how often ours' 2-sigma band (``throughput_sd_sps``)
covers the truth. Target (issue 10): ours (split) at least as accurate as Pollux on every set,
coverage between 90 % and 98 %. Exit 0 only if every set meets it.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from autoscaler.decision.controller import Controller
from autoscaler.decision.types import JobSpec, Window

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "traces"))
from build_real_scenarios import Regime, Trace, curve, load_traces, power_w  # noqa: E402

PEER_VENV = HERE / ".peer-venv"
PEER_PY = PEER_VENV / "bin" / "python"
SETS = ((16,), (16, 8), (16, 8, 4), (4, 8), (1, 2, 4))
WINDOWS, CV, INTERVAL_S = 6, 0.03, 30.0
PW, GL = "per_worker", "global"
# One curve per model and batch regime, over the degrees the trace's batches allow.
CASES = (
    ("cifar10", Regime(PW, 64), 1, 16), ("cifar10", Regime(GL, 1024), 1, 16),
    ("imagenet", Regime(PW, 57), 1, 16), ("imagenet", Regime(GL, 800), 4, 16),
    ("bert", Regime(PW, 12), 1, 16), ("bert", Regime(GL, 96), 8, 16),
    ("yolov3", Regime(PW, 8), 1, 16), ("yolov3", Regime(GL, 32), 2, 8),
    ("deepspeech2", Regime(PW, 40), 1, 16), ("deepspeech2", Regime(GL, 320), 4, 16),
)


@dataclass(frozen=True)
class Truth:
    n: int
    batch: float
    compute_s: float
    sync_s: float
    throughput_sps: float


def truths(trace: Trace, regime: Regime, lo: int, hi: int) -> dict[int, Truth]:
    out = {}
    for n, (sync, x) in curve(trace, regime, lo, hi).items():
        b = regime.per_worker(n)
        out[n] = Truth(n, b, n * b / x - sync, sync, x)
    return out


def windows(t: Truth, rng: np.random.Generator, t0: float, split: bool) -> list[Window]:
    """What the reporter would send at degree ``t.n``: noisy throughput, the step split."""
    out = []
    for i in range(WINDOWS):
        f = max(1 + CV * rng.standard_normal(), 0.5)  # slower window: every part of the step
        x, p = t.throughput_sps / f, power_w(t.n, 90.2, 108.4) * (1 + 0.02 * rng.standard_normal())
        w = Window(start_s=t0 + i * INTERVAL_S, end_s=t0 + (i + 1) * INTERVAL_S, replicas=t.n,
                   throughput_sps=x, power_w=p, energy_j=p * INTERVAL_S, samples=x * INTERVAL_S,
                   source="simulated")
        if split:
            w = replace(w, step_s=(t.compute_s + t.sync_s) * f, sync_s=t.sync_s * f,
                        batch_per_worker=t.batch, nodes=math.ceil(t.n / 4))
        out.append(w)
    return out


def ours(truth: dict[int, Truth], measured: tuple[int, ...], seed: int,
         split: bool) -> dict[int, tuple[float, float]]:
    """n -> (predicted samples/s, one-sigma sd) at every degree, from our Controller."""
    lo, hi = min(truth), max(truth)
    # Pollux is given the per-worker batch of every degree it predicts; ours is told the same
    # thing the way a job's owner would say it: which batch the script keeps fixed.
    batches = [truth[n].batch for n in sorted(truth)]
    regime = "per-worker" if max(batches) - min(batches) < 1e-9 else "global"
    ctl = Controller(JobSpec(lo, hi, workers_per_node=4 if split else None,
                             batch_regime=regime if split else None))
    rng = np.random.default_rng(seed)
    t0 = 0.0
    for n in measured:
        for w in windows(truth[n], rng, t0, split):
            ctl.observe(w)
        t0 += WINDOWS * INTERVAL_S
    return {p.replicas: (p.throughput_sps, getattr(p, "throughput_sd_sps", 0.0))
            for p in ctl.predictions()}


def pollux_job(key: str, truth: dict[int, Truth], measured: tuple[int, ...],
               seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)  # the same draws as ours' windows
    cols: dict[str, list[float]] = {"num_nodes": [], "num_replicas": [], "local_bsz": [],
                                    "step_time": [], "sync_time": []}
    for n in measured:
        ws = windows(truth[n], rng, 0.0, split=True)
        cols["num_nodes"].append(math.ceil(n / 4))
        cols["num_replicas"].append(n)
        cols["local_bsz"].append(truth[n].batch)
        cols["step_time"].append(float(np.mean([w.step_s for w in ws])))
        cols["sync_time"].append(float(np.mean([w.sync_s for w in ws])))
    predict = [[math.ceil(n / 4), n, truth[n].batch] for n in sorted(truth)]
    return {"id": key, **cols, "predict": predict}


def run_pollux(jobs: list[dict[str, Any]]) -> dict[str, list[float]]:
    proc = subprocess.run([str(PEER_PY), str(HERE / "peer_pollux.py")], input=json.dumps(jobs),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"error: Pollux's model failed in {PEER_VENV}: "
                         f"{proc.stderr.strip().splitlines()[-1:]}")
    result: dict[str, list[float]] = json.loads(proc.stdout)
    return result


def setup() -> int:
    """Create the peer venv: adaptdl without its dependencies, plus what goodput.py imports."""
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    (PEER_VENV / ".gitignore").write_text("*\n")  # never committed
    pip = [str(PEER_PY), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", "adaptdl==0.2.11"], check=True)
    subprocess.run([*pip, "numpy", "scipy", "autograd"], check=True)
    print(f"peer venv ready: {PEER_VENV}")
    return 0


@dataclass(frozen=True)
class Point:
    """One prediction at one unmeasured degree of one trace, for one measured set."""

    case: str
    set_: tuple[int, ...]
    n: int
    truth: float
    split: tuple[float, float]
    samples: tuple[float, float]
    pollux: float


def _ape(pred: float, truth: float) -> float:
    return abs(pred - truth) / truth


def _covers(pred: tuple[float, float], truth: float) -> bool:
    return abs(pred[0] - truth) <= 2 * pred[1]


def collect() -> list[Point]:
    traces = load_traces()
    jobs, pending = [], []
    for ci, (model, regime, lo, hi) in enumerate(CASES):
        truth = truths(traces[model], regime, lo, hi)
        case = f"{model}/{'pw' if regime.kind == PW else 'g'}{regime.batch}"
        for si, raw in enumerate(SETS):
            measured = tuple(n for n in raw if lo <= n <= hi)
            if not measured or len(measured) == len(truth):
                continue
            seed = 1000 * ci + si
            key = f"{case}/{si}"
            jobs.append(pollux_job(key, truth, measured, seed))
            pending.append((key, case, raw, truth, measured, ours(truth, measured, seed, True),
                            ours(truth, measured, seed, False)))
        print(f"fitted ours on {case} ({lo}..{hi})", flush=True)
    polluxed = run_pollux(jobs)
    print()
    points = []
    for key, case, raw, truth, measured, split, samples in pending:
        pol = dict(zip(sorted(truth), polluxed[key], strict=True))
        for n, t in truth.items():
            if n not in measured:
                points.append(Point(case, raw, n, t.throughput_sps, split[n], samples[n], pol[n]))
    return points


def report(points: list[Point], verbose: bool) -> int:
    print(f"{'measured set':<14} {'pts':>4} {'ours split':>10} {'ours samp':>10} "
          f"{'Pollux':>8} {'2σ cov split':>12} {'2σ cov samp':>11}  verdict")
    ok_all = True
    for s in SETS:
        pts = [p for p in points if p.set_ == s]
        if not pts:
            continue
        m_split = float(np.mean([_ape(p.split[0], p.truth) for p in pts]))
        m_samp = float(np.mean([_ape(p.samples[0], p.truth) for p in pts]))
        m_pol = float(np.mean([_ape(p.pollux, p.truth) for p in pts]))
        c_split = float(np.mean([_covers(p.split, p.truth) for p in pts]))
        c_samp = float(np.mean([_covers(p.samples, p.truth) for p in pts]))
        ok = m_split <= m_pol and 0.90 <= c_split <= 0.98
        ok_all &= ok
        verdict = ("PASS" if ok else "FAIL") + (
            f"  (ours {'<=' if m_split <= m_pol else '>'} Pollux, coverage "
            f"{'in' if 0.90 <= c_split <= 0.98 else 'outside'} 90-98 %)")
        label = "{" + ", ".join(map(str, s)) + "}"
        print(f"{label:<14} {len(pts):>4} {m_split:>10.1%} {m_samp:>10.1%} {m_pol:>8.1%} "
              f"{c_split:>12.0%} {c_samp:>11.0%}  {verdict}")
        if verbose:
            for case in dict.fromkeys(p.case for p in pts):
                cp = [p for p in pts if p.case == case]
                split = np.mean([_ape(p.split[0], p.truth) for p in cp])
                samp = np.mean([_ape(p.samples[0], p.truth) for p in cp])
                pol = np.mean([_ape(p.pollux, p.truth) for p in cp])
                cov = np.mean([_covers(p.split, p.truth) for p in cp])
                print(f"    {case:<18} {len(cp):>4} {split:>10.1%} {samp:>10.1%} {pol:>8.1%} "
                      f"{cov:>12.0%}")
    print("(error = mean |predicted - measured| / measured over unmeasured degrees; "
          "coverage = share of them inside ours' ±2σ throughput band)")
    print("OVERALL:", "PASS" if ok_all else "FAIL")
    return 0 if ok_all else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--setup", action="store_true", help=f"create {PEER_VENV} and exit")
    parser.add_argument("--verbose", action="store_true", help="per-trace errors under each set")
    args = parser.parse_args(argv)
    if args.setup:
        return setup()
    if not PEER_PY.exists():
        print(f"error: no peer venv at {PEER_VENV}; create it with: "
              f".venv/bin/python {Path(__file__).name} --setup", file=sys.stderr)
        return 2
    return report(collect(), args.verbose)


if __name__ == "__main__":
    sys.exit(main())
