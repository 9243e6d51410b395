"""``energy-autoscaler local [options] -- <training command…>``

Runs an elastic PyTorch training command under torchrun on this machine, measures throughput
and energy per sample at each degree, moves it to the degree best for the objective, and ends
with a report (``report.json``, ``report.png``) and a short summary.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from autoscaler.cli.errors import UserError
from autoscaler.cli.price_flags import add_price_arguments, price_flags

if TYPE_CHECKING:
    from autoscaler.runtime.local.settings import LocalSettings

HELP = "run an elastic PyTorch job here and keep it at its energy-optimal degree"

EPILOG = """examples:
  energy-autoscaler local -- python examples/train_elastic.py --total-samples 2000000
  energy-autoscaler local --max 4 --objective balanced:0.5 --budget 50kJ --deadline 10m \\
      --interval 5 -- python train.py --checkpoint ckpt.pt
  energy-autoscaler local --dry-run -- python train.py      # recommend only, never resize

The training command must checkpoint and resume on SIGTERM (see examples/train_elastic.py)
and call autoscaler.worker.Reporter.step() once per step. Energy comes from what the workers'
reporters can read: NVML, RAPL, else an estimate from CPU time (labelled 'estimate')."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "--min",
        metavar="N",
        type=int,
        default=1,
        dest="min_replicas",
        help="fewest workers (default 1)",
    )
    parser.add_argument(
        "--max",
        metavar="N",
        type=int,
        default=4,
        dest="max_replicas",
        help="most workers (default 4)",
    )
    parser.add_argument(
        "--start",
        metavar="N",
        type=int,
        default=None,
        dest="start_replicas",
        help="workers to start with (default --min)",
    )
    parser.add_argument(
        "--objective",
        metavar="OBJECTIVE",
        default="energy",
        help="energy (least J/sample, default), time, balanced:<eta 0..1>, cost (needs "
        "--price-per-kwh and/or --price-per-worker-hour) or carbon (needs --carbon-g-per-kwh)",
    )
    parser.add_argument(
        "--budget",
        metavar="ENERGY",
        default=None,
        help="energy budget for the job, e.g. 50kJ, 0.1kWh (bare number: J)",
    )
    parser.add_argument(
        "--deadline",
        metavar="DURATION",
        default=None,
        help="finish within this long from now: seconds or e.g. 10m, 1h30m",
    )
    parser.add_argument(
        "--total-samples",
        metavar="N",
        type=float,
        default=None,
        help="the job's total work in samples (lets the engine project "
        "budget, deadline and whether a resize still pays)",
    )
    parser.add_argument(
        "--interval",
        metavar="DURATION",
        default="10",
        help="seconds per measurement window and decision (default 10; accepts 10s, 1m)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="never resize: only show the recommendation"
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        type=Path,
        default=None,
        dest="report_dir",
        help="report directory (default ./autoscale-report-<timestamp>/)",
    )
    overlap = parser.add_mutually_exclusive_group()
    overlap.add_argument(
        "--overlap",
        dest="overlap",
        action="store_true",
        default=None,
        help="start the new degree while the old one still trains, so training pauses only for "
        "the hand-over (default when this machine has at least 2 cores per worker at --max: "
        "otherwise both generations fight for the cores and the resize takes longer)",
    )
    overlap.add_argument(
        "--no-overlap",
        dest="overlap",
        action="store_false",
        help="resize by a plain stop + restart (default on machines with fewer than 2 cores "
        "per worker at --max)",
    )
    parser.add_argument(
        "--live",
        dest="live",
        action="store_true",
        default=None,
        help="always redraw the live view (default: only on a terminal)",
    )
    parser.add_argument(
        "--no-live",
        dest="live",
        action="store_false",
        help="one log line per decision, even on a terminal",
    )
    parser.add_argument(
        "--static-power",
        metavar="POWER",
        default=None,
        help="the host's static (idle) power charged to the job once, as part of the energy "
        "estimate, e.g. 30W, 0.2kW (default $EA_STATIC_POWER or none; see docs/local.md)",
    )
    parser.add_argument(
        "--max-power", metavar="POWER", default=None,
        help="peak-power cap for the job: a degree predicted to draw more is not used, e.g. "
        "300W, 1.5kW, 2MW (bare number: W); if none fits, the least-power degree runs",
    )
    add_price_arguments(parser)
    parser.add_argument(
        "train_command",  # not "command": the dispatcher's sub-command name lives there
        metavar="-- COMMAND",
        nargs=argparse.REMAINDER,
        help="-- then the training command, e.g. python train.py ...",
    )


