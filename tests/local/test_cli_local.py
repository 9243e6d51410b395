"""``energy-autoscaler local`` turns every bad flag into one clear line and exit code 2,
before anything is started."""

from __future__ import annotations

import sys

import pytest

from autoscaler.cli import main

TRAIN = [sys.executable, "examples/train_elastic.py"]


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        ([], "no training command"),
        (["--"], "no training command"),
        (["--objective", "greedy", "--", *TRAIN], "--objective"),
        (["--budget", "a lot", "--", *TRAIN], "--budget"),
        (["--deadline", "tomorrow", "--", *TRAIN], "--deadline"),
        (["--interval", "0", "--", *TRAIN], "--interval"),
        (["--min", "3", "--max", "2", "--", *TRAIN], "--max (2) must be >= --min (3)"),
        (["--min", "0", "--", *TRAIN], "--min: Input should be greater than or equal to 1"),
        (["--total-samples", "-5", "--", *TRAIN], "--total-samples"),
        (["--start", "5", "--max", "4", "--", *TRAIN], "--start (5)"),
        (["--", "no-such-program-xyz", "--flag"], "training command not found"),
        # issue 8: refused in one line, never a traceback or an endless loop
        (["--max", "10000", "--", *TRAIN], "--max: at most"),
        (["--max", "257", "--", *TRAIN], "--max: at most"),
        (["--min", "10000", "--max", "10000", "--", *TRAIN], "--max: at most"),
        (["--total-samples", "inf", "--", *TRAIN], "--total-samples"),
        (["--total-samples", "nan", "--", *TRAIN], "--total-samples"),
        (["--total-samples", "1e400", "--", *TRAIN], "--total-samples"),
        (["--total-samples=-inf", "--", *TRAIN], "--total-samples"),
        (["--total-samples", "1e300", "--", *TRAIN], "--total-samples"),
        (["--interval", "1e-9", "--", *TRAIN], "--interval"),
        (["--interval", "0.5", "--", *TRAIN], "--interval"),
        (["--interval", "1e400", "--", *TRAIN], "--interval"),
        (["--interval", "1e300", "--", *TRAIN], "--interval"),
        (["--interval", "-3", "--", *TRAIN], "--interval"),
        (["--interval", "nan", "--", *TRAIN], "--interval"),
        (["--interval", "inf", "--", *TRAIN], "--interval"),
        (["--deadline", "1e400", "--", *TRAIN], "--deadline"),
        (["--deadline", "1e300", "--", *TRAIN], "--deadline"),
        (["--deadline", "-5", "--", *TRAIN], "--deadline"),
        (["--deadline", "nan", "--", *TRAIN], "--deadline"),
        (["--budget", "1e400", "--", *TRAIN], "--budget"),
        (["--budget", "nan", "--", *TRAIN], "--budget"),
        (["--budget=-1kJ", "--", *TRAIN], "--budget"),
        (["--start", "-1", "--", *TRAIN], "--start"),
        (["--max", "-1", "--", *TRAIN], "--max"),
        # issue 12: prices, carbon intensity, the power cap, cost / carbon need their prices
        (["--objective", "cost", "--", *TRAIN],
         "--objective: cost needs --price-per-kwh or --price-per-worker-hour"),
        (["--objective", "cost", "--carbon-g-per-kwh", "300", "--", *TRAIN], "--objective: cost"),
        (["--objective", "carbon", "--", *TRAIN], "--objective: carbon needs --carbon-g-per-kwh"),
        (["--objective", "carbon", "--price-per-kwh", "0.2", "--", *TRAIN], "--objective: carbon"),
        (["--price-per-kwh=-0.2", "--", *TRAIN], "--price-per-kwh"),
        (["--price-per-kwh", "0.2EUR", "--", *TRAIN], "--price-per-kwh"),
        (["--price-per-kwh", "nan", "--", *TRAIN], "--price-per-kwh"),
        (["--price-per-worker-hour", "inf", "--", *TRAIN], "--price-per-worker-hour"),
        (["--price-per-worker-hour", "cheap", "--", *TRAIN], "--price-per-worker-hour"),
        (["--carbon-g-per-kwh", "-1", "--", *TRAIN], "--carbon-g-per-kwh"),
        (["--max-power", "0", "--", *TRAIN], "--max-power"),
        (["--max-power", "5 mW", "--", *TRAIN], "--max-power"),
        (["--max-power", "5 kWh", "--", *TRAIN], "--max-power"),
        (["--max-power", "1e400", "--", *TRAIN], "--max-power"),
        (["--max-power=-3kW", "--", *TRAIN], "--max-power"),
    ],
)
def test_bad_flags_get_one_line_and_exit_code_2(
    flags: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["local", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert complaint in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_flags_become_settings_with_absolute_deadline_and_units() -> None:
    from autoscaler.cli import build_parser
    from autoscaler.cli.local import settings_from_args

    argv = [
        "local",
        "--min",
        "2",
        "--max",
        "3",
        "--budget",
        "0.1kWh",
        "--deadline",
        "10m",
        "--objective",
        "balanced:0.3",
        "--interval",
        "5s",
        "--dry-run",
        "--",
        *TRAIN,
        "--max-steps",
        "10",
        "-v",
    ]
    s = settings_from_args(build_parser(argv).parse_args(argv))
    assert s.command == (*TRAIN, "--max-steps", "10", "-v")  # flags after -- are the command's
    assert (s.min_replicas, s.max_replicas, s.first_replicas) == (2, 3, 2)
    assert s.energy_budget_j == pytest.approx(360_000.0)
    assert s.interval_s == 5.0 and s.dry_run
    spec = s.job_spec(started_at_s=1000.0)
    assert spec.deadline_s == pytest.approx(1600.0)
    assert str(spec.objective) == "balanced:0.3"


@pytest.mark.parametrize(("flags", "objective", "max_power_w", "prices"), [
    (["--objective", "cost", "--price-per-kwh", "0.2"], "cost", None, (0.2, None, None)),
    (["--objective", "cost", "--price-per-worker-hour", "2.5", "--max-power", "1.5kW"], "cost",
     1500.0, (None, 2.5, None)),
    (["--objective", "carbon", "--carbon-g-per-kwh", "350", "--max-power", "300"], "carbon",
     300.0, (None, None, 350.0)),
    (["--price-per-kwh", "0", "--carbon-g-per-kwh", "0", "--max-power", "2 MW"], "energy",
     2e6, (0.0, None, 0.0)),
    ([], "energy", None, None),
])
def test_price_and_power_flags_reach_the_job_spec(
    flags: list[str], objective: str, max_power_w: float | None,
    prices: tuple[float | None, float | None, float | None] | None,
) -> None:
    from autoscaler.cli import build_parser
    from autoscaler.cli.local import settings_from_args

    argv = ["local", *flags, "--", *TRAIN]
    spec = settings_from_args(build_parser(argv).parse_args(argv)).job_spec(started_at_s=0.0)
    assert str(spec.objective) == objective
    assert spec.max_power_w == max_power_w
    if prices is None:
        assert spec.prices is None
        return
    assert spec.prices is not None
    rates = (spec.prices.energy_per_kwh, spec.prices.per_worker_hour,
             spec.prices.carbon_g_per_kwh)
    assert tuple(None if r is None else r.value_at(0.0) for r in rates) == prices


def test_static_power_reaches_the_job_spec_for_the_power_prior(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autoscaler.cli import build_parser
    from autoscaler.cli.local import settings_from_args

    monkeypatch.delenv("EA_STATIC_POWER", raising=False)
    for flags, expected in ((["--static-power", "30W"], 30.0), ([], 0.0)):
        argv = ["local", *flags, "--", *TRAIN]
        spec = settings_from_args(build_parser(argv).parse_args(argv)).job_spec(started_at_s=0.0)
        assert spec.static_power_w == expected


def test_help_says_what_each_price_and_power_flag_does(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["local", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for flag in ("--price-per-kwh X", "--price-per-worker-hour X", "--carbon-g-per-kwh X",
                 "--max-power POWER"):
        assert flag in out
    assert "cost (needs --price-per-kwh" in out
