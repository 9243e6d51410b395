"""Collect the figures of ``benchmarks/gpu_check.sh`` into one JSON and a short verdict.

Reads what the steps left in ``OUT`` (``nvml_energy.json``, ``local_report.json``,
``sync_measure.json``, and ``versions.json``), prints one line per check with PASS / FAIL /
SKIP / INFO, and writes ``OUT/gpu_check.json``. Separate from the shell script so that the
reading of the local-mode report is Python, testable here without a GPU.

The checks, and why:

- ``nvml``: NVML's energy counter and integrated power agree within 3 % (the driver averages
  power over a short window, so a few tenths of a % is normal), and our ``NvmlSource`` reads
  the same counter (within 1 %).
- ``local``: local mode ran the NCCL job at one worker to the end, counted samples, and its
  energy came (at least in part) from ``nvml``: a measured joule, not the CPU-time estimate.
- ``ddp_hook``: the timed hook measured every step and its step-time overhead; the model's
  step is in the intended 5-20 ms range (else the % means something else).

    python3 benchmarks/gpu_check_summary.py OUT_DIR [--gpu | --no-gpu]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_nvml(fig: dict[str, Any] | None, gpu: bool) -> dict[str, Any]:
    if fig is None:
        return {"verdict": "FAIL" if gpu else "SKIP", "why": "no nvml_energy.json (step 2 failed)"}
    if "skipped" in fig:
        return {"verdict": "FAIL" if gpu else "SKIP", "why": fig["skipped"]}
    dis = abs(float(fig["disagreement_pct"]))
    ours = abs(float(fig["nvml_source_vs_counter_pct"]))
    ok = dis <= 3.0 and ours <= 1.0
    return {
        "verdict": "PASS" if ok else "FAIL",
        "why": f"counter {fig['counter_j']:.0f} J vs integrated {fig['integrated_j']:.0f} J "
        f"({fig['disagreement_pct']:+.2f} %, limit 3 %), NvmlSource vs counter "
        f"{fig['nvml_source_vs_counter_pct']:+.2f} % (limit 1 %), mean "
        f"{fig['mean_w_counter']:.0f} W over {fig['interval_s']:.0f} s",
    }


def check_local(rep: dict[str, Any] | None, gpu: bool) -> dict[str, Any]:
    if rep is None:
        return {"verdict": "FAIL", "why": "no local_report.json (step 3 failed or timed out)"}
    by_source = rep.get("energy_j_by_source") or {}
    samples = float(rep.get("samples_done") or 0)
    measured = rep.get("measured", {}).get("1", {})
    nvml_j = sum(float(j) for s, j in by_source.items() if "nvml" in s)
    total_j = sum(float(j) for j in by_source.values())
    facts = (
        f"outcome {rep.get('outcome')}, {samples:,.0f} samples in {rep.get('wall_s') or 0:.0f} s, "
        f"energy by source {json.dumps({k: round(v, 1) for k, v in by_source.items()})}, "
        f"window sources {rep.get('power_sources')}, at 1 worker: "
        f"{measured.get('throughput_sps', 0):,.0f} samples/s, {measured.get('power_w', 0):.1f} W, "
        f"{1e3 * measured.get('energy_per_sample_j', 0):.4f} mJ/sample "
        f"[{measured.get('source', '?')}]"
    )
    problems = []
    if rep.get("outcome") != "finished":
        problems.append("did not finish")
    if samples <= 0:
        problems.append("no samples counted")
    if gpu and nvml_j <= 0:
        problems.append("no nvml joules (energy is an estimate only)")
    if not gpu:
        return {"verdict": "INFO", "why": "CPU fallback (no GPU): " + facts}
    return {
        "verdict": "FAIL" if problems else "PASS",
        "why": ("; ".join(problems) + " -- " if problems else "") + facts,
        # joules of windows whose label names nvml ("nvml+estimate": GPUs measured, the CPU
        # side estimated, where RAPL is unreadable); the split inside a label is not reported
        "nvml_labelled_pct": 100 * nvml_j / total_j if total_j else None,
    }


def check_ddp(fig: dict[str, Any] | None, gpu: bool) -> dict[str, Any]:
    if fig is None:
        return {"verdict": "FAIL", "why": "no sync_measure.json (step 4 failed or timed out)"}
    med = fig["step_median_ms"]
    q = fig.get("sync_s_quantiles") or {}
    facts = (
        f"{fig['device']} {fig['backend']} world {fig['world']}, {fig['params_m']:.0f} M params: "
        f"step builtin {med['builtin']:.2f} ms, hook {med['hook']:.2f} ms "
        f"({fig['hook_overhead_pct']:+.2f} %), torch's Python hook "
        f"({fig['pyhook_overhead_pct']:+.2f} %), no_sync {med['no_sync']:.2f} ms; sync_s median "
        f"{1e3 * fig['sync_s_median']:.3f} ms (p10 {1e3 * q.get('p10', float('nan')):.3f}, p90 "
        f"{1e3 * q.get('p90', float('nan')):.3f} ms); hook measured "
        f"{fig['hook_steps_measured']} of {fig['steps_per_arm']} steps"
    )
    if not gpu:
        return {"verdict": "INFO", "why": "CPU fallback (no GPU): " + facts}
    problems = []
    if fig["hook_steps_measured"] < fig["steps_per_arm"]:
        problems.append("the hook missed steps")
    if not 5.0 <= med["builtin"] <= 20.0:
        problems.append(f"step {med['builtin']:.1f} ms is outside 5-20 ms (resize the model)")
    return {
        "verdict": "FAIL" if problems else "PASS",
        "why": ("; ".join(problems) + " -- " if problems else "") + facts,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("out", type=Path)
    p.add_argument("--gpu", action=argparse.BooleanOptionalAction, default=False)
    args = p.parse_args(argv)
    out: Path = args.out
    summary = {
        "gpu": args.gpu,
        "versions": load(out / "versions.json"),
        "nvml_energy": load(out / "nvml_energy.json"),
        "sync_measure": load(out / "sync_measure.json"),
        "checks": {
            "nvml": check_nvml(load(out / "nvml_energy.json"), args.gpu),
            "local": check_local(load(out / "local_report.json"), args.gpu),
            "ddp_hook": check_ddp(load(out / "sync_measure.json"), args.gpu),
        },
    }
    for name, c in summary["checks"].items():
        print(f"{c['verdict']:4s} {name}: {c['why']}")
    (out / "gpu_check.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
