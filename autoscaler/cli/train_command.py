"""The training command after ``--``, as ``local`` and ``sweep`` hand it to torchrun.

A command that starts with a bare ``python`` (or ``python3``) runs with the interpreter that
runs the autoscaler (``sys.executable``). Why: the workers import ``autoscaler.worker`` (the
reporter) and torch, and the one interpreter known to have the autoscaler is this one. Without
it, ``energy-autoscaler`` called by its path from a virtual environment that is not activated
would run the script with the system's python and fail with "No module named torch". A path
(``/opt/conda/bin/python``, ``./venv/bin/python``) or another version (``python3.12``) is the
user's explicit choice and is kept as typed.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from autoscaler.cli.errors import UserError

_BARE_PYTHONS = ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}")


def with_this_python(command: Sequence[str], executable: str = sys.executable) -> list[str]:
    """``["python", "train.py"]`` → ``[sys.executable, "train.py"]``; anything else unchanged."""
    out = list(command)
    if out and out[0] in _BARE_PYTHONS and executable:
        out[0] = executable
    return out


def training_command(raw: Sequence[str], subcommand: str) -> list[str]:
    """The words after ``--``, checked: present, and the program exists. One-line errors."""
    command = list(raw)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UserError(
            "no training command: put it after '--', e.g. "
            f"energy-autoscaler {subcommand} -- python examples/train_elastic.py"
        )
    command = with_this_python(command)
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        raise UserError(f"training command not found: {command[0]!r}")
    return command
