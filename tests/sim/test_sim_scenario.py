"""The scenario schema: defaults, number spellings, and one clear message per mistake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import BASE, edit

from autoscaler.sim.scenario import ScenarioError, load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[2]


def test_minimal_scenario_gets_the_documented_defaults(
    write_scenario: Callable[..., Path],
) -> None:
    data = edit(edit(BASE, "seed", ...), "workload.resize_downtime_s", ...)
    s = load_scenario(write_scenario(data, "my-job.yaml"))
    assert s.name == "my-job"
    assert s.seed == 0
    assert (s.workload.noise.throughput_cv, s.workload.noise.power_cv) == (0.0, 0.0)
    assert s.workload.resize_downtime_s == 30.0
    assert s.job.objective == "energy"
    assert s.job.energy_budget_j is None and s.job.deadline_s is None
    assert s.controller.interval_s == 30.0
    assert s.workload.phases == ()


@pytest.mark.parametrize("spelling", ["1.2e8", "1.2e+8", "120000000", "1.2E8"])
def test_exponent_spellings_all_load_as_the_same_number(
    spelling: str, write_scenario: Callable[..., Path]
) -> None:
    text = f"""
workload:
  total_samples: {spelling}
  throughput: {{usl: {{t1_sps: 1e3, sigma: 0, kappa: 0}}}}
  power: {{linear: {{static_w: 5e2, per_worker_w: 300}}}}
job: {{initial_replicas: 1, min_replicas: 1, max_replicas: 2, deadline_s: 3.6e4}}
"""
    s = load_scenario(write_scenario(text))
    assert s.workload.total_samples == 1.2e8
    assert s.workload.throughput.usl is not None and s.workload.throughput.usl.t1_sps == 1000.0
    assert s.job.deadline_s == 36000.0


def test_table_keys_are_integer_degrees_in_order(write_scenario: Callable[..., Path]) -> None:
    data = edit(BASE, "workload.throughput.table", {3: 240.0, 1: 100.0, 2: 190.0})
    s = load_scenario(write_scenario(data))
    assert s.workload.throughput.table is not None
    assert list(s.workload.throughput.table) == [1, 2, 3]


def test_balanced_objective_is_kept_in_canonical_form() -> None:
    s = parse_scenario(edit(BASE, "job.objective", "Balanced:0.50"), label="x.yaml")
    assert s.job.objective == "balanced:0.5"
    assert s.job.objective_parsed.eta == 0.5


# (field to edit, bad value, field path the message must name)
BAD_FIELDS: list[tuple[str, Any, str]] = [
    ("job.max_replicas", 0, "job.max_replicas: must be >= min_replicas"),
    ("job.min_replicas", 0, "job.min_replicas"),
    ("job.initial_replicas", 5, "job.initial_replicas"),
    ("job.initial_replicas", ..., "job.initial_replicas"),
    ("job.objective", "fast", "job.objective"),
    ("job.objective", "balanced:2", "job.objective"),
    ("job.deadline_s", -5, "job.deadline_s"),
    ("job.energy_budget_j", "lots", "job.energy_budget_j"),
    ("job.replicas", 3, "job.replicas"),
    ("workload.total_samples", 0, "workload.total_samples"),
    ("workload.total_samples", "many", "workload.total_samples"),
    ("workload.throughput.usl", {"t1_sps": 1, "sigma": 0, "kappa": 0}, "workload.throughput"),
    ("workload.throughput.table", ..., "workload.throughput"),
    ("workload.throughput.table", {1: 100.0, 2: 190.0}, "workload.throughput.table"),
    ("workload.throughput.table", {1: 100.0, 2: 0.0, 3: 5.0}, "workload.throughput.table"),
    ("workload.throughput.table", {"1.5": 1.0}, "workload.throughput.table"),
    ("workload.power.linear.static_w", -1, "workload.power.linear.static_w"),
    ("workload.power.linear", ..., "workload.power"),
    ("workload.power.linear", {"static_w": 0, "per_worker_w": 0}, "workload.power.linear"),
    ("workload.power", {"table": {1: 100.0, 2: 0.0, 3: 300.0}}, "workload.power.table"),
    ("workload.noise", {"throughput_cv": -0.1}, "workload.noise.throughput_cv"),
    ("workload.resize_downtime_s", -1, "workload.resize_downtime_s"),
    (
        "workload.phases",
        [{"at_fraction": 1.0, "power": {"table": {1: 1, 3: 3}}}],
        "workload.phases.0.at_fraction",
    ),
    ("workload.phases", [{"at_fraction": 0.5}], "workload.phases.0"),
    (
        "workload.phases",
        [
            {"at_fraction": 0.5, "power": {"table": {1: 1, 3: 3}}},
            {"at_fraction": 0.4, "power": {"table": {1: 1, 3: 3}}},
        ],
        "workload.phases.1.at_fraction",
    ),
    (
        "workload.phases",
        [{"at_fraction": 0.5, "throughput": {"table": {2: 1, 3: 3}}}],
        "workload.phases.0.throughput.table",
    ),
    ("controller.interval_s", 0, "controller.interval_s"),
    ("seed", "abc", "seed"),
]


@pytest.mark.parametrize(("field", "value", "expected"), BAD_FIELDS)
def test_each_bad_field_is_reported_with_file_and_field_path(
    field: str, value: Any, expected: str, write_scenario: Callable[..., Path]
) -> None:
    path = write_scenario(edit(BASE, field, value), "bad.yaml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {expected}"), message
    assert "\n" not in message


def test_missing_file_is_a_scenario_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.yaml: no such scenario file"):
        load_scenario(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("workload: [unclosed\n", "line"), ("- just\n- a list\n", "must be a mapping")],
)
def test_malformed_yaml_is_a_scenario_error(
    text: str, expected: str, write_scenario: Callable[..., Path]
) -> None:
    with pytest.raises(ScenarioError, match=expected):
        load_scenario(write_scenario(text, "broken.yaml"))


def test_every_benchmark_and_bundled_scenario_loads_and_says_what_it_tests() -> None:
    paths = sorted((REPO / "benchmarks" / "scenarios").glob("*.yaml"))
    paths += sorted((REPO / "autoscaler" / "sim" / "scenarios").glob("*.yaml"))
    assert len(paths) >= 13
    for path in paths:
        load_scenario(path)
        assert path.read_text(encoding="utf-8").startswith("# "), f"{path.name}: no story comment"
