"""Kubernetes Events about served jobs (``kubectl describe`` shows them next to the object).

Reasons are a closed set so that alerts and dashboards can match on them. The recorder only
writes; *when* to write (on change, never every interval) is the caller's business, because
that is what keeps Events from being the operator's biggest API cost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from autoscaler.kube.client import KubeClient
from autoscaler.kube.kinds import ObjectRef

COMPONENT = "energy-autoscaler"
MAX_MESSAGE = 1024  # the API server refuses longer Event messages


class EventReason(StrEnum):
    RECOMMENDATION = "Recommendation"  # the recommended degree or its reason changed
    RESIZED = "Resized"  # enforce mode changed the degree through /scale
    BUDGET_AT_RISK = "BudgetAtRisk"  # the energy budget cannot (or may not) cover the rest
    METRICS_STALE = "MetricsStale"  # no fresh measurements: holding, not resizing
    INVALID_ANNOTATION = "InvalidAnnotation"  # an annotation is wrong: job left alone


WARNINGS = frozenset(
    {EventReason.BUDGET_AT_RISK, EventReason.METRICS_STALE, EventReason.INVALID_ANNOTATION}
)


def rfc3339(now_s: float) -> str:
    """POSIX seconds -> ``2026-01-31T18:00:00Z`` (second precision, as Event timestamps are)."""
    return datetime.fromtimestamp(now_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(ref: ObjectRef, reason: EventReason, message: str, now_s: float,
               instance: str) -> dict[str, Any]:
    """A core/v1 Event about ``ref``."""
    stamp = rfc3339(now_s)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{ref.name}.", "namespace": ref.namespace},
        "involvedObject": {
            "apiVersion": ref.kind.api_version,
            "kind": ref.kind.kind,
            "name": ref.name,
            "namespace": ref.namespace,
            "uid": ref.uid,
        },
        "reason": reason.value,
        "message": message[:MAX_MESSAGE],
        "type": "Warning" if reason in WARNINGS else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


class EventRecorder:
    """Writes Events through the client; ``instance`` names this operator replica."""

    def __init__(self, client: KubeClient, instance: str) -> None:
        self._client = client
        self._instance = instance

    def emit(self, ref: ObjectRef, reason: EventReason, message: str, now_s: float) -> None:
        self._client.create_event(
            ref.namespace, event_body(ref, reason, message, now_s, self._instance)
        )
