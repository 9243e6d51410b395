"""The scenario file's curve specifications (throughput, step, power, noise) and their limits.

Every number a scenario can carry is finite and inside a documented range (``docs/simulator.md``,
"Limits"): a simulator fed ``.inf`` or ``1e300`` must refuse the file in one line, not crash or
run without bound. The ranges are far wider than any real job's, so they only ever catch
mistakes and hostile input. :mod:`autoscaler.sim.scenario` assembles these into a whole file.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from autoscaler.decision.prices import Prices, Rate

# Documented limits (docs/simulator.md, "Limits"). Keep the docs and the README in step.
MAX_REPLICAS = 1024  # job bounds: the oracle and every policy look at each degree in [min, max]
MAX_TABLE_KEY = 1_000_000  # degrees (and per-worker batches) listed in a table
MAX_SAMPLES = 1e15  # total_samples
MAX_RATE = 1e12  # samples/s of a throughput table or t1_sps
MAX_USL_COEF = 1e6  # sigma, kappa
MAX_POWER_W = 1e9  # any power figure
MAX_STEP_S = 1e6  # compute_s and sync_s table values
MAX_BATCH = 1e12  # per_worker or global batch
MAX_DOWNTIME_S = 86_400.0  # resize_downtime_s: one day
MIN_INTERVAL_S = 0.1
MAX_INTERVAL_S = 86_400.0
MAX_PHASES = 100
MAX_SEED = 2**63 - 1
# Extrapolated compute time never falls below this fraction of the smallest listed one.
COMPUTE_FLOOR_FRACTION = 0.01


class _Strict(BaseModel):
    # Unknown keys are typos far more often than intent: reject them, naming the key. Infinity
    # and NaN are never meaningful in a scenario: reject them at every float field.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class UslSpec(_Strict):
    """Universal Scalability Law: X(n) = t1·n / (1 + σ(n−1) + κ·n(n−1))."""

    t1_sps: float = Field(gt=0, le=MAX_RATE)
    sigma: float = Field(ge=0, le=MAX_USL_COEF)
    kappa: float = Field(ge=0, le=MAX_USL_COEF)


def check_table(
    table: dict[int, float] | None, *, max_value: float, allow_zero: bool = False
) -> dict[int, float] | None:
    """Degrees in [1, MAX_TABLE_KEY] with finite values in range (> 0 unless ``allow_zero``),
    returned sorted. No job runs at 0 samples/s or draws 0 W; a sync time may be 0."""
    if table is None:
        return None
    if not table:
        raise ValueError("table must list at least one degree")
    for n, value in table.items():
        if not 1 <= n <= MAX_TABLE_KEY:
            raise ValueError(f"degree {n}: must be between 1 and {MAX_TABLE_KEY}")
        _check_value(f"degree {n}", value, max_value, allow_zero)
    return dict(sorted(table.items()))


def _check_value(what: str, value: float, max_value: float, allow_zero: bool) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and low_ok and value <= max_value):
        low = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{what}: value must be {low} and <= {max_value:g}, got {value}")


class ThroughputSpec(_Strict):
    """True throughput of the whole job (samples/s) at n workers: a USL curve or a table."""

    usl: UslSpec | None = None
    table: dict[int, float] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ThroughputSpec:
        if (self.usl is None) == (self.table is None):
            raise ValueError("give exactly one of usl, table")
        return self

    @field_validator("table")
    @classmethod
    def _table_values(cls, table: dict[int, float] | None) -> dict[int, float] | None:
        return check_table(table, max_value=MAX_RATE)


class BatchSpec(_Strict):
    """The per-worker batch: fixed (``per_worker``), or a fixed ``global`` batch split over n."""

    model_config = ConfigDict(populate_by_name=True)

    per_worker: float | None = Field(default=None, gt=0, le=MAX_BATCH)
    global_batch: float | None = Field(default=None, alias="global", gt=0, le=MAX_BATCH)

    @model_validator(mode="after")
    def _exactly_one(self) -> BatchSpec:
        if (self.per_worker is None) == (self.global_batch is None):
            raise ValueError("give exactly one of per_worker, global")
        return self

    def per_worker_at(self, n: int) -> float:
        """Samples one worker processes per step at n workers."""
        if self.per_worker is not None:
            return self.per_worker
        assert self.global_batch is not None  # the validator guarantees exactly one
        return self.global_batch / n


class ComputeSpec(_Strict):
    """Seconds of compute per step by per-worker batch (keys: batch sizes, may be fractional)."""

    table: dict[float, float]

    @field_validator("table")
    @classmethod
    def _table_values(cls, table: dict[float, float]) -> dict[float, float]:
        if not table:
            raise ValueError("table must list at least one batch size")
        for b, seconds in table.items():
            if not (math.isfinite(b) and 0 < b <= MAX_TABLE_KEY):
                raise ValueError(f"batch {b}: must be > 0 and <= {MAX_TABLE_KEY}")
            _check_value(f"batch {b:g}", seconds, MAX_STEP_S, allow_zero=False)
        return dict(sorted(table.items()))


class SyncSpec(_Strict):
    """Seconds per step spent waiting on synchronisation at n workers (0 allowed, e.g. n = 1)."""

    table: dict[int, float]

    @field_validator("table")
    @classmethod
    def _table_values(cls, table: dict[int, float]) -> dict[int, float]:
        checked = check_table(table, max_value=MAX_STEP_S, allow_zero=True)
        assert checked is not None
        return checked


class StepSpec(_Strict):
    """The step split: X(n) = n·b / (compute_s(b) + sync_s(n)), b the per-worker batch at n."""

    batch: BatchSpec
    compute_s: ComputeSpec
    sync_s: SyncSpec


class LinearPowerSpec(_Strict):
    """P(n) = static_w + per_worker_w·n + per_node_w·nodes(n): static is the host power charged
    to the job; per-node is each allocated node's own draw (host, idle devices)."""

    static_w: float = Field(ge=0, le=MAX_POWER_W)
    per_worker_w: float = Field(ge=0, le=MAX_POWER_W)
    per_node_w: float = Field(default=0.0, ge=0, le=MAX_POWER_W)

    @model_validator(mode="after")
    def _draws_power(self) -> LinearPowerSpec:
        # A job that draws no power makes every energy regret 0/0.
        if self.static_w == 0 and self.per_worker_w == 0 and self.per_node_w == 0:
            raise ValueError("static_w, per_worker_w and per_node_w cannot all be 0")
        return self


