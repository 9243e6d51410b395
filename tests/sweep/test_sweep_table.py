"""``sweep``'s study from measured rows (pure): speed-up, energy ratio, parallel efficiency,
marginal efficiency and the turning point; and its bad flags (one line, exit 2)."""

from __future__ import annotations

import sys

import pytest

from autoscaler.cli import main
from autoscaler.cli.sweep import parse_degrees
from autoscaler.decision.types import Quality, Window
from autoscaler.runtime.local.sweep import pool
from autoscaler.runtime.local.sweep_table import DegreeRun, analyse, table_text


def _run(n: int, sps: float, watts: float, secs: float = 10.0) -> DegreeRun:
    return DegreeRun(n, secs, sps * secs, watts * secs, "estimate", windows=3)


# 1: 1000/s @ 40 W (40 mJ); 2: 1800/s @ 50 W (27.8 mJ); 4: 2000/s @ 70 W (35 mJ)
RUNS = [_run(1, 1000, 40), _run(2, 1800, 50), _run(4, 2000, 70)]


def test_ratios_against_the_one_worker_run() -> None:
    rows = {r["replicas"]: r for r in analyse(RUNS, 30.0)["rows"]}
    assert rows[2]["speedup"] == pytest.approx(1.8)
    assert rows[2]["energy_ratio"] == pytest.approx((50 / 1800) / (40 / 1000))
    assert rows[2]["parallel_efficiency"] == pytest.approx(0.9)
    assert rows[4]["parallel_efficiency"] == pytest.approx(0.5)
    assert rows[4]["energy_source"] == "estimate(static 30 W)"
    assert rows[4]["time_source"].startswith("measured")


def test_marginal_efficiency_and_the_turning_point() -> None:
    study = analyse(RUNS)
    rows = {r["replicas"]: r for r in study["rows"]}
    assert rows[1]["marginal"] is None
    assert rows[2]["marginal"]["marginal_sps_per_w"] == pytest.approx(800 / 10)  # above 25 avg
    assert rows[4]["marginal"]["marginal_sps_per_w"] == pytest.approx(200 / 20)  # below 36 avg
    assert rows[4]["marginal"]["adds_more_energy_than_speed"]
    assert study["turning_point"] == 2
    text = table_text(study)
    assert "<- turning point" in text.splitlines()[2]  # the row of 2 workers
    assert "turning point: 2 worker(s)" in text


def test_no_turning_point_when_every_step_lowers_energy_per_sample() -> None:
    study = analyse(RUNS[:2])
    assert study["turning_point"] is None
    assert "none among the degrees swept" in table_text(study)


def test_speed_without_more_power_is_free_and_a_slowdown_is_past_the_turning_point() -> None:
    study = analyse([_run(1, 1000, 20), _run(2, 1500, 20), _run(4, 1400, 20)])
    rows = {r["replicas"]: r for r in study["rows"]}
    assert rows[2]["marginal"]["marginal_sps_per_w"] is None
    assert not rows[2]["marginal"]["adds_more_energy_than_speed"]
    assert rows[4]["marginal"]["adds_more_energy_than_speed"]
    assert study["turning_point"] == 2
    assert "free" in table_text(study)


def test_base_is_the_fewest_workers_when_one_was_not_swept() -> None:
    study = analyse([_run(2, 1800, 50), _run(4, 2000, 70)])
    assert study["base_replicas"] == 2
    assert study["rows"][0]["speedup"] == pytest.approx(1.0)


def test_pooling_keeps_only_steady_windows() -> None:
    ok = Window(0, 5, 2, 100, 10, 50, 500, "estimate", Quality.OK)
    bad = Window(5, 10, 2, 9e9, 10, 50, 1e9, "estimate", Quality.INVALID, "reset")
    run = pool(2, [ok, ok, bad])
    assert (run.windows, run.dropped, run.samples, run.energy_j) == (2, 1, 1000, 100)
    assert run.throughput_sps == pytest.approx(100)


@pytest.mark.parametrize(
    ("text", "degrees"), [("1,2,4", (1, 2, 4)), ("4,1,2,2", (1, 2, 4)), (" 3 ", (3,))]
)
def test_degrees_parse(text: str, degrees: tuple[int, ...]) -> None:
    assert parse_degrees(text, cap=8) == degrees


TRAIN = [sys.executable, "examples/train_elastic.py"]


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        ([], "no training command"),
        (["--degrees", "1,two", "--", *TRAIN], "--degrees"),
        (["--degrees", "0,1", "--", *TRAIN], "--degrees"),
        (["--degrees", ",", "--", *TRAIN], "--degrees"),
        (["--degrees", "1,100000", "--", *TRAIN], "--degrees: at most"),
        (["--per-degree", "soon", "--", *TRAIN], "--per-degree"),
        (["--per-degree", "1s", "--", *TRAIN], "--per-degree: at least 2 s"),
        (["--per-degree", "2d", "--", *TRAIN], "--per-degree: at most a day"),
        (["--per-degree-samples", "many", "--", *TRAIN], "--per-degree-samples"),
        (["--per-degree-samples", "0", "--", *TRAIN], "--per-degree-samples"),
        (["--per-degree-samples", "nan", "--", *TRAIN], "--per-degree-samples"),
        (["--warmup", "-1", "--", *TRAIN], "--warmup"),
        (["--static-power", "30 J", "--", *TRAIN], "--static-power"),
        (["--", "no-such-program-xyz"], "training command not found"),
    ],
)
def test_bad_flags_get_one_line_and_exit_code_2(
    flags: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("energy-autoscaler sweep: error:") and complaint in err, err


def test_per_degree_and_per_degree_samples_exclude_each_other(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as e:
        main(["sweep", "--per-degree", "5s", "--per-degree-samples", "9", "--", *TRAIN])
    assert e.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_turning_point_is_the_cheapest_degree_not_the_first_rise() -> None:
    # a shared machine: 3 dipped, 4 was the cheapest per sample of all
    study = analyse([_run(1, 1000, 40), _run(2, 1400, 42), _run(3, 1300, 43), _run(4, 1600, 45)])
    assert study["turning_point"] is None  # the largest degree swept is the cheapest
    study = analyse([_run(1, 1000, 40), _run(2, 1400, 42), _run(3, 1300, 43), _run(4, 1450, 50)])
    assert study["turning_point"] == 2
