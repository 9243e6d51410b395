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
