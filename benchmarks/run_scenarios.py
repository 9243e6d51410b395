"""Run every scenario in benchmarks/scenarios/ and print the evidence table and its verdict.

    .venv/bin/python benchmarks/run_scenarios.py [SCENARIO.yaml ...] [--policy NAME]

For each scenario: the objective regret of ours and of every baseline against the oracle, and
whether the constraints were met. Then the aggregates the project promises (issue 2, section 4):

- median objective regret of ours <= 3 %, worst <= 10 %;
- every constraint met in every scenario where the oracle could meet it (feasible);
- a better (lower) median regret than every baseline.

Prints PASS/FAIL per target and exits 0 only if all pass. Runs serially: the whole suite is a few
hundred thousand simulated windows, dominated by the policy's own fitting.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from suite_verdict import verdict

from autoscaler.sim.baselines import BASELINE_NAMES
from autoscaler.sim.compare import OURS, POLICY_NAMES, SimulationReport, simulate
from autoscaler.sim.scenario import load_scenario

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


def _pct(x: float) -> str:
    return f"{100 * x:+7.2f}%"


def _cell(report: SimulationReport, baseline: str) -> str:
    scored = report.baselines[baseline]
    return (_pct(scored.objective_regret) + ("" if scored.constraints_met else "!")).rjust(15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenarios", nargs="*", type=Path, help="default: all in " + str(SCENARIO_DIR)
    )
    parser.add_argument(
        "--policy", default=OURS, choices=POLICY_NAMES, help="policy scored as ours"
    )
    args = parser.parse_args(argv)
    paths = args.scenarios or sorted(SCENARIO_DIR.glob("*.yaml"))
    others = [b for b in BASELINE_NAMES if b != args.policy]

    head = f"{'scenario':<22} {'feas':>4} {'ours':>8} {'met':>3} {'rsz':>3} {'s':>5}  " + " ".join(
        f"{b:>15}" for b in others
    )
    print(head)
    print("-" * len(head))
    reports: list[SimulationReport] = []
    started = time.perf_counter()
    for path in paths:
        t0 = time.perf_counter()
        report = simulate(load_scenario(path), args.policy)
        elapsed = time.perf_counter() - t0
        reports.append(report)
        cells = " ".join(_cell(report, b) for b in others)
        print(
            f"{report.scenario:<22} {'yes' if report.oracle.feasible else 'NO':>4} "
            f"{_pct(report.ours.objective_regret)} "
            f"{'yes' if report.ours.constraints_met else 'NO':>3} "
            f"{report.ours.run.resizes:>3d} {elapsed:>5.1f}  {cells}"
        )
    total_s = time.perf_counter() - started
    print("(regret = (run - oracle) / oracle of the scored objective; '!' = constraint missed)")
    return verdict(reports, others, args.policy, total_s, noun="scenarios", digits=2)


if __name__ == "__main__":
    sys.exit(main())
