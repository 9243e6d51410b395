"""What a local run may claim at its end (issue 13): counterfactual savings from measured
J/sample × samples done, "ended while measuring" instead of "chosen", the marginal view, and a
closing line that names only the files that were written. Pure: recorded runs, no processes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from autoscaler.decision.types import Decision, Quality, Reason, Window
from autoscaler.runtime.local.plot import try_plot
from autoscaler.runtime.local.report import RunRecord, build_report, summary_text
from autoscaler.runtime.local.summary import counterfactuals, run_status


def _w(n: int, t0: float, sps: float, watts: float, dur: float = 4.0) -> Window:
    return Window(t0, t0 + dur, n, sps, watts, watts * dur, sps * dur, "estimate", Quality.OK)


def _record(
    windows: list[tuple[int, float, float]],
    decisions: list[tuple[int, int, Reason]],
    final: int,
    static_w: float = 0.0,
    samples: float = 1_000_000,
) -> RunRecord:
    """windows: (degree, samples/s, W) of 4 s each; decisions: (current, target, reason)."""
    rec = RunRecord(
        command=["python", "train.py"],
        settings={"dry_run": False, "min_replicas": 1, "max_replicas": 4,
                  "static_power_w": static_w},
        started_at_s=0.0,
        start_replicas=1,
    )  # fmt: skip
    rec.windows = [_w(n, 4.0 * i, x, p) for i, (n, x, p) in enumerate(windows)]
    rec.decisions = [Decision(10.0 * i, c, t, r, "m") for i, (c, t, r) in enumerate(decisions)]
    rec.final_replicas, rec.ended_at_s, rec.outcome = final, 100.0, "finished"
    rec.samples_done = samples
    return rec


# 1 worker: 1000/s at 20 W (20 mJ); 2: 1500/s at 25 W (16.7 mJ); 4: 1600/s at 40 W (25 mJ)
ONE, TWO, FOUR = (1, 1000.0, 20.0), (2, 1500.0, 25.0), (4, 1600.0, 40.0)
EXPLORED = [(1, 2, Reason.EXPLORE), (2, 4, Reason.EXPLORE), (4, 2, Reason.RESIZE_BETTER)]


@pytest.mark.parametrize(
    ("final", "last_reason", "last_target", "windows", "measuring"),
    [
        (2, "HoldOptimal", 2, 5, False),  # settled: chosen
        (2, "ResizeBetter", 2, 3, False),  # moved back to a degree measured before: chosen
        (4, "Explore", 4, 0, True),  # the job ended right after an Explore move
        (4, "Explore", 4, 3, True),  # ... even with windows there: the engine had not judged
        (4, "HoldOptimal", 4, 1, True),  # fewer than the minimum of steady windows
        (1, None, None, 0, True),  # ended before any decision
        (2, "Explore", 3, 4, False),  # the Explore move never happened: 2 was measured
    ],
)
def test_ended_while_measuring_table(
    final: int, last_reason: str | None, last_target: int | None, windows: int, measuring: bool
) -> None:
    status = run_status(final, last_reason, last_target, windows, min_windows=2)
    assert (status is not None) is measuring
    if status is not None:
        assert status["replicas"] == final


@pytest.mark.parametrize(
    ("chosen", "start", "maximum", "vs_start", "vs_max"),
    [
        # measured J/sample x samples: 1e6 samples at 2 (16.7 mJ) vs 1 (20 mJ) vs 4 (25 mJ)
        (2, 1, 4, (20_000 - 50_000 / 3, 1000.0 - 1e6 / 1500), (25_000 - 50_000 / 3, None)),
        (1, 1, 4, "same", (25_000 - 20_000, 1e6 / 1600 - 1000.0)),
        (2, 1, 3, (20_000 - 50_000 / 3, None), "not measured"),  # 3 never measured
        (4, 1, 4, (20_000 - 25_000, 1000.0 - 625.0), "same"),  # a degree that cost more
    ],
)
def test_counterfactual_savings_table(
    chosen: int, start: int, maximum: int, vs_start: Any, vs_max: Any
) -> None:
    measured = build_report(_record([ONE, ONE, TWO, TWO, FOUR, FOUR], [], 2))["measured"]
    got = counterfactuals(measured, chosen, start, maximum, 1_000_000)
    for key, want in (("vs_start", vs_start), ("vs_max", vs_max)):
        entry = got[key]
        if want == "same":
            assert entry["same_degree"]
        elif want == "not measured":
            assert entry["measured"] is False
        else:
            saved_j, saved_s = want
            assert entry["saved_j"] == pytest.approx(saved_j)
            if saved_s is not None:
                assert entry["saved_s"] == pytest.approx(saved_s)


def test_summary_of_a_settled_run_gives_savings_in_joules_and_time_and_the_turning_point() -> None:
    rec = _record([ONE, ONE, TWO, TWO, FOUR, FOUR, TWO], EXPLORED, final=2, static_w=15)
    report = build_report(rec)
    assert report["chosen_replicas"] == 2 and report["ended_while_measuring"] is None
    text = summary_text(report, Path("/r"))
    assert "chosen degree: 2 worker(s) (started at 1)" in text
    assert "vs staying at 1: 3.33 kJ saved (16.7%), 333 s faster" in text
    assert "vs the maximum 4: 8.33 kJ saved (33.3%)" in text
    assert "[source: estimate(static 15 W)]" in text
    assert report["marginal"]["turning_point"] == 2
    assert "turning point at 2" in text
    # the CPU-time estimate's note is only for runs without static power
    assert "by construction" not in text


def test_a_run_that_ends_right_after_exploring_does_not_call_the_degree_chosen() -> None:
    # issue 13's run: 1 -> 2 -> 4 and the job finished while 4 was still being measured
    rec = _record([ONE, ONE, TWO, TWO, FOUR], EXPLORED[:2], final=4)
    report = build_report(rec)
    assert report["chosen_replicas"] is None
    assert report["ended_while_measuring"]["replicas"] == 4
    assert report["savings"] is None
    text = summary_text(report, Path("/r"))
    assert "chosen degree" not in text
    assert "no degree chosen: the job ended while 4 worker(s) was still being measured" in text
    assert "savings: none claimed" in text


def test_without_static_power_the_summary_says_the_estimate_favours_the_fewest_workers() -> None:
    text = summary_text(build_report(_record([ONE, ONE], [], final=1)), Path("/r"))
    assert "least energy per sample is at the fewest workers by construction" in text


def test_marginal_view_is_in_the_report() -> None:
    report = build_report(_record([ONE, ONE, TWO, TWO, FOUR, FOUR], EXPLORED, final=2))
    first, second = report["marginal"]["steps"]
    assert (first["from_replicas"], first["to_replicas"]) == (1, 2)
    assert first["marginal_sps_per_w"] == pytest.approx(500 / 5)  # +500/s for +5 W
    assert not first["adds_more_energy_than_speed"]
    assert second["marginal_sps_per_w"] == pytest.approx(100 / 15)
    assert second["adds_more_energy_than_speed"]


def test_closing_line_names_report_png_only_when_it_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    held = [*EXPLORED[:1], (2, 2, Reason.HOLD_OPTIMAL)]
    report = build_report(_record([ONE, ONE, TWO, TWO], held, final=2))
    report["plot"] = try_plot(report, tmp_path / "report.png")
    assert (tmp_path / "report.png").exists()
    last = summary_text(report, tmp_path).splitlines()[-1]
    assert last == f"report: {tmp_path / 'report.json'} and {tmp_path / 'report.png'}"

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the 'report' extra is missing
    other = tmp_path / "other"
    report["plot"] = try_plot(report, other / "report.png")
    last = summary_text(report, other).splitlines()[-1]
    assert not (other / "report.png").exists()
    assert str(other / "report.png") not in last
    assert last.startswith(f"report: {other / 'report.json'} (no report.png: matplotlib")


def test_plot_title_follows_the_same_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.figure

    titles: list[str] = []
    real = matplotlib.figure.Figure.suptitle

    def spy(self: Any, t: str, **kw: Any) -> Any:
        titles.append(t)
        return real(self, t, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "suptitle", spy)
    report = build_report(_record([ONE, ONE, TWO, TWO, FOUR], EXPLORED[:2], final=4))
    assert try_plot(report, tmp_path / "report.png")["written"]
    assert "chosen" not in titles[-1].replace("no degree chosen", "")
    assert "ended while measuring 4" in titles[-1]


def test_a_cheaper_measured_degree_the_engine_did_not_move_to_is_named() -> None:
    held = [(1, 2, Reason.EXPLORE), (2, 1, Reason.RESIZE_BETTER), (1, 1, Reason.HOLD_NOT_WORTH_IT)]
    rec = _record([ONE, ONE, TWO, TWO, ONE, ONE], held, final=1)
    rec.settings["objective"] = {"kind": "energy", "eta": 0.5}
    text = summary_text(build_report(rec), Path("/r"))
    assert "note: 2 worker(s) measured cheaper per sample (16.667 vs 20.000 mJ)" in text
    rec.settings["objective"] = {"kind": "time", "eta": 0.5}
    assert "measured cheaper" not in summary_text(build_report(rec), Path("/r"))


# --- issue 12: money and gCO2 beside the energy, with the energy's source -------------------
def test_priced_report_carries_money_and_carbon_with_their_source() -> None:
    rec = _record([ONE] * 3 + [TWO] * 3, [(1, 2, Reason.RESIZE_BETTER)], final=2,
                  samples=1_000_000)
    rec.settings.update(price_per_kwh=0.36, price_per_worker_hour=3.6, carbon_g_per_kwh=360.0)
    report = build_report(rec)
    priced = report["priced"]
    # 3 windows x 4 s at 20 W + 3 x 4 s at 25 W = 540 J (source: estimate).
    assert priced["energy_money_by_source"] == pytest.approx({"estimate": 540 * 0.36 / 3.6e6})
    assert priced["carbon_g_by_source"] == pytest.approx({"estimate": 540 * 360 / 3.6e6})
    # Workers: (3 x 1 + 3 x 2) worker-windows x 4 s at 3.6 per worker-hour.
    assert priced["worker_money"] == pytest.approx({"wall clock": 36 * 3.6 / 3600})
    chosen = priced["per_sample"]["chosen"]
    assert chosen["money"] == pytest.approx(25 / 1500 * 1e-7 + 2 / 1500 * 1e-3)
    assert chosen["carbon_g"] == pytest.approx(25 / 1500 * 1e-4)
    vs_start = priced["savings"]["vs_start"]
    assert vs_start["saved_carbon_g"] == pytest.approx((0.02 - 25 / 1500) * 1e6 * 1e-4)
    text = summary_text(report, Path("/tmp/r"))
    assert "for energy [source: estimate]" in text and "for workers [source: wall clock]" in text
    assert "gCO2 [source: estimate]" in text


def test_without_prices_the_report_says_nothing_of_money() -> None:
    report = build_report(_record([ONE] * 3, [], final=1))
    assert report["priced"] is None
    assert "money" not in summary_text(report, Path("/tmp/r"))


def test_a_scheduled_price_is_integrated_over_each_window() -> None:
    # 0.36 per kWh from 00:00 UTC, 0.72 from 00:01: the run starts at t=0 (00:00 UTC); two
    # 30 s windows of 600 J at each price.
    rec = _record([ONE], [], final=1)
    rec.windows = [_w(1, 30.0 * i, 1000.0, 20.0, dur=30.0) for i in range(4)]
    rec.settings.update(price_per_kwh="00:00=0.36,00:01=0.72", price_timezone="UTC")
    report = build_report(rec)
    priced = report["priced"]
    assert priced["scheduled"] == ["price_per_kwh"]
    assert priced["energy_money_by_source"] == pytest.approx(
        {"estimate": (2 * 600 * 0.36 + 2 * 600 * 0.72) / 3.6e6})
    assert "at each price's mean over the run" in summary_text(report, Path("/tmp/r"))
