"""Local mode's settings: one typed value, built once from the command line.

Also the small parsers the flags need: energy with units (``50kJ``, ``0.1kWh``) and durations
(``90``, ``10m``, ``1h30m``). They raise ``ValueError`` with a message that names the accepted
forms; the CLI turns that into a one-line user error.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autoscaler import tariffs, units
from autoscaler.decision.prices import Prices, Rate
from autoscaler.decision.types import JobSpec, Objective, ObjectiveKind

# Sanity bounds on what a user types (each refusal is one line, exit 2).
# Workers: each is a process of its own (a torch import, a metrics port), so more than 4 per
# core only thrashes, and 256 is far beyond any one machine's accelerators.
MAX_LOCAL_WORKERS = 256
WORKERS_PER_CORE = 4
# Windows shorter than 1 s measure scrape jitter and the loop's own overhead, not throughput;
# longer than a day, the job would never be looked at.
MIN_INTERVAL_S, MAX_INTERVAL_S = 1.0, 86_400.0
MAX_DEADLINE_S = 10 * 366 * 86_400.0  # ten years: beyond that it is a typo, not a deadline
MAX_TOTAL_SAMPLES = 1e18
# A price: a number >= 0, or a daily schedule's text (checked by autoscaler.tariffs).
Price = Annotated[float, Field(ge=0, allow_inf_nan=False)] | str


def max_local_workers(cpu_count: int) -> int:
    """The most workers ``--max`` may ask for on a machine with ``cpu_count`` cores."""
    return min(MAX_LOCAL_WORKERS, WORKERS_PER_CORE * max(1, cpu_count))


def parse_energy_j(text: str) -> float:
    """``--budget``: ``"50kJ"`` → 50000.0; a bare number is joules. Units as in
    :data:`autoscaler.units.ENERGY_UNITS_J` (case-sensitive: ``MJ`` is megajoules)."""
    return units.parse_energy_j(text, bare_number_is_joules=True)


def parse_power_w(text: str) -> float:
    """``--max-power``: ``"1.5kW"`` → 1500.0; a bare number is watts. Units as in
    :data:`autoscaler.units.POWER_UNITS_W` (case-sensitive: ``mW`` is refused)."""
    return units.parse_power_w(text, bare_number_is_watts=True)


def missing_prices(objective: Objective, price_per_kwh: float | str | None,
                   price_per_worker_hour: float | str | None,
                   carbon_g_per_kwh: float | str | None) -> str:
    """What the objective needs but the flags lack, as one line ('' when nothing is missing)."""
    if objective.kind is ObjectiveKind.COST and price_per_kwh is None \
            and price_per_worker_hour is None:
        return "cost needs --price-per-kwh or --price-per-worker-hour"
    if objective.kind is ObjectiveKind.CARBON and carbon_g_per_kwh is None:
        return "carbon needs --carbon-g-per-kwh"
    return ""


def default_overlap(cpu_count: int, max_replicas: int) -> bool:
    """Whether to start the next degree while the old one trains, when the user did not say.

    Overlapping hides the new workers' start-up (mostly ``import torch``) behind training, but
    only if they have cores of their own: measured on 2 cores with up to 4 workers, it halved the
    pause (9.0 s -> 5.0 s) yet stretched decision -> first step from 9.0 s to 14-15 s, because the
    starting generation slowed the training one and vice versa. So overlap by default only with
    at least two cores per worker at the largest degree.
    """
    return cpu_count >= 2 * max_replicas


class LocalSettings(BaseModel):
    """Everything ``energy-autoscaler local`` needs; validated once, then read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: tuple[str, ...] = Field(min_length=1)
    min_replicas: int = Field(default=1, ge=1)
    max_replicas: int = Field(default=4, ge=1, le=MAX_LOCAL_WORKERS)
    start_replicas: int | None = None  # default: min_replicas
    objective: Objective = Field(default_factory=Objective)
    energy_budget_j: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    # relative to the start of the run
    deadline_after_s: float | None = Field(
        default=None, gt=0, le=MAX_DEADLINE_S, allow_inf_nan=False
    )
    total_samples: float | None = Field(
        default=None, gt=0, le=MAX_TOTAL_SAMPLES, allow_inf_nan=False
    )
    interval_s: float = Field(
        default=10.0, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S, allow_inf_nan=False
    )
    dry_run: bool = False
    report_dir: Path
    # First guess of a resize's cost; the loop replaces it with the measured median latency.
    resize_downtime_s: float = Field(default=10.0, ge=0)
    # Pause after the first step at a new degree before measuring (engine warm-up).
    settle_s: float = Field(default=1.0, ge=0)
    stop_grace_s: float = Field(default=40.0, gt=0)
    start_timeout_s: float = Field(default=180.0, gt=0)
    live: bool | None = None  # None: redraw when stdout is a terminal
    overlap_restarts: bool = True  # start the next degree while the old one trains
    # The host's static (idle) power charged to the job once, as part of the energy estimate
    # (autoscaler.runtime.local.static_power); 0: none.
    static_power_w: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    # Issue 12: a peak-power cap (W) and prices (currency-free; gCO2 for carbon), each a number
    # or a daily schedule "HH:MM=value,..." in price_timezone (autoscaler.tariffs).
    max_power_w: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    price_per_kwh: Price | None = None
    price_per_worker_hour: Price | None = None
    carbon_g_per_kwh: Price | None = None
    price_timezone: str = "UTC"

    @model_validator(mode="after")
    def _bounds(self) -> LocalSettings:
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"--max ({self.max_replicas}) must be >= --min ({self.min_replicas})")
        start = self.start_replicas
        if start is not None and not self.min_replicas <= start <= self.max_replicas:
            raise ValueError(
                f"--start ({start}) must be within --min..--max "
                f"({self.min_replicas}..{self.max_replicas})"
            )
        missing = missing_prices(self.objective, self.price_per_kwh,
                                 self.price_per_worker_hour, self.carbon_g_per_kwh)
        if missing:
            raise ValueError(f"--objective {missing}")
        tariffs.zone(self.price_timezone)
        for value in (self.price_per_kwh, self.price_per_worker_hour, self.carbon_g_per_kwh):
            if isinstance(value, str):
                tariffs.periods(value)
        return self

    @property
    def prices(self) -> Prices | None:
        """The prices given on the command line from now on (None: none given)."""
        return self.prices_from(time.time())

    def prices_from(self, start_unix_s: float) -> Prices | None:
        """The prices on the unix clock, schedules unrolled from ``start_unix_s``."""
        given = (self.price_per_kwh, self.price_per_worker_hour, self.carbon_g_per_kwh)
        if all(v is None for v in given):
            return None

        def rate(v: float | str | None) -> Rate | None:
            if v is None:
                return None
            if isinstance(v, str):
                return tariffs.daily_rate(v, self.price_timezone, start_unix_s)
            return Rate.constant(v)

        kwh, worker_h, carbon = (rate(v) for v in given)
        return Prices(energy_per_kwh=kwh, per_worker_hour=worker_h, carbon_g_per_kwh=carbon)

    @property
    def first_replicas(self) -> int:
        return self.start_replicas if self.start_replicas is not None else self.min_replicas

    def job_spec(self, started_at_s: float) -> JobSpec:
        """The decision engine's view; the deadline becomes absolute on the loop's clock."""
        deadline = None if self.deadline_after_s is None else started_at_s + self.deadline_after_s
        return JobSpec(
            min_replicas=self.min_replicas,
            max_replicas=self.max_replicas,
            objective=self.objective,
            energy_budget_j=self.energy_budget_j,
            deadline_s=deadline,
            total_samples=self.total_samples,
            max_power_w=self.max_power_w,
            static_power_w=self.static_power_w,
            prices=self.prices_from(started_at_s),
        )
