"""Our ±2σ band on the measured traces covers the truth at 90–98 % of unmeasured degrees.

Why: the band is what exploration and the constraints act on. Too narrow and a job never
looks at a degree that measured better elsewhere; too wide and every degree looks worth a trial.
This runs the "ours (split)" half of ``benchmarks/peer_model.py`` (no adaptdl needed) on the
same traces, measured sets, windows and seeds, so a change to the step model's priors that moves
coverage out of the issue's 90–98 % fails here, not only in the benchmark.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import peer_model as pm  # noqa: E402


@pytest.fixture(scope="module")
def traces() -> dict[str, pm.Trace]:
    return pm.load_traces()


@pytest.mark.parametrize("si", range(len(pm.SETS)), ids=[str(s) for s in pm.SETS])
def test_two_sigma_band_covers_90_to_98_percent(traces: dict[str, pm.Trace], si: int) -> None:
    covered, total = 0, 0
    for ci, (model, regime, lo, hi) in enumerate(pm.CASES):
        truth = pm.truths(traces[model], regime, lo, hi)
        measured = tuple(n for n in pm.SETS[si] if lo <= n <= hi)
        if not measured or len(measured) == len(truth):
            continue
        predicted = pm.ours(truth, measured, 1000 * ci + si, split=True)  # the benchmark's seed
        for n, t in truth.items():
            if n not in measured:
                total += 1
                covered += abs(predicted[n][0] - t.throughput_sps) <= 2 * predicted[n][1]
    assert total > 100
    assert 0.90 <= covered / total <= 0.98, f"{covered}/{total} covered"
