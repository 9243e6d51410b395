"""``energy-autoscaler simulate SCENARIO.yaml [--json] [--policy NAME]``.

Replays a workload whose true curves are known, in simulated time, with the real decision engine
(or a baseline, with ``--policy``) and compares it with the oracle and every baseline.
"""

from __future__ import annotations

import argparse
import json
import sys

from autoscaler.cli.errors import UserError
from autoscaler.sim.compare import OURS, POLICY_NAMES, simulate
from autoscaler.sim.engine import SimulationError
from autoscaler.sim.output import summary_table, to_json
from autoscaler.sim.scenario import ScenarioError, load_scenario

HELP = "replay a workload with known true curves; compare the policy with an oracle"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO.yaml", help="scenario file (see docs)")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of the table"
    )
    parser.add_argument(
        "--policy",
        default=OURS,
        choices=POLICY_NAMES,
        help=f"the policy to evaluate as 'ours' (default: {OURS})",
    )


def run(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as e:
        raise UserError(str(e)) from None
    try:
        report = simulate(scenario, args.policy)
    except SimulationError as e:
        # A policy that breaks the rules is a bug in the policy, not the user's mistake.
        print(f"energy-autoscaler simulate: {args.scenario}: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(to_json(report), indent=2))
    else:
        print(summary_table(report))
    return 0
