"""Flag parsing for local mode: energy with units, durations, and the one-line user errors."""

from __future__ import annotations

import pytest

from autoscaler.runtime.local.settings import default_overlap, parse_energy_j
from autoscaler.units import parse_duration_s


@pytest.mark.parametrize(
    ("text", "joules"),
    [
        ("5000", 5000.0),
        ("50kJ", 50_000.0),
        ("50 kJ", 50_000.0),
        ("3 GJ", 3e9),
        ("0.5MWh", 1.8e9),
        ("1.5MJ", 1_500_000.0),
        ("0.1kWh", 360_000.0),
        ("2Wh", 7200.0),
        ("250J", 250.0),
        ("1e3", 1000.0),
    ],
)
def test_energy_budget_accepts_joules_and_watt_hours(text: str, joules: float) -> None:
    assert parse_energy_j(text) == pytest.approx(joules)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "number"),
        ("lots", "number"),
        ("50kW", "unknown energy unit"),
        ("0J", "positive"),
        ("-5kJ", "number"),
        ("50 kj", "unknown energy unit 'kj'"),  # units are case-sensitive, as SI prefixes are
        ("5mJ", "unknown energy unit 'mJ'"),  # millijoules is not a budget unit: never megajoules
    ],
)
def test_energy_budget_rejects_nonsense_naming_the_accepted_forms(
    text: str, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_energy_j(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("45s", 45.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("2.5h", 9000.0),
        ("1d", 86400.0),
        ("0.5", 0.5),
    ],
)
def test_durations_accept_seconds_and_suffixes(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("soon", "duration must be"),
        ("10x", "unknown duration unit"),
        ("0", "positive"),
        ("10m garbage", "duration must be"),
        ("", "duration must be"),
    ],
)
def test_durations_reject_nonsense(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_duration_s(text)


@pytest.mark.parametrize(
    ("cpu_count", "max_replicas", "overlap"),
    [
        (2, 4, False),  # this project's machines: the generations would fight for the cores
        (2, 1, True),
        (8, 4, True),
        (7, 4, False),
        (64, 8, True),
    ],
)
def test_restarts_overlap_by_default_only_with_two_cores_per_worker(
    cpu_count: int, max_replicas: int, overlap: bool
) -> None:
    assert default_overlap(cpu_count, max_replicas) is overlap
