"""Value types of the decision engine. Units are in the names; all times are seconds on the
caller's clock (the engine never reads one)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from autoscaler.decision.prices import Prices


class ObjectiveKind(StrEnum):
    ENERGY = "energy"  # minimise joules per sample
    TIME = "time"  # maximise throughput
    BALANCED = "balanced"  # eta*E + (1-eta)*P_max*T, as in Zeus
    COST = "cost"  # money: energy x electricity price + workers x time x worker price
    CARBON = "carbon"  # gCO2: energy x grid carbon intensity


@dataclass(frozen=True)
class Objective:
    """What "best" means for a job. ``eta`` is used only by ``balanced``."""

    kind: ObjectiveKind = ObjectiveKind.ENERGY
    eta: float = 0.5

    @classmethod
    def parse(cls, text: str) -> Objective:
        """Parse ``energy``, ``time``, ``cost``, ``carbon`` or ``balanced:<eta>`` (0 <= eta <= 1).
        Raises ValueError."""
        t = text.strip().lower()
        for kind in (ObjectiveKind.ENERGY, ObjectiveKind.TIME, ObjectiveKind.COST,
                     ObjectiveKind.CARBON):
            if t == kind.value:
                return cls(kind)
        if t.startswith("balanced:"):
            raw = t.split(":", 1)[1]
            try:
                eta = float(raw)
            except ValueError:
                raise ValueError(f"balanced:<eta> needs a number for eta, got {raw!r}") from None
            if not (0.0 <= eta <= 1.0) or math.isnan(eta):
                raise ValueError(f"eta must be between 0 and 1, got {eta}")
            return cls(ObjectiveKind.BALANCED, eta)
        raise ValueError(
            f"objective must be energy, time, cost, carbon or balanced:<eta>, got {text!r}"
        )

    def __str__(self) -> str:
        if self.kind is ObjectiveKind.BALANCED:
            return f"balanced:{self.eta:g}"
        return self.kind.value


class Quality(StrEnum):
    """Whether a window may enter the fit. Only ``OK`` windows do; the rest are kept for the
    record (and the reason a decision held) but never averaged in."""

    OK = "ok"
    WARMUP = "warmup"  # right after a resize: rendezvous, restart, cache warm-up
    STALE = "stale"  # newest sample older than allowed
    MISSING = "missing"  # some workers did not report
    INVALID = "invalid"  # NaN, negative, absurd, or a counter reset inside the window


# Qualities that make the newest window untrustworthy for a decision: the engine holds, and the
# operator reports the job's metrics as stale.
UNTRUSTED_QUALITIES = (Quality.STALE, Quality.MISSING, Quality.INVALID)


@dataclass(frozen=True)
class Window:
    """One measurement window of a job at one degree.

    ``energy_j`` is the energy the job drew in the window (from an energy counter when there is
    one, else power integrated over time); ``source`` names where power came from (``nvml``,
    ``rapl``, ``dcgm``, ``kepler``, ``estimate``, ``simulated`` ...) so that an estimate is never
    passed off as a measurement.
    """

    start_s: float
    end_s: float
    replicas: int
    throughput_sps: float
    power_w: float
    energy_j: float
    samples: float
    source: str = "unknown"
    quality: Quality = Quality.OK
    note: str = ""
    # How the step splits, where the workers report it (None: not reported; the engine then
    # falls back to the throughput-only models). Means over the window, per step, per worker.
    step_s: float | None = None  # wall time of one training step
    sync_s: float | None = None  # part of step_s spent waiting on gradient synchronisation
    batch_per_worker: float | None = None  # samples one worker processes per step
    nodes: int | None = None  # how many nodes the ``replicas`` workers span

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def compute_s(self) -> float | None:
        """Step time not spent on synchronisation (None when the split is not reported)."""
        if self.step_s is None or self.sync_s is None:
            return None
        return max(self.step_s - self.sync_s, 0.0)


# The largest degree any job may declare. The engine predicts every degree in [min, max], so
# the work per job grows with the span: 4096 keeps a decision in milliseconds and memory in
# kilobytes, while covering the largest elastic jobs we know of (4096 workers of 8 GPUs each
# is 32,768 GPUs). A bound above it is refused where it enters (annotations, flags, files).
MAX_REPLICAS = 4096


@dataclass(frozen=True)
class JobSpec:
    """A job's bounds and goals. ``deadline_s`` is absolute, on the same clock as ``now_s``.
    ``total_samples`` is the whole job's work; without it, budget and deadline cannot be
    projected and the engine optimises the objective alone."""

    min_replicas: int
    max_replicas: int
    objective: Objective = field(default_factory=Objective)
    energy_budget_j: float | None = None  # for the remaining work, from the moment it was set
    deadline_s: float | None = None
    total_samples: float | None = None
    # Placement: how many workers share a node (nodes(n) = ceil(n / workers_per_node)). None:
    # unknown — inferred from the windows' reported node counts, else every degree on one node.
    workers_per_node: int | None = None
    # How the per-worker batch changes with n, where the job's owner says: "per-worker" (fixed
    # per-worker batch) or "global" (fixed global batch split over n). None: seen from the
    # measured degrees (b·n constant while b varies), a fixed per-worker batch until then.
    batch_regime: str | None = None
    # Peak-power cap (W): a degree whose predicted power exceeds it is not allowed.
    max_power_w: float | None = None
    # Known draw (W) inside every window's power that does not grow with n (local mode's
    # --static-power, charged once). With one degree measured the power prior is then
    # P(n) = static + (P1 - static)·n, not P1·n, which would charge it again per worker.
    static_power_w: float = 0.0
    # Electricity, worker and carbon prices; the ``cost`` and ``carbon`` objectives need them.
    prices: Prices | None = None

    def __post_init__(self) -> None:
        if self.min_replicas < 1:
            raise ValueError(f"min_replicas must be >= 1, got {self.min_replicas}")
        if self.max_replicas > MAX_REPLICAS:
            raise ValueError(f"max_replicas must be <= {MAX_REPLICAS}, got {self.max_replicas}")
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) must be >= min_replicas ({self.min_replicas})"
            )
        if self.batch_regime not in (None, "per-worker", "global"):
            raise ValueError(
                f"batch_regime must be per-worker or global, got {self.batch_regime!r}"
            )
        if self.workers_per_node is not None and self.workers_per_node < 1:
            raise ValueError(f"workers_per_node must be >= 1, got {self.workers_per_node}")
        if self.max_power_w is not None and not (0 < self.max_power_w < math.inf):
            raise ValueError(f"max_power_w must be a positive number, got {self.max_power_w}")
        if not (0 <= self.static_power_w < math.inf):
            raise ValueError(f"static_power_w must be a number >= 0, got {self.static_power_w}")
        kind = self.objective.kind
        if kind is ObjectiveKind.COST and (self.prices is None or not self.prices.has_cost):
            raise ValueError("objective cost needs prices: energy_per_kwh or per_worker_hour")
        if kind is ObjectiveKind.CARBON and (self.prices is None or not self.prices.has_carbon):
            raise ValueError("objective carbon needs prices: carbon_g_per_kwh")


@dataclass(frozen=True)
class Progress:
    """Where the job stands at ``now_s``."""

    current_replicas: int
    samples_done: float = 0.0
    energy_used_j: float = 0.0


class Reason(StrEnum):
    """Machine-readable reason carried by every decision (HPA-style: becomes Events/conditions)."""

    HOLD_OPTIMAL = "HoldOptimal"  # current degree is the best we know
    HOLD_NOT_WORTH_IT = "HoldNotWorthIt"  # a better degree exists, saving < resize cost + margin
    HOLD_WARMUP = "HoldWarmup"  # still inside the warm-up window after a resize
    HOLD_NO_DATA = "HoldNoData"  # no valid window yet
    HOLD_STALE = "HoldStale"  # newest window stale, missing workers or invalid
    HOLD_NEAR_END = "HoldNearEnd"  # too little work left to repay any change
    RESIZE_BETTER = "ResizeBetter"  # predicted saving over remaining work pays the resize
    RESIZE_BOUNDS = "ResizeBounds"  # current degree is outside [min, max]
    RESIZE_DEADLINE = "ResizeDeadline"  # needed to meet the deadline
    RESIZE_BUDGET = "ResizeBudget"  # needed to stay within the energy budget
    RESIZE_POWER = "ResizePower"  # the current degree's power is (or may be) over the cap
    EXPLORE = "Explore"  # measure a neighbouring degree: it could change the decision
    INFEASIBLE_DEADLINE = "InfeasibleDeadline"  # no degree meets the deadline: run fastest
    INFEASIBLE_BUDGET = "InfeasibleBudget"  # no degree meets the budget: run min-energy
    INFEASIBLE_POWER = "InfeasiblePower"  # no degree fits under the power cap: run least-power


@dataclass(frozen=True)
class DegreePrediction:
    """What the fitted models predict at one degree (with a one-sigma band on J/sample)."""

    replicas: int
    throughput_sps: float
    power_w: float
    energy_per_sample_j: float
    energy_per_sample_sd_j: float = 0.0
    measured: bool = False  # at least one OK window at this degree
    throughput_sd_sps: float = 0.0  # one-sigma band (parameter and model-form uncertainty)
    power_sd_w: float = 0.0


@dataclass(frozen=True)
class Decision:
    """The engine's answer at ``now_s``. ``replicas`` is the target; equal to ``current`` on hold.

    ``feasible`` is False when no degree meets the job's constraints (the reason says which);
    ``saving_pct`` is the predicted objective saving over the remaining work, when resizing.
    """

    now_s: float
    current: int
    replicas: int
    reason: Reason
    message: str
    feasible: bool = True
    predicted: DegreePrediction | None = None  # at the target degree
    saving_pct: float | None = None
    predictions: tuple[DegreePrediction, ...] = ()

    @property
    def resize(self) -> bool:
        return self.replicas != self.current
