"""The ``energy-autoscaler`` command line: one thin dispatcher over sub-command modules.

Each sub-command lives in its own module exposing ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``. Modules are imported only when their sub-command runs, so
``energy-autoscaler --help`` never pays for torch, scipy or the Kubernetes client.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input (a user mistake, reported
in one clear line, never a traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from autoscaler import __version__
from autoscaler.cli.errors import UserError

# sub-command name -> (module, one-line help). Help text lives here so --help imports nothing.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "simulate": (
        "autoscaler.cli.simulate",
        "replay a workload with known true curves; compare the policy with an oracle",
    ),
    "probe": ("autoscaler.cli.probe", "show what this machine can measure (NVML, RAPL, estimate)"),
    "local": (
        "autoscaler.cli.local",
        "run an elastic PyTorch job here and keep it at its energy-optimal degree",
    ),
    "sweep": (
        "autoscaler.cli.sweep",
        "measure a training job at each degree in turn: speed-up, energy, the turning point",
    ),
    "operator": (
        "autoscaler.cli.operator",
        "run the Kubernetes operator for annotated jobs (dry-run by default)",
    ),
}


def _load(name: str) -> ModuleType:
    return importlib.import_module(SUBCOMMANDS[name][0])


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="energy-autoscaler",
        description=(
            "Watches the throughput and power of elastic PyTorch training jobs, fits how they "
            "scale, and keeps each job at the number of workers that is best for its objective "
            "(least energy per sample by default), within its bounds, budget and deadline."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only the chosen sub-command's module is imported; others get a help-only parser.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            _load(name).add_arguments(sp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 2
    level = logging.WARNING - 10 * min(int(args.verbose), 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        result: int = _load(args.command).run(args)
        return result
    except UserError as e:
        print(f"energy-autoscaler {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``… | head``): not an error worth a traceback. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
