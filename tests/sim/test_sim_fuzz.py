"""Fuzz (issue 8): random and extreme YAML values never give a traceback or an unbounded run.

Every case must end, within hypothesis's ``deadline``, either with a loaded scenario (the CLI:
exit 0) or with one :class:`ScenarioError` line naming the file (the CLI: exit 2, one line).
Values are drawn from what hostile or careless files hold: infinities, NaN, 400-digit integers,
``1e400`` spellings, zero, negatives, tiny and huge numbers, strings, lists and nulls, put into
one or several fields of a valid scenario in either workload form (``throughput:`` or ``step:``).

The CLI cases run whole simulations; to keep each one to a few seconds on a shared two-core
machine they lower :data:`MAX_INTERVALS` (the structural bound itself is what is under test:
a run that the bound admits must finish, one it refuses must be refused in one line).
"""

from __future__ import annotations

import copy
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_helpers import BASE, edit

import autoscaler.sim.scenario as scenario_module
from autoscaler.cli import main
from autoscaler.sim.scenario import ScenarioError, load_scenario

STEP_BASE: dict[str, Any] = edit(
    edit(BASE, "workload.throughput", ...),
    "workload.step",
    {
        "batch": {"per_worker": 64},
        "compute_s": {"table": {32: 0.2, 64: 0.35}},
        "sync_s": {"table": {1: 0.0, 2: 0.05, 3: 0.08}},
    },
)
STEP_BASE["workload"]["workers_per_node"] = 2
STEP_BASE["workload"]["power"] = {"linear": {"static_w": 10, "per_worker_w": 100, "per_node_w": 50}}

# Dotted paths of every number (and a few structures) a scenario holds, in both forms.
FIELDS = [
    "seed",
    "workload.total_samples",
    "workload.resize_downtime_s",
    "workload.noise.throughput_cv",
    "workload.noise.power_cv",
    "workload.power.linear.static_w",
    "workload.power.linear.per_worker_w",
    "workload.power.linear.per_node_w",
    "job.initial_replicas",
    "job.min_replicas",
    "job.max_replicas",
    "job.deadline_s",
    "job.energy_budget_j",
    "controller.interval_s",
]
THROUGHPUT_FIELDS = [
    "workload.throughput.table.1",
    "workload.throughput.table.3",
    "workload.throughput.usl.t1_sps",
    "workload.throughput.usl.sigma",
    "workload.throughput.usl.kappa",
]
STEP_FIELDS = [
    "workload.workers_per_node",
    "workload.step.batch.per_worker",
    "workload.step.batch.global",
    "workload.step.compute_s.table.32",
    "workload.step.compute_s.table.64",
    "workload.step.sync_s.table.2",
    "workload.step.sync_s.table.3",
]

EXTREMES = [
    float("inf"), float("-inf"), float("nan"), 0, -1, 1e-300, 5e-324, 1e300, 1.7e308,
    10**400, -(10**400), 2**63, 2**64, "1e400", "-1e400", "1e-400", ".inf", "NaN", "1e15",
    "0x10", "", None, [], {}, True,
]  # fmt: skip

values = st.one_of(
    st.sampled_from(EXTREMES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(min_value=1e-6, max_value=1e7),  # plausible numbers, so some cases load and run
    st.integers(min_value=0, max_value=2000),
    st.text(max_size=8),
)


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for key in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(int(key) if key.isdigit() else key)
    return node


def _put(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Set ``dotted`` (table keys as integers) in a deep copy, creating mappings on the way."""
    out = copy.deepcopy(data)
    node: Any = out
    *parents, last = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {}) if isinstance(node, dict) else {}
    if isinstance(node, dict):
        node[int(last) if last.isdigit() else last] = value
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> str:
    """YAML text of a scenario with 1-4 fields replaced by drawn values."""
    step = draw(st.booleans())
    data = copy.deepcopy(STEP_BASE if step else BASE)
    if not step and draw(st.booleans()):
        data["workload"]["throughput"] = {"usl": {"t1_sps": 100, "sigma": 0.05, "kappa": 0.001}}
    fields = FIELDS + (STEP_FIELDS if step else THROUGHPUT_FIELDS)
    for dotted in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=4, unique=True)):
        original = _get(data, dotted)
        if isinstance(original, int | float) and draw(st.booleans()):
            # A plausible mistake: the field's own value scaled, so that many cases still load
            # and run (and some land near the bound on the run's length).
            factor = draw(st.sampled_from([0.001, 0.1, 0.5, 2, 10, 1000, 1e6]))
            value: Any = original * factor
            value = int(value) if isinstance(original, int) else value
        else:
            value = draw(values)
        data = _put(data, dotted, value)
    return yaml.safe_dump(data)


CASES = {"loader": 0, "loaded": 0, "cli": 0, "ran": 0}


def _write(text: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="simfuzz-"))
    path = folder / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@settings(
    max_examples=1000,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(scenarios())
def test_loader_accepts_or_refuses_in_one_line(text: str) -> None:
    CASES["loader"] += 1
    path = _write(text)
    try:
        load_scenario(path)
        CASES["loaded"] += 1
    except ScenarioError as e:
        message = str(e)
        assert message.startswith(f"{path}: ") and "\n" not in message, message


@settings(
    max_examples=200,
    deadline=timedelta(seconds=8),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(scenarios())
def test_cli_exits_0_or_2_with_one_line(text: str) -> None:
    CASES["cli"] += 1
    path = _write(text)
    with (
        tempfile.TemporaryFile(mode="w+") as out,
        tempfile.TemporaryFile(mode="w+") as stdout,
        mock.patch.object(scenario_module, "MAX_INTERVALS", 1500),
        mock.patch("sys.stderr", new=out),
        mock.patch("sys.stdout", new=stdout),
    ):
        code = main(["simulate", str(path), "--json"])
        out.seek(0)
        err = out.read().strip()
    assert code in (0, 2), err
    if code == 2:
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert str(path) in err
    else:
        assert err == ""
        CASES["ran"] += 1


@pytest.fixture(scope="module", autouse=True)
def _report_case_count() -> Any:
    yield
    print(
        f"\nsimulator fuzz cases run: loader {CASES['loader']} ({CASES['loaded']} loaded), "
        f"cli {CASES['cli']} ({CASES['ran']} simulated, exit 0; the rest exit 2)"
    )
