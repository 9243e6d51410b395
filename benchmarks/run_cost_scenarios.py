"""Score the cost/carbon/power-cap suite (issue 12) and print the verdict.

    .venv/bin/python benchmarks/run_cost_scenarios.py [SCENARIO.yaml ...] [--policy NAME]
        [--seeds 0,101,202]

The suite (``benchmarks/scenarios_cost/``) reuses workloads of the realistic suite
(``benchmarks/scenarios_real/``; each file names the one it is based on) with the objectives
``cost`` and ``carbon``, constant prices, day/night tariffs, a daily carbon-intensity curve and
binding peak-power caps. Same targets as ``run_real_scenarios.py`` (median regret <= 3 %, worst
<= 10 %, constraints met, better than every baseline), plus: the cap is never exceeded by ours.
It is ``run_real_scenarios.py --dir benchmarks/scenarios_cost``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_real_scenarios import main

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios_cost"

if __name__ == "__main__":
    sys.exit(main(["--dir", str(SCENARIO_DIR), *sys.argv[1:]]))