class PowerSpec(_Strict):
    """True power drawn by the whole job (W) at n workers: linear or a table."""

    linear: LinearPowerSpec | None = None
    table: dict[int, float] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PowerSpec:
        if (self.linear is None) == (self.table is None):
            raise ValueError("give exactly one of linear, table")
        return self

    @field_validator("table")
    @classmethod
    def _table_values(cls, table: dict[int, float] | None) -> dict[int, float] | None:
        return check_table(table, max_value=MAX_POWER_W)


class NoiseSpec(_Strict):
    """Coefficient of variation of the multiplicative Gaussian measurement noise per window."""

    throughput_cv: float = Field(default=0.0, ge=0, le=1)
    power_cv: float = Field(default=0.0, ge=0, le=1)


MAX_PRICE = 1e9  # money per kWh or per worker-hour, gCO2 per kWh
MAX_SCHEDULE_S = 1e9  # at_s and repeat_s (about 30 years)
MAX_SCHEDULE_POINTS = 1000


class SchedulePointSpec(_Strict):
    """From ``at_s`` (seconds after the simulation starts, or into the period) on, ``value``."""

    at_s: float = Field(ge=0, le=MAX_SCHEDULE_S)
    value: float = Field(ge=0, le=MAX_PRICE)


class ScheduleSpec(_Strict):
    """A price that changes over time: change points, optionally repeating every ``repeat_s``."""

    schedule: tuple[SchedulePointSpec, ...] = Field(min_length=1, max_length=MAX_SCHEDULE_POINTS)
    repeat_s: float | None = Field(default=None, gt=0, le=MAX_SCHEDULE_S)

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleSpec:
        at = [p.at_s for p in self.schedule]
        if any(b <= a for a, b in itertools.pairwise(at)):
            raise ValueError("schedule: at_s must increase from one point to the next")
        if self.repeat_s is not None and at[-1] >= self.repeat_s:
            raise ValueError(f"schedule: every at_s must be < repeat_s ({self.repeat_s:g})")
        return self


PriceValue = Annotated[float, Field(ge=0, le=MAX_PRICE)] | ScheduleSpec


class PricesSpec(_Strict):
    """Electricity (per kWh), workers (per worker-hour) and grid carbon intensity (gCO2/kWh):
    each a constant or a schedule; the ``cost`` and ``carbon`` objectives need them."""

    energy_per_kwh: PriceValue | None = None
    per_worker_hour: PriceValue | None = None
    carbon_g_per_kwh: PriceValue | None = None

    def to_prices(self) -> Prices:
        return Prices(
            energy_per_kwh=_rate(self.energy_per_kwh),
            per_worker_hour=_rate(self.per_worker_hour),
            carbon_g_per_kwh=_rate(self.carbon_g_per_kwh),
        )


def _rate(value: float | ScheduleSpec | None) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, ScheduleSpec):
        return Rate(tuple((p.at_s, p.value) for p in value.schedule), value.repeat_s)
    return Rate.constant(value)
