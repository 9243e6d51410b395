"""Issue 12: the operator's default prices — a constant, a daily schedule in a time zone, or a
PromQL query read each pass; a bad read keeps the last good value and warns, never raises."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from autoscaler.runtime.operator.prices import PriceFeed, PriceSettings
from autoscaler.runtime.operator.settings import load_settings
from autoscaler.sources.snapshot import SourceError

START = datetime(2026, 1, 15, 12, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()


def _feed(**prices: Any) -> PriceFeed:
    return PriceFeed(PriceSettings.model_validate(prices), START)


class FakeQuery:
    """Answers each call with the next of ``answers`` (an exception is raised)."""

    def __init__(self, *answers: Sequence[tuple[Any, float]] | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, promql: str) -> tuple[Sequence[tuple[Any, float]], float]:
        self.asked.append(promql)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer, 0.0


def test_constant_and_schedule_need_no_query() -> None:
    feed = _feed(energy_per_kwh={"schedule": "07:00=0.30,22:00=0.12", "timezone": "Europe/Paris"},
                 per_worker_hour={"value": 2.5})
    assert feed.queries == {} and feed.refresh(FakeQuery()) == []
    prices = feed.prices()
    assert prices is not None and prices.energy_per_kwh is not None
    assert prices.energy_per_kwh.value_at(START) == 0.30
    night = datetime(2026, 1, 15, 23, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    assert prices.energy_per_kwh.value_at(night) == 0.12
    assert prices.per_worker_hour is not None and prices.per_worker_hour.value_at(0) == 2.5


@pytest.mark.parametrize(("bad", "why"), [
    ([], "0 series (one expected)"),
    ([({}, 1.0), ({}, 2.0)], "2 series (one expected)"),
    ([({}, float("nan"))], "not a finite number >= 0"),
    ([({}, -3.0)], "not a finite number >= 0"),
    (SourceError("Prometheus at http://p:9090: ConnectError: refused"), "ConnectError"),
])
def test_a_bad_read_keeps_the_last_good_value_and_warns(bad: Any, why: str) -> None:
    feed = _feed(carbon_g_per_kwh={"query": "grid_intensity"})
    query = FakeQuery([({}, 350.0)], bad, [({}, 120.0)])
    assert feed.refresh(query) == []
    warnings = feed.refresh(query)
    assert len(warnings) == 1 and why in warnings[0]
    assert "keeping the last good value 350" in warnings[0]
    prices = feed.prices()
    assert prices is not None and prices.carbon_g_per_kwh is not None
    assert prices.carbon_g_per_kwh.value_at(0) == 350.0
    assert feed.refresh(query) == []
    prices = feed.prices()
    assert prices is not None and prices.carbon_g_per_kwh is not None
    assert prices.carbon_g_per_kwh.value_at(0) == 120.0
    assert query.asked == ["grid_intensity"] * 3


def test_before_any_good_value_the_price_is_not_set() -> None:
    feed = _feed(energy_per_kwh={"query": "price"})
    warnings = feed.refresh(FakeQuery([]))
    assert "no good value yet" in warnings[0] and feed.prices() is None


@pytest.mark.parametrize(("prices", "message"), [
    ({"energy_per_kwh": {"value": 0.2, "query": "x"}}, "exactly one of"),
    ({"energy_per_kwh": {}}, "exactly one of"),
    ({"energy_per_kwh": {"schedule": "7h=0.3"}}, "a daily schedule is"),
    ({"energy_per_kwh": {"schedule": "07:00=0.3", "timezone": "Nowhere"}}, "unknown time zone"),
    ({"energy_per_kwh": {"value": -1}}, "greater than or equal to 0"),
])
def test_bad_price_settings_are_refused(prices: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PriceSettings.model_validate(prices)


def test_operator_settings_carry_prices(tmp_path: Any) -> None:
    path = tmp_path / "operator.yaml"
    path.write_text("prices:\n  per_worker_hour: {value: 1.5}\n"
                    "  carbon_g_per_kwh: {query: 'grid_intensity{zone=\"FR\"}'}\n")
    settings = load_settings(str(path), {})
    assert settings.prices.per_worker_hour is not None
    assert settings.prices.per_worker_hour.value == 1.5
    assert settings.prices.carbon_g_per_kwh is not None
    assert settings.prices.carbon_g_per_kwh.query == 'grid_intensity{zone="FR"}'
