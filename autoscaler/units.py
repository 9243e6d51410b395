"""Quantities with units that users type: one parser for the CLI flags and the annotations,
so ``--budget 5kWh`` and ``energy-autoscaler.io/energy-budget: 5kWh`` can never disagree.

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
_ENERGY_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_energy_j(text: str, *, bare_number_is_joules: bool = False) -> float:
    """``"5 kWh"`` -> 1.8e7 joules. Raises ValueError naming the accepted units.

    A bare number (``"5000"``) is accepted as joules only where the caller says so (a CLI flag
    documents it); the annotation contract requires a unit.
    """
    m = _ENERGY_RE.match(text)
    units = ", ".join(ENERGY_UNITS_J)
    if m is None:
        raise ValueError(f"needs a number with a unit ({units}), got {text!r}")
    unit = m.group(2) or ("J" if bare_number_is_joules else "")
    if unit not in ENERGY_UNITS_J:
        if not unit:
            raise ValueError(f"needs a unit ({units}), got {text!r}")
        raise ValueError(f"unknown energy unit {unit!r} in {text!r}; use one of {units}")
    value = float(m.group(1)) * ENERGY_UNITS_J[unit]
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"must be a positive energy, got {text!r}")
    return value
