"""What the policy stages read and return: evidence before the fit, the situation after it,
and the verdict that ends the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.decision.config import PolicyConfig
from autoscaler.decision.constraints import ConstraintOutcome
from autoscaler.decision.objectives import ObjectiveCurve
from autoscaler.decision.types import JobSpec, Reason


@dataclass(frozen=True)
class Verdict:
    """A stage's answer: target replicas, machine-readable reason, human message."""

    replicas: int
    reason: Reason
    message: str
    feasible: bool = True
    saving_pct: float | None = None


@dataclass(frozen=True)
class Evidence:
    """What stages 1–3 read: the measurement state, no fit needed."""

    spec: JobSpec
    cfg: PolicyConfig
    now_s: float
    current: int
    fitted_windows: int
    newest_problem: str | None  # why the newest window cannot be trusted, if so
    warmup_message: str | None  # why the current degree is still warming up, if so


@dataclass(frozen=True)
class Situation:
    """What stages 4–7 read: fitted objective, constraints, remaining work."""

    evidence: Evidence
    objective: ObjectiveCurve
    constraints: ConstraintOutcome
    measured: np.ndarray  # bool per grid degree
    extrapolated: np.ndarray  # bool per grid degree: outside the measured range
    fresh: np.ndarray  # bool per grid degree: measured since the last drift (else worth a look)
    boundary: np.ndarray  # bool per grid degree: fills whole nodes (placement known), any distance
    identified: bool  # the curve's shape is fitted (two or more degrees measured)
    remaining_samples: float  # known, or assumed from the horizon
    remaining_known: bool
    current_throughput_sps: float
    throughput_sps: np.ndarray  # fitted mean per grid degree
    interval_s: float