def settings_from_args(args: argparse.Namespace) -> LocalSettings:
    """Flags → ``LocalSettings``; every mistake becomes a one-line :class:`UserError`."""
    from autoscaler.cli.train_command import training_command
    from autoscaler.decision.types import Objective
    from autoscaler.runtime.local.settings import (
        MAX_LOCAL_WORKERS,
        WORKERS_PER_CORE,
        LocalSettings,
        default_overlap,
        max_local_workers,
        missing_prices,
        parse_energy_j,
        parse_power_w,
    )
    from autoscaler.runtime.local.static_power import static_power_setting
    from autoscaler.units import parse_duration_s

    command = training_command(args.train_command, "local")  # bare python: this interpreter
    try:
        static_w = static_power_setting(args.static_power)
    except ValueError as e:
        raise UserError(f"--static-power: {e}") from None
    try:
        objective = Objective.parse(args.objective)
    except ValueError as e:
        raise UserError(f"--objective: {e}") from None
    try:
        budget_j = None if args.budget is None else parse_energy_j(args.budget)
    except ValueError as e:
        raise UserError(f"--budget: {e}") from None
    try:
        max_power_w = None if args.max_power is None else parse_power_w(args.max_power)
    except ValueError as e:
        raise UserError(f"--max-power: {e}") from None
    per_kwh, per_worker_h, carbon = price_flags(args)
    missing = missing_prices(objective, per_kwh, per_worker_h, carbon)
    if missing:
        raise UserError(f"--objective: {missing}")
    try:
        deadline_s = None if args.deadline is None else parse_duration_s(args.deadline)
    except ValueError as e:
        raise UserError(f"--deadline: {e}") from None
    try:
        interval_s = parse_duration_s(str(args.interval))
    except ValueError as e:
        raise UserError(f"--interval: {e}") from None
    cap = max_local_workers(os.cpu_count() or 1)
    if args.max_replicas > cap:
        raise UserError(
            f"--max: at most {cap} local workers on this machine ({WORKERS_PER_CORE} per CPU "
            f"core, never above {MAX_LOCAL_WORKERS}: each worker is a process of its own); "
            f"got {args.max_replicas}"
        )
    report_dir = args.report_dir or Path.cwd() / time.strftime("autoscale-report-%Y%m%d-%H%M%S")
    try:
        return LocalSettings(
            command=tuple(command), min_replicas=args.min_replicas,
            max_replicas=args.max_replicas, start_replicas=args.start_replicas,
            objective=objective, energy_budget_j=budget_j, deadline_after_s=deadline_s,
            total_samples=args.total_samples, interval_s=interval_s, dry_run=args.dry_run,
            report_dir=report_dir, live=args.live, static_power_w=static_w,
            max_power_w=max_power_w, price_per_kwh=per_kwh,
            price_per_worker_hour=per_worker_h, carbon_g_per_kwh=carbon,
            price_timezone=args.price_timezone,
            overlap_restarts=(
                default_overlap(os.cpu_count() or 1, args.max_replicas)
                if args.overlap is None else args.overlap
            ),
        )  # fmt: skip
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        where = _FLAG_OF.get(field, field) or "flags"
        raise UserError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


# LocalSettings field -> the flag a user typed, for validation messages.
_FLAG_OF = {
    "min_replicas": "--min",
    "max_replicas": "--max",
    "start_replicas": "--start",
    "total_samples": "--total-samples",
    "interval_s": "--interval",
    "deadline_after_s": "--deadline",
    "energy_budget_j": "--budget",
    "max_power_w": "--max-power",
    "price_per_kwh": "--price-per-kwh",
    "price_per_worker_hour": "--price-per-worker-hour",
    "carbon_g_per_kwh": "--carbon-g-per-kwh",
}
def run(args: argparse.Namespace) -> int:
    from autoscaler.actuators.base import ActuatorError
    from autoscaler.actuators.runlock import acquire, lock_keys
    from autoscaler.runtime.local.run import JobFailed, LocalRun

    settings = settings_from_args(args)
    try:  # before anything starts: a live run of the same job refuses this one
        lock = acquire(lock_keys(settings.command, Path.cwd(), args.report_dir))
    except ActuatorError as e:
        raise UserError(str(e)) from None
    try:
        local_run = LocalRun(settings, lock=lock)
        record = local_run.run()
    except JobFailed as e:
        print(f"energy-autoscaler local: error: {e}", file=sys.stderr)
        return 1
    finally:
        lock.release()
    return 130 if record.outcome == "interrupted" else 0
