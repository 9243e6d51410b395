"""The local report: pooled measurements per degree, energy by source, honest gaps, and the
closing summary — built from a recorded run, no processes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from autoscaler.actuators.torchrun import ResizeEvent
from autoscaler.decision.types import Decision, DegreePrediction, Quality, Reason, Window
from autoscaler.runtime.local.plot import plot_report
from autoscaler.runtime.local.report import (
    RunRecord,
    build_report,
    measured_by_degree,
    summary_text,
    write_report_json,
)


def _w(
    n: int,
    t0: float,
    samples: float,
    energy_j: float,
    quality: Quality = Quality.OK,
    source: str = "estimate",
    dur: float = 10.0,
) -> Window:
    return Window(
        t0, t0 + dur, n, samples / dur, energy_j / dur, energy_j, samples, source, quality
    )


def _record(dry_run: bool = False) -> RunRecord:
    rec = RunRecord(
        command=["python", "train.py"],
        settings={"dry_run": dry_run, "min_replicas": 1, "max_replicas": 3},
        started_at_s=0.0,
        start_replicas=1,
    )
    rec.windows = [
        _w(1, 0, 1000, 10.0),
        _w(1, 10, 3000, 30.0),  # pooled at 1: 40 J / 4000 samples = 10 mJ
        _w(2, 30, 4000, 20.0, Quality.WARMUP),  # not steady: out of the pooled figures
        _w(2, 40, 5000, 25.0),
        _w(2, 50, 5000, 35.0),  # pooled at 2: 60 J / 10000 = 6 mJ
        _w(2, 60, 100, math.nan, Quality.MISSING),  # no energy: counted nowhere
    ]
    rec.resizes = [
        ResizeEvent(0, 1, 0.0, 0.0, 5.0, "l1"),
        ResizeEvent(1, 2, 20.0, 21.0, 28.0, "l2"),
        ResizeEvent(2, 3, 70.0, 71.0, None, "l3"),
    ]
    pred = (
        DegreePrediction(1, 100.0, 1.0, 0.01, 0.001, True),
        DegreePrediction(2, 500.0, 3.0, 0.006, 0.001, True),
        DegreePrediction(3, 520.0, 4.0, 0.0077, 0.002, False),
    )
    rec.predictions = pred
    rec.decisions = [Decision(60.0, 2, 3, Reason.EXPLORE, "try 3", predictions=pred)]
    rec.final_replicas = 2
    rec.ended_at_s = 90.0
    rec.outcome = "finished"
    rec.samples_done = 18_100
    return rec


def test_measured_figures_pool_only_steady_windows_per_degree() -> None:
    m = measured_by_degree(_record().windows)
    assert sorted(m) == [1, 2]
    assert m[1]["energy_per_sample_j"] == pytest.approx(40.0 / 4000)
    assert m[2]["energy_per_sample_j"] == pytest.approx(60.0 / 10000)
    assert m[2]["windows"] == 2
    assert m[2]["throughput_sps"] == pytest.approx(10000 / 20.0)


def test_report_totals_energy_by_source_and_compares_chosen_with_start() -> None:
    r = build_report(_record())
    assert r["energy_j_by_source"] == {"estimate": pytest.approx(10 + 30 + 20 + 25 + 35)}
    assert r["chosen_replicas"] == 2 and r["start_replicas"] == 1
    e = r["energy_per_sample"]
    assert (e["start_basis"], e["chosen_basis"]) == ("measured", "measured")
    assert e["change_pct"] == pytest.approx(100 * (0.006 / 0.01 - 1))
    assert e["source"] == "estimate"
    # the first start is not a resize; a resize that never reached a step has no latency
    assert r["resize_latency_median_s"] == pytest.approx(8.0)
    assert r["resize_downtime_median_s"] == pytest.approx(8.0)  # no overlap recorded
    assert r["resizes"][2]["latency_s"] is None


def test_dry_run_report_names_the_recommendation_not_the_degree_run() -> None:
    r = build_report(_record(dry_run=True))
    assert r["chosen_replicas"] == 3
    assert r["energy_per_sample"]["chosen_basis"] == "predicted"
    assert "recommended degree: 3" in summary_text(r, Path("/x"))


def test_report_json_has_no_nan_and_round_trips(tmp_path: Path) -> None:
    path = write_report_json(build_report(_record()), tmp_path)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["windows"][-1]["energy_j"] is None
    assert data["decisions"][0]["reason"] == "Explore"


def test_summary_states_chosen_degree_change_source_and_where_the_report_is() -> None:
    text = summary_text(build_report(_record()), Path("/reports/run1"))
    assert "chosen degree: 2 worker(s) (started at 1)" in text
    assert "-40.0%" in text and "[source: estimate]" in text
    assert "/reports/run1/report.json" in text
    assert "measured per degree: 1: 10.000 mJ @ 200/s, 2: 6.000 mJ @ 500/s" in text


def test_plot_is_written_as_png(tmp_path: Path) -> None:
    path = plot_report(build_report(_record()), tmp_path / "report.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_reports_energy_is_the_ledgers_invalid_windows_not_counted() -> None:
    """Issue 9: local mode once added every non-NaN window's joules, invalid ones too (a
    counter reset inside a window can report anything); the report now counts by the job
    session's one rule, so its total is the one the engine's budget saw."""
    rec = _record()
    rec.windows.append(_w(2, 500.0, 1e6, 9e9, Quality.INVALID))
    rec.windows.append(_w(2, 510.0, 100.0, 5.0, Quality.MISSING, source="nvml"))
    r = build_report(rec)
    assert r["energy_j_by_source"] == {"estimate": pytest.approx(10 + 30 + 20 + 25 + 35),
                                       "nvml": pytest.approx(5.0)}


def test_report_windows_carry_the_step_split_the_engine_saw(tmp_path: Path) -> None:
    """A report replays its decisions only if it holds what the engine was given."""
    from dataclasses import replace

    rec = _record()
    rec.windows[1] = replace(rec.windows[1], step_s=0.02, sync_s=0.005, batch_per_worker=64.0,
                             nodes=1)  # fmt: skip
    data = json.loads(write_report_json(build_report(rec), tmp_path).read_text())
    split = ("step_s", "sync_s", "batch_per_worker", "nodes")
    assert [data["windows"][1][k] for k in split] == [0.02, 0.005, 64.0, 1]
    assert [data["windows"][0][k] for k in split] == [None] * 4  # samples only
