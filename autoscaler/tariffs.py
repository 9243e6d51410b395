"""Daily tariffs given in a time zone, turned into plain change points on the unix clock.

Form: ``"HH:MM=value[,HH:MM=value...]"`` — each value holds from that local time of day until
the next one, the last wrapping past midnight to the first (``"07:00=0.30,22:00=0.12"``: 0.30
by day, 0.12 by night). The time zone is an IANA name (``Europe/Paris``; default ``UTC``).

The decision engine reads no clock and no time-zone database. This module sits at the boundary
(settings, flags, annotations): it loads the zone once (zoneinfo reads the tz database) and
unrolls the tariff into a non-repeating :class:`~autoscaler.decision.prices.Rate` on the unix
clock, one change point per period per *local* day, from the day before ``start_unix_s`` for
:data:`DAYS` days (daylight-saving changes land where they are, which a fixed 86,400 s repeat
could not do). After that the last value holds: a job running longer than a year is re-planned
with a fresh schedule on its next settings load.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from autoscaler.decision.prices import MAX_POINTS, Rate

DAYS = 366
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*=\s*(\S+)\s*$")
FORM = "HH:MM=value[,HH:MM=value...] (local times of day, e.g. 07:00=0.30,22:00=0.12)"


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError (one line) when unknown."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Europe/Paris)") from None


def periods(text: str) -> list[tuple[int, int, float]]:
    """``(hour, minute, value)`` per period, sorted by time of day; ValueError on a bad form."""
    out: list[tuple[int, int, float]] = []
    for part in text.split(","):
        m = _PERIOD.match(part)
        if m is None:
            raise ValueError(f"a daily schedule is {FORM}; got {part.strip()!r}")
        hour, minute, raw = int(m.group(1)), int(m.group(2)), m.group(3)
        if hour > 23 or minute > 59:
            raise ValueError(f"{part.strip()!r}: not a time of day (00:00..23:59)")
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{part.strip()!r}: the value must be a number >= 0") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{part.strip()!r}: the value must be a finite number >= 0")
        out.append((hour, minute, value))
    out.sort()
    if len({(h, m) for h, m, _ in out}) != len(out):
        raise ValueError("a daily schedule names the same time of day twice")
    if len(out) > 24 * 4:
        raise ValueError("a daily schedule may have at most 96 periods")
    return out


def is_schedule(text: str) -> bool:
    """Whether a price flag or annotation is a daily schedule (else it is a number)."""
    return "=" in text


def daily_rate(text: str, tz_name: str, start_unix_s: float) -> Rate:
    """The daily tariff ``text`` in zone ``tz_name`` as change points on the unix clock, from
    the local day before ``start_unix_s`` for :data:`DAYS` days (see the module doc)."""
    tz = zone(tz_name)
    table = periods(text)
    days = min(DAYS, MAX_POINTS // len(table) - 2)
    first = datetime.fromtimestamp(start_unix_s, tz).date() - timedelta(days=1)
    points: dict[float, float] = {}
    for d in range(days + 1):
        day = first + timedelta(days=d)
        for hour, minute, value in table:
            local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
            points[local.timestamp()] = value  # a DST fold maps two local times to one: last wins
    ordered = sorted(points.items())
    merged = [ordered[0]]
    for t, v in ordered[1:]:
        if v != merged[-1][1]:
            merged.append((t, v))
    return Rate(tuple(merged))


def parse_price(text: str, tz_name: str, start_unix_s: float) -> Rate:
    """A price flag or annotation: a number (a constant) or a daily schedule in ``tz_name``."""
    if is_schedule(text):
        return daily_rate(text, tz_name, start_unix_s)
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"must be a number >= 0 or a daily schedule {FORM}; got {text!r}") \
            from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a finite number >= 0, got {text!r}")
    return Rate.constant(value)
