"""The verdict both simulator suites print (``run_scenarios.py``, ``run_real_scenarios.py``
and through it ``run_cost_scenarios.py``): one list of checks against the targets, PASS/FAIL per
check, OVERALL, and the exit code."""

from __future__ import annotations

import statistics

from autoscaler.sim.compare import SimulationReport

MEDIAN_TARGET = 0.03
WORST_TARGET = 0.10


def verdict(reports: list[SimulationReport], others: list[str], policy: str, total_s: float,
            *, caps: list[tuple[float, float]] | None = None, noun: str = "runs",
            digits: int = 1) -> int:
    """Print the checks; 0 when every one passes, else 1. ``caps``: (cap, peak) per capped
    run; ``digits``: decimals of the percentages."""
    def pct(x: float) -> str:
        return f"{100 * x:+{6 + digits}.{digits}f}%"

    ours = [r.ours.objective_regret for r in reports]
    median, worst = statistics.median(ours), max(ours)
    feasible = [r for r in reports if r.oracle.feasible]
    met = sum(r.ours.constraints_met for r in feasible)
    print(f"\n{noun}: {len(reports)}   policy scored as ours: {policy}   "
          f"wall time: {total_s:.1f} s")
    checks = [
        (f"median objective regret {pct(median)} <= {pct(MEDIAN_TARGET)}",
         median <= MEDIAN_TARGET),
        (f"worst objective regret  {pct(worst)} <= {pct(WORST_TARGET)}", worst <= WORST_TARGET),
        (f"constraints met in feasible scenarios: {met}/{len(feasible)}", met == len(feasible)),
    ]
    if caps:
        within = sum(peak <= cap * (1 + 1e-9) for cap, peak in caps)
        worst_cap = max(p / c for c, p in caps)
        checks.append((f"cap never exceeded: {within}/{len(caps)} capped runs "
                       f"(worst peak/cap {worst_cap:.3f})", within == len(caps)))
    for b in others:
        b_median = statistics.median(r.baselines[b].objective_regret for r in reports)
        checks.append((f"median regret better than {b:<14} {pct(b_median)}", median < b_median))
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    all_ok = all(ok for _, ok in checks)
    print("OVERALL:", "PASS" if all_ok else "FAIL")
    return 0 if all_ok else 1
