"""What a measurer is: the protocol the operator's pass calls, its target and its error.

Both measurers (:mod:`.prometheus`, :mod:`.table`) and the pass import this module and nothing
of each other, so there is no import cycle between a measurer and the code that picks one.

The pass asks once for every due job (:class:`JobMeasurer`), so a Prometheus-backed measurer
can answer 1,000 jobs with a handful of range queries instead of 1,000 round trips. A job with
no answer gets no window: the controller then holds (``HoldNoData``/``HoldStale``) and the
recommendation says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from autoscaler.decision.types import Window


@dataclass(frozen=True)
class MeasureTarget:
    """One due job: how to find its pods and what degree it runs at."""

    key: str  # ObjectRef.key
    namespace: str
    name: str
    kind: str
    replicas: int
    pod_regex: str  # anchored regex over the job's pod names
    nodes: int | None = None  # nodes its pods span (pods' spec.nodeName), when placement is read


class JobMeasurer(Protocol):
    def measure(
        self, targets: Sequence[MeasureTarget], start_s: float, end_s: float
    ) -> dict[str, Window]:
        """A window per target key over [start_s, end_s]; a key may be absent (no data)."""
        ...


class MeasurerError(Exception):
    """The measurement backend failed as a whole (Prometheus unreachable, bad table file)."""
