"""Kubernetes Events about served jobs (``kubectl describe`` shows them next to the object).

Reasons are a closed set so that alerts and dashboards can match on them. The recorder only
writes; *when* to write (on change, never every interval) is the caller's business, because
that is what keeps Events from being the operator's biggest API cost.
"""

from __future__ import annotations

import hashlib
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
    INVALID_STATE = "InvalidState"  # the state annotation cannot be used: learning afresh
    SCALE_FAILED = "ScaleFailed"  # /scale refused a resize for good: not applied, backing off
    JOB_FAILED = "JobFailed"  # an unexpected error handling this job: skipped this interval
    SIZE_FIXED = "SizeFixed"  # the kind cannot resize while running: what to submit next time
    RESIZE_PENDING = "ResizePending"  # a scale-up Kueue has not admitted: holding, backing off


WARNINGS = frozenset(
    {EventReason.BUDGET_AT_RISK, EventReason.METRICS_STALE, EventReason.INVALID_ANNOTATION,
     EventReason.INVALID_STATE, EventReason.SCALE_FAILED, EventReason.JOB_FAILED,
     EventReason.RESIZE_PENDING}
)
# Reported once per object and content, whichever replica leads: these Events get a name
# derived from (object uid, reason, message), so a new leader's identical Event is refused by
# the API server (409 AlreadyExists) instead of repeating (until the server expires it, 1 h).
ONCE = frozenset(
    {EventReason.INVALID_ANNOTATION, EventReason.INVALID_STATE, EventReason.JOB_FAILED}
)


def rfc3339(now_s: float) -> str:
    """POSIX seconds -> ``2026-01-31T18:00:00Z`` (second precision, as Event timestamps are)."""
    return datetime.fromtimestamp(now_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def once_name(ref: ObjectRef, reason: EventReason, message: str) -> str:
    """A valid Event name (DNS subdomain) fixed by the object, the reason and the message."""
    digest = hashlib.sha256(f"{ref.uid}\0{reason.value}\0{message}".encode()).hexdigest()[:16]
    return f"{ref.name[:200].rstrip('.-')}.{digest}"


def event_body(ref: ObjectRef, reason: EventReason, message: str, now_s: float,
               instance: str) -> dict[str, Any]:
    """A core/v1 Event about ``ref`` (named by :func:`once_name` for reasons in ``ONCE``)."""
    stamp = rfc3339(now_s)
    metadata = ({"name": once_name(ref, reason, message)} if reason in ONCE
                else {"generateName": f"{ref.name}."})
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {**metadata, "namespace": ref.namespace},
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
