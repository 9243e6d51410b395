"""The host's static (idle) power, charged to the job once: part of the energy *estimate*.

Why it exists: the workers' CPU-time estimate charges only the CPU time they use, so more
workers can never lower the estimated energy per sample (they add CPU time, never remove it),
and on a CPU machine the estimate's optimum is one worker *by construction*. A real machine
also draws power just for being on (board, memory, fans, power-supply losses, idle cores) while
the job keeps it busy; that static share is what makes a faster degree cheaper per sample. With
it, a CPU box can show an interior optimum for real reasons.

Why on the controller side: static power belongs to the host, not to a worker. Charged per
worker it would grow with the degree, which is the opposite of what it is. So the controller
(local mode, ``sweep``) adds ``static_w × window duration`` to each window once, and the
window's source keeps saying ``estimate`` (``rapl`` or ``nvml`` windows become
``rapl+estimate``): the static share is an assumption the user typed, not a reading. Text
outputs say it in full: ``estimate(static 30 W)``.

How to measure it: a wall-socket meter on this (or a similar) machine, idle, minus nothing; or
RAPL's package+DRAM counters read over a minute of idle (``energy-autoscaler probe`` while the
machine idles) plus a guess for the rest of the board. Set it with ``--static-power 30W`` or
``EA_STATIC_POWER=30W``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping

from autoscaler.decision.types import Window

STATIC_POWER_ENV = "EA_STATIC_POWER"
POWER_UNITS_W: dict[str, float] = {"W": 1.0, "kW": 1e3}
# Above this it is a typo (a whole rack's draw charged to one local job), not an idle draw.
MAX_STATIC_POWER_W = 100_000.0
_POWER_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_power_w(text: str) -> float:
    """``"30W"`` → 30.0, ``"0.2kW"`` → 200.0, ``"0"`` → 0.0 (none). A bare number is watts.
    Raises ValueError with a message that names the accepted forms."""
    m = _POWER_RE.match(text)
    accepted = "a power such as 30W or 0.2kW"
    if m is None:
        raise ValueError(f"needs {accepted}, got {text!r}")
    unit = m.group(2) or "W"
    if unit not in POWER_UNITS_W:
        raise ValueError(f"unknown power unit {unit!r} in {text!r}; use W or kW")
    value = float(m.group(1)) * POWER_UNITS_W[unit]
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a power >= 0, got {text!r}")
    if value > MAX_STATIC_POWER_W:
        raise ValueError(f"{text!r} is more than {MAX_STATIC_POWER_W / 1e3:g} kW: a typo?")
    return value


def static_power_setting(flag: str | None, env: Mapping[str, str] | None = None) -> float:
    """The flag if given, else ``$EA_STATIC_POWER``, else 0 W. ValueError names which was bad."""
    if flag is not None:
        return parse_power_w(flag)
    raw = (os.environ if env is None else env).get(STATIC_POWER_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        return parse_power_w(raw)
    except ValueError as e:
        raise ValueError(f"${STATIC_POWER_ENV}: {e}") from None


def with_static_power(window: Window, static_w: float) -> Window:
    """``window`` with the host's static power charged over its duration (once, whatever the
    degree). A window without a usable energy reading is left as it is: static power alone is
    not a measurement of the job."""
    if static_w <= 0 or not math.isfinite(window.energy_j) or window.duration_s <= 0:
        return window
    job_w = window.power_w if math.isfinite(window.power_w) else window.energy_j / window.duration_s
    return dataclasses.replace(
        window,
        energy_j=window.energy_j + static_w * window.duration_s,
        power_w=job_w + static_w,
        source=with_estimate(window.source),
    )


def with_estimate(source: str) -> str:
    """The source label once the static share (an estimate) is part of the figure."""
    parts = [p for p in source.split("+") if p and p not in ("none", "unknown")]
    if "estimate" not in parts:
        parts.append("estimate")
    return "+".join(parts)


def source_label(source: str, static_w: float) -> str:
    """Text outputs: ``estimate`` → ``estimate(static 30 W)`` when static power is charged."""
    if static_w <= 0:
        return source
    tag = f"estimate(static {static_w:g} W)"
    parts = with_estimate(source).split("+")
    return "+".join(tag if p == "estimate" else p for p in parts)
