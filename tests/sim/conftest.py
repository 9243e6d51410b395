"""Fixtures for the simulator tests: small scenarios written as data, so each test states its
curves and the numbers it expects can be worked out by hand."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sim_helpers import BASE, edit

from autoscaler.sim.scenario import Scenario, parse_scenario


@pytest.fixture
def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


@pytest.fixture
def make_scenario() -> Callable[..., Scenario]:
    """Build a validated scenario from BASE plus ``{"dotted.path": value}`` edits."""

    def make(edits: dict[str, Any] | None = None) -> Scenario:
        data = copy.deepcopy(BASE)
        for dotted, value in (edits or {}).items():
            data = edit(data, dotted, value)
        return parse_scenario(data, label="test.yaml")

    return make


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[dict[str, Any] | str, str], Path]:
    """Write a scenario (data or raw YAML text) to ``tmp_path/<name>`` and return its path."""

    def write(data: dict[str, Any] | str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
        return path

    return write
