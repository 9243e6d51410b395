"""Quantities with units that users type: one parser for the CLI flags, the annotations and the
settings files, so ``--budget 5kWh`` and ``energy-autoscaler.io/energy-budget: 5kWh`` (or
``--interval 1m`` and ``interval_s: 1m``) can never disagree.

Pure and dependency-free; sits outside the layer stack so every layer may use it.
"""

from __future__ import annotations

import math
import re

# Joules per unit, spelled exactly as the contract lists them. SI prefixes are case-sensitive:
# "mJ" would be millijoules and "MJ" megajoules, so a wrong case is refused, never guessed.
ENERGY_UNITS_J: dict[str, float] = {
    "J": 1.0,
    "kJ": 1e3,
    "MJ": 1e6,
    "GJ": 1e9,
    "Wh": 3600.0,
    "kWh": 3.6e6,
    "MWh": 3.6e9,
}
_QUANTITY_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")

# Watts per unit, case-sensitive like the energy units: "mW" (milliwatts) is refused, never read
# as megawatts. A power cap on a job is a rack's or a contract's, so MW is the top.
POWER_UNITS_W: dict[str, float] = {"W": 1.0, "kW": 1e3, "MW": 1e6}


def _parse_quantity(text: str, units: dict[str, float], kind: str, bare_unit: str | None) -> float:
    """A positive number with one of ``units``; ``bare_unit`` is assumed when none is typed
    (None: a unit is required). ValueError messages name the accepted units."""
    m = _QUANTITY_RE.match(text)
    names = ", ".join(units)
    if m is None:
        raise ValueError(f"needs a number with a unit ({names}), got {text!r}")
    unit = m.group(2) or (bare_unit or "")
    if unit not in units:
        if not unit:
            raise ValueError(f"needs a unit ({names}), got {text!r}")
        raise ValueError(f"unknown {kind} unit {unit!r} in {text!r}; use one of {names}")
    value = float(m.group(1)) * units[unit]
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be a positive {kind}, got {text!r}")
    return value


def parse_energy_j(text: str, *, bare_number_is_joules: bool = False) -> float:
    """``"5 kWh"`` -> 1.8e7 joules. Raises ValueError naming the accepted units.

    A bare number (``"5000"``) is accepted as joules only where the caller says so (a CLI flag
    documents it); the annotation contract requires a unit.
    """
    return _parse_quantity(text, ENERGY_UNITS_J, "energy", "J" if bare_number_is_joules else None)


def parse_power_w(text: str, *, bare_number_is_watts: bool = False) -> float:
    """``"12 kW"`` -> 12000.0 watts; a positive power. Raises ValueError naming the units.

    A bare number is watts only where the caller says so (a CLI flag documents it); the
    annotation contract requires a unit, as it does for energy.
    """
    return _parse_quantity(text, POWER_UNITS_W, "power", "W" if bare_number_is_watts else None)


def parse_rate(text: str) -> float:
    """A price or an intensity per unit (``"0.20"`` per kWh, ``"350"`` gCO2/kWh): a finite
    number >= 0, no currency or unit (the job's own money). Raises ValueError."""
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"must be a number >= 0 (no currency or unit), got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a finite number >= 0, got {text!r}")
    return value


DURATION_UNITS_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"


def parse_duration_s(text: str) -> float:
    """``"90"`` → 90.0 (seconds); ``"10m"``, ``"1h30m"``, ``"2.5h"``, ``"45s"``."""
    t = text.strip().lower()
    if re.fullmatch(_DURATION_NUMBER, t):
        value = float(t)
    else:
        parts = re.findall(rf"({_DURATION_NUMBER})\s*([a-z]+)", t)
        if not parts or re.sub(rf"({_DURATION_NUMBER})\s*([a-z]+)", "", t).strip():
            raise ValueError(f"duration must be seconds or like 10m, 1h30m, 45s; got {text!r}")
        value = 0.0
        for number, _digits, unit in parts:
            if unit not in DURATION_UNITS_S:
                raise ValueError(f"unknown duration unit {unit!r} in {text!r}; use s, m, h or d")
            value += float(number) * DURATION_UNITS_S[unit]
    if not math.isfinite(value):
        raise ValueError(f"duration must be a finite number, got {text!r}")
    if value <= 0:
        raise ValueError(f"duration must be positive, got {text!r}")
    return value
