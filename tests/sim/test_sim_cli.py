"""``energy-autoscaler simulate``: the --json contract, --policy, and exit 2 on bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import BASE, edit

from autoscaler.cli import main

TOP_KEYS = {
    "scenario",
    "policy",
    "energy_j",
    "time_s",
    "cost",
    "carbon_g",
    "peak_power_w",
    "resizes",
    "final_replicas",
    "feasible",
    "constraints_met",
    "objective_regret",
    "energy_regret",
    "oracle",
    "baselines",
    "trajectory",
}
BASELINES = {"static-initial", "static-max", "throughput-max", "sweep"}
# ~1.4 h of simulated time at 2 workers: ~170 decisions, quick even with the real Controller.
SMALL = edit(edit(BASE, "workload.total_samples", 1.0e6), "workload.noise", {"throughput_cv": 0.03})


def simulate_json(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> dict[str, Any]:
    assert main(["simulate", str(path), "--json", *extra]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_json_has_exactly_the_contract_keys(
    capsys: pytest.CaptureFixture[str], write_scenario: Callable[..., Path]
) -> None:
    data = simulate_json(capsys, write_scenario(SMALL, "small.yaml"))
    assert set(data) == TOP_KEYS
    assert data["scenario"] == "small" and data["policy"] == "energy-autoscaler"
    assert set(data["oracle"]) == {"replicas", "energy_j", "time_s", "cost", "carbon_g"}
    assert data["oracle"]["replicas"] == 2  # the hand-computed energy optimum
    assert set(data["baselines"]) >= BASELINES
    for scored in data["baselines"].values():
        assert set(scored) == {
            "energy_j", "time_s", "cost", "carbon_g", "peak_power_w", "objective_regret",
            "constraints_met",
        }
    assert data["cost"] is None and data["carbon_g"] is None  # no prices: null
    assert data["trajectory"] and set(data["trajectory"][0]) == {
        "t_s",
        "replicas",
        "throughput_sps",
        "power_w",
    }
    assert data["feasible"] is True and data["constraints_met"] is True
    # regret is relative to the oracle, which no run can beat without noise in the accounting
    assert data["objective_regret"] == pytest.approx(
        (data["energy_j"] - data["oracle"]["energy_j"]) / data["oracle"]["energy_j"]
    )
    assert data["objective_regret"] >= -1e-9


def test_policy_flag_scores_a_baseline_as_ours(
    capsys: pytest.CaptureFixture[str], write_scenario: Callable[..., Path]
) -> None:
    data = simulate_json(capsys, write_scenario(SMALL), "--policy", "static-max")
    assert data["policy"] == "static-max"
    assert data["resizes"] == 0 and data["final_replicas"] == 3
    assert data["energy_j"] == data["baselines"]["static-max"]["energy_j"]


def test_same_seed_same_output(
    capsys: pytest.CaptureFixture[str], write_scenario: Callable[..., Path]
) -> None:
    path = write_scenario(edit(SMALL, "workload.noise", {"throughput_cv": 0.1, "power_cv": 0.1}))
    assert simulate_json(capsys, path) == simulate_json(capsys, path)


def test_table_output_names_every_policy_and_the_oracle(
    capsys: pytest.CaptureFixture[str], write_scenario: Callable[..., Path]
) -> None:
    assert main(["simulate", str(write_scenario(SMALL)), "--policy", "sweep"]) == 0
    out = capsys.readouterr().out
    for name in ("sweep (ours)", *sorted(BASELINES - {"sweep"}), "oracle"):
        assert name in out


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (edit(BASE, "job.max_replicas", 0), "bad.yaml: job.max_replicas: must be >= min_replicas"),
        ("workload: [\n", "bad.yaml: line"),
    ],
)
def test_bad_scenario_exits_2_with_one_line_naming_file_and_field(
    data: dict[str, Any] | str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
    write_scenario: Callable[..., Path],
) -> None:
    path = write_scenario(data, "bad.yaml")
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and "Traceback" not in err


def test_missing_scenario_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["simulate", str(tmp_path / "absent.yaml"), "--json"]) == 2
    assert "absent.yaml: no such scenario file" in capsys.readouterr().err


def test_bad_file_from_a_real_process_exits_2_without_traceback(
    write_scenario: Callable[..., Path],
) -> None:
    path = write_scenario(edit(BASE, "workload.throughput.table", {1: 1.0, 2: 2.0}), "bad.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "autoscaler", "simulate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "workload.throughput.table" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_output_is_identical_across_processes_with_different_hash_seeds(
    write_scenario: Callable[..., Path],
) -> None:
    path = write_scenario(edit(SMALL, "workload.noise", {"throughput_cv": 0.08, "power_cv": 0.05}))
    outputs = []
    for hash_seed in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-m", "autoscaler", "simulate", str(path), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]


def test_json_of_an_infeasible_deadline_says_so_and_scores_on_time(
    capsys: pytest.CaptureFixture[str], write_scenario: Callable[..., Path]
) -> None:
    # Even 3 workers need ~4,170 s for 1e6 samples: a 3,000 s deadline cannot be met.
    path = write_scenario(edit(SMALL, "job.deadline_s", 3000))
    data = simulate_json(capsys, path, "--policy", "static-initial")
    assert data["feasible"] is False and data["constraints_met"] is False
    assert data["oracle"]["replicas"] == 3  # the rule: run the fastest degree
    oracle_time = data["oracle"]["time_s"]
    assert data["objective_regret"] == pytest.approx((data["time_s"] - oracle_time) / oracle_time)
