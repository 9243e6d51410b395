"""Fixtures for local-mode tests: the example training script, small enough to start fast,
and a reader for its step log (one JSON line per completed step, written by rank 0)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "train_elastic.py"


def train_command(tmp: Path, *extra: str) -> list[str]:
    """A quick configuration of the example: small model, steps of a few milliseconds."""
    return [
        sys.executable, str(EXAMPLE),
        "--checkpoint", str(tmp / "ckpt.pt"),
        "--step-log", str(tmp / "steps.jsonl"),
        "--hidden", "64", "--global-batch", "256", "--checkpoint-every", "20",
        *extra,
    ]  # fmt: skip


def read_steps(tmp: Path) -> list[dict[str, Any]]:
    path = tmp / "steps.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_no_step_lost_or_repeated(steps: list[dict[str, Any]]) -> None:
    """Global steps 1, 2, 3, ... across every restart: never backwards, never a gap."""
    numbers = [s["step"] for s in steps]
    assert numbers == list(range(1, len(numbers) + 1)), numbers[:50]


@pytest.fixture
def torch_available() -> None:
    pytest.importorskip("torch", reason="the 'train' extra (torch) is not installed")
