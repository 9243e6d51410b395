"""Prices and carbon intensity, constant or changing over time: pure step functions of time.

A :class:`Rate` is a value per unit (money per kWh, money per worker-hour, gCO2 per kWh) that
is either a constant or a *schedule*: change points ``(at_s, value)`` on the caller's clock,
each value holding until the next point, optionally repeating every ``repeat_s`` (a daily
tariff: ``repeat_s = 86400``, points within ``[0, repeat_s)``). Before the first point a
repeating schedule holds its last value (the previous period's), a one-off schedule its first.

Everything here is a function of the ``t_s`` it is given (the engine reads no clock): the value
at a time, the integral and the mean over an interval, in closed form (O(log points) per
interval, vectorised over many intervals), so that planning with a schedule costs microseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

J_PER_KWH = 3.6e6
S_PER_HOUR = 3600.0
MAX_POINTS = 10_000  # change points in one schedule (a year of hourly prices fits)


@dataclass(frozen=True)
class Rate:
    """A value that is constant or follows a schedule of change points (see the module doc)."""

    points: tuple[tuple[float, float], ...]
    repeat_s: float | None = None
    _at: FloatArray = field(init=False, repr=False, compare=False)
    _value: FloatArray = field(init=False, repr=False, compare=False)
    _cum: FloatArray = field(init=False, repr=False, compare=False)  # integral at each point

    def __post_init__(self) -> None:
        pts = self.points
        if not pts:
            raise ValueError("a schedule needs at least one change point")
        if len(pts) > MAX_POINTS:
            raise ValueError(f"a schedule may have at most {MAX_POINTS} change points")
        at = np.array([float(a) for a, _ in pts], dtype=np.float64)
        value = np.array([float(v) for _, v in pts], dtype=np.float64)
        if not (np.all(np.isfinite(at)) and np.all(np.isfinite(value))):
            raise ValueError("schedule times and values must be finite numbers")
        if np.any(value < 0):
            raise ValueError("prices and intensities must be >= 0")
        if np.any(np.diff(at) <= 0):
            raise ValueError("schedule change points must be in increasing at_s order")
        if self.repeat_s is not None:
            if not (math.isfinite(self.repeat_s) and self.repeat_s > 0):
                raise ValueError(f"repeat_s must be > 0, got {self.repeat_s}")
            if at[0] < 0 or at[-1] >= self.repeat_s:
                raise ValueError("a repeating schedule's at_s must lie in [0, repeat_s)")
        object.__setattr__(self, "_at", at)
        object.__setattr__(self, "_value", value)
        # Integral from at[0] to at[i]: the value at[k] holds on [at[k], at[k+1]).
        cum = np.concatenate([[0.0], np.cumsum(value[:-1] * np.diff(at))])
        object.__setattr__(self, "_cum", cum)

    @classmethod
    def constant(cls, value: float) -> Rate:
        return cls(((0.0, float(value)),))

    @property
    def is_constant(self) -> bool:
        return len(self.points) == 1

    def value_at(self, t_s: float) -> float:
        """The value holding at ``t_s``."""
        return float(self._values(np.array([t_s], dtype=np.float64))[0])

    def integral(self, t0_s: FloatArray | float, t1_s: FloatArray | float) -> FloatArray:
        """∫ value dt over [t0, t1] (elementwise; value × seconds)."""
        return self._antiderivative(np.asarray(t1_s, dtype=np.float64)) - self._antiderivative(
            np.asarray(t0_s, dtype=np.float64)
        )

    def mean_over(self, t0_s: float, durations_s: FloatArray | float) -> FloatArray:
        """Time-average over [t0, t0 + d] for each duration d (the value at t0 where d = 0)."""
        d = np.asarray(durations_s, dtype=np.float64)
        if self.is_constant:
            return np.full(d.shape, float(self._value[0]))
        safe = np.where(d > 0, d, 1.0)
        mean = self.integral(t0_s, t0_s + safe) / safe
        return np.where(d > 0, mean, self.value_at(t0_s))

    def change_points(self, t0_s: float, t1_s: float) -> list[float]:
        """Times in (t0, t1) at which the value changes (repeating schedules unrolled)."""
        if self.is_constant or t1_s <= t0_s:
            return []
        if self.repeat_s is None:
            return [float(a) for a in self._at if t0_s < a < t1_s]
        out: list[float] = []
        period = self.repeat_s
        k = math.floor(t0_s / period)
        while k * period < t1_s and len(out) <= MAX_POINTS * 100:
            out += [k * period + float(a) for a in self._at if t0_s < k * period + a < t1_s]
            k += 1
        return out

    def next_change(self, t_s: float) -> float:
        """The first change point after ``t_s`` (``inf`` for a constant or a schedule's end)."""
        if self.is_constant:
            return math.inf
        if self.repeat_s is None:
            later = self._at[self._at > t_s]
            return float(later[0]) if later.size else math.inf
        period = self.repeat_s
        k = math.floor(t_s / period)
        later = self._at[self._at > t_s - k * period]
        return k * period + (float(later[0]) if later.size else period + float(self._at[0]))

    def levels(self) -> tuple[float, ...]:
        """The distinct values the rate takes, ascending."""
        return tuple(sorted({v for _, v in self.points}))

    # --- internals --------------------------------------------------------------------
    def _values(self, t: FloatArray) -> FloatArray:
        if self.repeat_s is not None:
            t = np.mod(t, self.repeat_s)
        i = np.searchsorted(self._at, t, side="right") - 1
        # Before the first point: a repeating schedule wraps to its last value.
        before = self._value[-1] if self.repeat_s is not None else self._value[0]
        return np.where(i >= 0, self._value[np.clip(i, 0, None)], before)

    def _one_way(self, t: FloatArray) -> FloatArray:
        """∫ from at[0] to t of the non-repeating step function (negative before at[0])."""
        i = np.clip(np.searchsorted(self._at, t, side="right") - 1, 0, None)
        return np.asarray(self._cum[i] + self._value[i] * (t - self._at[i]))

    def _antiderivative(self, t: FloatArray) -> FloatArray:
        if self.repeat_s is None:
            return self._one_way(t)
        period = self.repeat_s
        # One period's integral: from at[0] to period at the schedule, plus the wrapped head.
        head = float(self._value[-1]) * float(self._at[0])
        whole = float(self._one_way(np.array([period]))[0]) + head
        k = np.floor(t / period)
        u = t - k * period
        within = np.where(u < self._at[0], float(self._value[-1]) * u, head + self._one_way(u))
        return np.asarray(k * whole + within)


def _fmt(rate: Rate | None) -> str:
    if rate is None:
        return "-"
    if rate.is_constant:
        return f"{rate.points[0][1]:g}"
    return "schedule"


@dataclass(frozen=True)
class Prices:
    """What a job's resources cost: electricity per kWh, workers per worker-hour (money), and
    the grid's carbon intensity per kWh (gCO2). ``None``: not given (counts as 0 where another
    price is given; an objective that needs it refuses a spec without it)."""

    energy_per_kwh: Rate | None = None
    per_worker_hour: Rate | None = None
    carbon_g_per_kwh: Rate | None = None

    @property
    def has_cost(self) -> bool:
        return self.energy_per_kwh is not None or self.per_worker_hour is not None

    @property
    def has_carbon(self) -> bool:
        return self.carbon_g_per_kwh is not None

    def describe(self) -> str:
        return (
            f"{_fmt(self.energy_per_kwh)}/kWh, {_fmt(self.per_worker_hour)}/worker-h, "
            f"{_fmt(self.carbon_g_per_kwh)} gCO2/kWh"
        )

    def cost(self, t0_s: float, t1_s: float, replicas: int, power_w: float) -> float:
        """Money spent running ``replicas`` workers at ``power_w`` over [t0, t1]."""
        total = 0.0
        if self.energy_per_kwh is not None:
            total += power_w * float(self.energy_per_kwh.integral(t0_s, t1_s)) / J_PER_KWH
        if self.per_worker_hour is not None:
            total += replicas * float(self.per_worker_hour.integral(t0_s, t1_s)) / S_PER_HOUR
        return total

    def carbon_g(self, t0_s: float, t1_s: float, power_w: float) -> float:
        """Grams of CO2 emitted drawing ``power_w`` over [t0, t1]."""
        if self.carbon_g_per_kwh is None:
            return 0.0
        return power_w * float(self.carbon_g_per_kwh.integral(t0_s, t1_s)) / J_PER_KWH
