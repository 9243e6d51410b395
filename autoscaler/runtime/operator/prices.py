"""Operator-wide prices (issue 12): a constant, a daily schedule in a time zone, or a Prometheus
query whose current value is the price, for every served job that does not give its own.

Settings (``prices:`` in the operator's YAML)::

    prices:
      energy_per_kwh: {schedule: "07:00=0.30,22:00=0.12", timezone: Europe/Paris}
      per_worker_hour: {value: 2.5}
      carbon_g_per_kwh: {query: 'grid_carbon_intensity_g_per_kwh{zone="FR"}'}

A schedule is unrolled into change points on the unix clock at load (autoscaler.tariffs), so the
engine plans across its changes. A query is read once per pass through the operator's Prometheus
client (:meth:`PriceFeed.refresh`); its value holds as a constant until the next read (the
engine cannot plan ahead of a value it does not know). A bad read — no series, several, a value
that is not a finite number >= 0, the source down — keeps the last good value and returns a
warning line for the job's Warning Event; it never raises. Before any good value the price is
absent, and a job whose objective needs it is refused as for a missing annotation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autoscaler import tariffs
from autoscaler.decision.prices import Prices, Rate

# What the Prometheus client's ``query`` returns: ([(labels, value)], evaluation time).
Query = Callable[[str], tuple[Sequence[tuple[Any, float]], float]]
KEYS = ("energy_per_kwh", "per_worker_hour", "carbon_g_per_kwh")


class PriceSetting(BaseModel):
    """One price: exactly one of ``value``, ``schedule`` (with ``timezone``) or ``query``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    schedule: str | None = None
    timezone: str = "UTC"
    query: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> PriceSetting:
        given = [k for k in ("value", "schedule", "query") if getattr(self, k) is not None]
        if len(given) != 1:
            got = ", ".join(given) or "none"
            raise ValueError(f"give exactly one of value, schedule or query (got {got})")
        if self.schedule is not None:
            tariffs.periods(self.schedule)
        tariffs.zone(self.timezone)
        return self


class PriceSettings(BaseModel):
    """The operator's default prices; each ``None``: not given."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    energy_per_kwh: PriceSetting | None = None
    per_worker_hour: PriceSetting | None = None
    carbon_g_per_kwh: PriceSetting | None = None


@dataclass
class PriceFeed:
    """The current :class:`Prices` from the settings; queries re-read by :meth:`refresh`."""

    settings: PriceSettings
    start_unix_s: float
    _fixed: dict[str, Rate] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)  # last good value per queried price

    def __post_init__(self) -> None:
        for key in KEYS:
            s: PriceSetting | None = getattr(self.settings, key)
            if s is None or s.query is not None:
                continue
            if s.schedule is not None:
                self._fixed[key] = tariffs.daily_rate(s.schedule, s.timezone, self.start_unix_s)
            elif s.value is not None:
                self._fixed[key] = Rate.constant(s.value)

    @property
    def queries(self) -> dict[str, str]:
        return {k: s.query for k in KEYS
                if (s := getattr(self.settings, k)) is not None and s.query is not None}

    def refresh(self, query: Query) -> list[str]:
        """Read every queried price once; the warnings (one line each) for bad reads."""
        warnings: list[str] = []
        for key, promql in self.queries.items():
            try:
                series, _ = query(promql)
                value = _one_value(series)
            except Exception as e:  # any failure of the source: a bad read never stops the pass
                value = None
                why = str(e).splitlines()[0] if str(e) else type(e).__name__
            else:
                why = "" if value is not None else _why(series)
            if value is not None:
                self._last[key] = value
                continue
            kept = self._last.get(key)
            keeps = f"keeping the last good value {kept:g}" if kept is not None \
                else "no good value yet: the price is not set"
            warnings.append(f"price {key} from query {promql!r}: {why}; {keeps}")
        return warnings

    def prices(self) -> Prices | None:
        """The prices now (None: none set)."""
        rates = dict(self._fixed)
        rates.update({k: Rate.constant(v) for k, v in self._last.items()})
        if not rates:
            return None
        return Prices(**{k: rates.get(k) for k in KEYS})


def _one_value(series: Sequence[tuple[Any, float]]) -> float | None:
    if len(series) != 1:
        return None
    value = float(series[0][1])
    return value if math.isfinite(value) and value >= 0 else None


def _why(series: Sequence[tuple[Any, float]]) -> str:
    if len(series) != 1:
        return f"{len(series)} series (one expected)"
    return f"value {series[0][1]!r} is not a finite number >= 0"


class PriceDefaults:
    """The operator's default prices across passes, for :class:`OperatorCore`.

    Built at the first pass (a schedule is unrolled from then); each pass re-reads the queried
    prices through the measurer's ``query`` (the Prometheus source) and logs each distinct bad
    read once. ``version`` changes whenever the prices do, so the jobs that use them are given
    the new ones (their spec's inputs include it)."""

    def __init__(self, settings: PriceSettings) -> None:
        self._settings = settings
        self._feed: PriceFeed | None = None
        self._prices: Prices | None = None
        self._warned: set[str] = set()
        self.version = 0

    @property
    def prices(self) -> Prices | None:
        return self._prices

    def refresh(self, now_s: float, query: Query | None) -> list[str]:
        """Update the prices; the new warning lines (each bad read is said once)."""
        if self._feed is None:
            if all(getattr(self._settings, k) is None for k in KEYS):
                return []
            self._feed = PriceFeed(self._settings, now_s)
        warnings: list[str] = []
        if self._feed.queries:
            warnings = (["prices given as queries need the prometheus source; they are not set"]
                        if query is None else self._feed.refresh(query))
        new = [w for w in warnings if w not in self._warned]
        self._warned = set(warnings)
        prices = self._feed.prices()
        if prices != self._prices:
            self._prices, self.version = prices, self.version + 1
        return new
