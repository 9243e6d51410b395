"""Issue 12: daily price schedules in a time zone (autoscaler.tariffs) and the local flags that
take them. The zone is resolved at the boundary; the engine gets plain change points."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from autoscaler import tariffs

PARIS = ZoneInfo("Europe/Paris")
TRAIN = ["python", "train.py"]


def _unix(y: int, mo: int, d: int, h: int, mi: int, tz: ZoneInfo = PARIS) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=tz).timestamp()


@pytest.mark.parametrize(("when", "value"), [
    (_unix(2026, 1, 15, 6, 59), 0.12),  # winter (UTC+1): still the night tariff
    (_unix(2026, 1, 15, 7, 0), 0.30),
    (_unix(2026, 1, 15, 21, 59), 0.30),
    (_unix(2026, 1, 15, 22, 0), 0.12),
    # After the spring change (29 March 2026) 07:00 local is 05:00 UTC, not 06:00.
    (_unix(2026, 4, 2, 7, 0), 0.30),
    (_unix(2026, 4, 2, 6, 59), 0.12),
])
def test_a_daily_tariff_follows_local_time_across_daylight_saving(when: float,
                                                                  value: float) -> None:
    rate = tariffs.daily_rate("07:00=0.30,22:00=0.12", "Europe/Paris", _unix(2026, 1, 10, 12, 0))
    assert rate.value_at(when) == value


def test_the_same_tariff_in_utc_changes_an_hour_later_in_winter_paris() -> None:
    start = _unix(2026, 1, 10, 12, 0)
    utc = tariffs.daily_rate("07:00=0.30,22:00=0.12", "UTC", start)
    assert utc.value_at(_unix(2026, 1, 15, 7, 30)) == 0.12  # 06:30 UTC
    assert utc.value_at(_unix(2026, 1, 15, 8, 0)) == 0.30


@pytest.mark.parametrize(("text", "tz", "message"), [
    ("7=0.3", "UTC", "HH:MM=value"),
    ("25:00=0.3", "UTC", "not a time of day"),
    ("07:00=cheap", "UTC", "must be a number"),
    ("07:00=-1", "UTC", ">= 0"),
    ("07:00=1,07:00=2", "UTC", "same time of day twice"),
    ("07:00=1", "Mars/Olympus", "unknown time zone"),
])
def test_a_bad_schedule_is_one_clear_error(text: str, tz: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tariffs.daily_rate(text, tz, 0.0)


def test_a_price_is_a_number_or_a_schedule() -> None:
    assert tariffs.parse_price("0.2", "UTC", 0.0).value_at(123.0) == 0.2
    assert not tariffs.parse_price("00:00=0.1,12:00=0.2", "UTC", 0.0).is_constant
    with pytest.raises(ValueError, match="number >= 0 or a daily schedule"):
        tariffs.parse_price("cheap", "UTC", 0.0)


def test_local_flags_take_a_schedule_and_its_time_zone() -> None:
    from autoscaler.cli import build_parser
    from autoscaler.cli.local import settings_from_args

    argv = ["local", "--objective", "cost", "--price-per-kwh", "07:00=0.30,22:00=0.12",
            "--price-timezone", "Europe/Paris", "--", *TRAIN]
    start = _unix(2026, 1, 15, 12, 0)
    spec = settings_from_args(build_parser(argv).parse_args(argv)).job_spec(started_at_s=start)
    assert spec.prices is not None and spec.prices.energy_per_kwh is not None
    assert spec.prices.energy_per_kwh.value_at(start) == 0.30
    assert spec.prices.energy_per_kwh.value_at(_unix(2026, 1, 15, 23, 0)) == 0.12


@pytest.mark.parametrize(("flags", "message"), [
    (["--price-per-kwh", "7h=0.3"], "--price-per-kwh: a daily schedule is"),
    (["--price-per-kwh", "07:00=0.3", "--price-timezone", "Nowhere/Land"],
     "--price-per-kwh: unknown time zone"),
])
def test_a_bad_schedule_flag_exits_2_with_one_line(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from autoscaler.cli import main

    assert main(["local", *flags, "--", *TRAIN]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
