"""``energy-autoscaler sweep [--degrees 1,2,4,8] [--per-degree DURATION] -- <command…>``

The offline scaling study as a command: runs the same training at each degree for a fixed
time (or ``--per-degree-samples``), through local mode's torchrun machinery, and prints per
degree time, energy and J/sample (each with its source), speed-up and energy ratio against the
one-worker run, parallel efficiency and the marginal efficiency of the last worker(s) added;
it marks the turning point and writes ``sweep.json`` and ``sweep.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from autoscaler.cli.errors import UserError

if TYPE_CHECKING:
    from autoscaler.runtime.local.sweep import SweepSettings

HELP = "measure a training job at each degree in turn: speed-up, energy, the turning point"

EPILOG = """examples:
  energy-autoscaler sweep -- python examples/train_elastic.py --checkpoint /tmp/ckpt.pt
  energy-autoscaler sweep --degrees 1,2,3,4 --per-degree 20s --static-power 40W \\
      -- python examples/train_elastic.py --checkpoint /tmp/ckpt.pt

The job trains on from its checkpoint from one degree to the next (stop at a step boundary,
restart at the next degree), so give it more work than the sweep needs; the sweep stops it
after the last degree. The command must meet local mode's contract (docs/local.md)."""

DEFAULT_DEGREES = (1, 2, 4, 8)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "--degrees",
        metavar="N,N,...",
        default=None,
        help="worker counts to measure (default 1,2,4,8, capped at this machine's limit)",
    )
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument(
        "--per-degree",
        metavar="DURATION",
        default=None,
        help="measuring time at each degree after its warm-up (default 30s)",
    )
    amount.add_argument(
        "--per-degree-samples",
        metavar="N",
        default=None,
        help="measure each degree until it has trained this many samples",
    )
    parser.add_argument(
        "--warmup",
        metavar="DURATION",
        default="3s",
        help="wait this long after a degree's first step before measuring (default 3s)",
    )
    parser.add_argument(
        "--static-power",
        metavar="POWER",
        default=None,
        help="the host's static (idle) power charged once, as part of the energy estimate, "
        "e.g. 30W (default $EA_STATIC_POWER or none)",
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        type=Path,
        default=None,
        dest="report_dir",
        help="where sweep.json, sweep.png and the logs go (default ./sweep-report-<timestamp>/)",
    )
    parser.add_argument(
        "train_command",
        metavar="-- COMMAND",
        nargs=argparse.REMAINDER,
        help="-- then the training command, e.g. python train.py ...",
    )


def parse_degrees(text: str, cap: int) -> tuple[int, ...]:
    """``"1,2,4"`` → (1, 2, 4): positive whole numbers, each at most ``cap``, sorted, unique."""
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise ValueError(
            f"needs whole numbers separated by commas, e.g. 1,2,4; got {text!r}"
        ) from None
    if not values:
        raise ValueError(f"needs at least one worker count, got {text!r}")
    if min(values) < 1:
        raise ValueError(f"worker counts must be at least 1, got {text!r}")
    if max(values) > cap:
        raise ValueError(
            f"at most {cap} local workers on this machine; got {max(values)} (in {text!r})"
        )
    return tuple(sorted(set(values)))


def settings_from_args(args: argparse.Namespace) -> SweepSettings:
    """Flags → :class:`SweepSettings`; every mistake is a one-line :class:`UserError`."""
    from autoscaler.cli.train_command import training_command
    from autoscaler.runtime.local.settings import max_local_workers
    from autoscaler.runtime.local.static_power import static_power_setting
    from autoscaler.runtime.local.sweep import SweepSettings

    command = training_command(args.train_command, "sweep")
    cap = max_local_workers(os.cpu_count() or 1)
    try:
        if args.degrees is None:
            degrees = tuple(n for n in DEFAULT_DEGREES if n <= cap)
        else:
            degrees = parse_degrees(args.degrees, cap)
    except ValueError as e:
        raise UserError(f"--degrees: {e}") from None
    per_degree_s: float | None = None
    per_degree_samples: float | None = None
    if args.per_degree_samples is not None:
        try:
            per_degree_samples = float(args.per_degree_samples)
        except ValueError:
            raise UserError(
                f"--per-degree-samples: needs a number of samples, got {args.per_degree_samples!r}"
            ) from None
        if not (per_degree_samples >= 1 and per_degree_samples < 1e18):
            raise UserError(f"--per-degree-samples: must be at least 1, got {per_degree_samples:g}")
    else:
        per_degree_s = _duration("--per-degree", args.per_degree or "30s")
        if per_degree_s < 2:
            raise UserError(f"--per-degree: at least 2 s (one window), got {per_degree_s:g} s")
    warmup_s = _duration("--warmup", args.warmup)
    try:
        static_w = static_power_setting(args.static_power)
    except ValueError as e:
        raise UserError(f"--static-power: {e}") from None
    report_dir = args.report_dir or Path.cwd() / time.strftime("sweep-report-%Y%m%d-%H%M%S")
    window_s = 5.0 if per_degree_s is None else min(10.0, max(1.0, per_degree_s / 4))
    return SweepSettings(
        command=tuple(command), degrees=degrees, report_dir=report_dir,
        per_degree_s=per_degree_s, per_degree_samples=per_degree_samples,
        static_power_w=static_w, warmup_s=warmup_s, window_s=window_s,
    )  # fmt: skip


def _duration(flag: str, text: str) -> float:
    from autoscaler.units import parse_duration_s

    try:
        value = parse_duration_s(str(text))
    except ValueError as e:
        raise UserError(f"{flag}: {e}") from None
    if value > 86_400:
        raise UserError(f"{flag}: at most a day, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from autoscaler.actuators.base import ActuatorError
    from autoscaler.actuators.runlock import acquire, lock_keys
    from autoscaler.runtime.local.sweep import Sweep, SweepJobFailed
    from autoscaler.runtime.local.sweep_table import table_text

    settings = settings_from_args(args)
    try:
        lock = acquire(lock_keys(settings.command, Path.cwd(), args.report_dir))
    except ActuatorError as e:
        raise UserError(str(e)) from None
    sweep: Sweep | None = None
    try:
        sweep = Sweep(settings, say=_say, hold_fds=tuple(lock.fds))
        result = sweep.run()
    except SweepJobFailed as e:
        print(f"energy-autoscaler sweep: error: {e}", file=sys.stderr)
        if sweep is not None and sweep.result.files:
            print(f"what was measured: {sweep.result.files[0]}", file=sys.stderr)
        return 1
    finally:
        lock.release()
    print()
    print(table_text(result.study))
    print(f"outcome: {result.outcome}")
    files = " and ".join(str(p) for p in result.files)
    print(f"report: {files}" + (f" (no sweep.png: {result.plot_note})" if result.plot_note else ""))
    return 130 if result.outcome == "interrupted" else 0


def _say(line: str) -> None:
    print(line, flush=True)
