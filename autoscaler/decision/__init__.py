"""The decision engine: PURE. Given what has been measured, how many workers should a job run now?

May import: numpy, scipy, pydantic and the standard library's pure parts.
Must not import: kubernetes, kopf, pynvml, torch, httpx, prometheus_client, time, datetime,
or any other autoscaler layer. Time is data: every call that needs "now" takes ``now_s``.
(import-linter checks this contract in CI.)

Public API, used by the simulator, local mode and the operator:

- :class:`Window`: one steady-state measurement at one degree.
- :class:`JobSpec`: bounds, objective, budget, deadline, total work.
- :class:`Progress`: where the job is now (work done, energy used, current degree).
- :class:`Decision`: the answer, with a machine-readable :class:`Reason`.
- :class:`Controller`: observe windows, decide; its learned state is serialisable.
- :class:`PolicyConfig`: the policy's knobs (resize downtime, margins, warm-up, ...).

Inside, by role: ``history`` (which windows count, drift) -> ``fitting``/``models`` (USL,
linear power, table; uncertainty) -> ``objectives``/``constraints`` -> ``policy`` (the
numbered pipeline) with ``exploration``; ``controller`` ties them together, ``state`` is the
checkpoint format. See docs/decision.md.
"""

from autoscaler.decision.config import PolicyConfig
from autoscaler.decision.controller import Controller
from autoscaler.decision.types import (
    Decision,
    DegreePrediction,
    JobSpec,
    Objective,
    ObjectiveKind,
    Progress,
    Quality,
    Reason,
    Window,
)

__all__ = [
    "Controller",
    "Decision",
    "DegreePrediction",
    "JobSpec",
    "Objective",
    "ObjectiveKind",
    "PolicyConfig",
    "Progress",
    "Quality",
    "Reason",
    "Window",
]
