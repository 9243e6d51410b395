"""One answer to a lost race (409), shared by every write the operator makes.

A conflict means the object changed since it was read. What to do then depends on the write,
but the shape never does: re-read, and either the race settled the matter (someone already set
what we wanted), or the write no longer applies (the owner changed the inputs it answered), or
it is sent once more on the fresh object. A second conflict in a row is not retried again:
it propagates, and the next pass decides on what the object then says. Used by the annotation
patch (:mod:`autoscaler.runtime.operator.writes`) and by both resize paths
(:mod:`autoscaler.kube.resize`, behind :class:`~autoscaler.actuators.kube_scale.KubeScaleActuator`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from autoscaler.kube.errors import KubeConflict

S = TypeVar("S")  # what a retry is made from (the fresh object)
T = TypeVar("T")  # what a write returns


@dataclass(frozen=True)
class Reread(Generic[S, T]):
    """What a re-read after a conflict found: ``done`` (the outcome, no write needed),
    ``retry_with`` (write again from this), or neither (drop this write)."""

    done: T | None = None
    retry_with: S | None = None


def retry_on_conflict(write: Callable[[S | None], T],
                      reread: Callable[[], Reread[S, T]]) -> T | None:
    """``write(None)``; on :class:`KubeConflict`, ``reread()`` decides: the settled outcome,
    one more ``write(fresh)``, or None (dropped). A second conflict propagates."""
    try:
        return write(None)
    except KubeConflict:
        after = reread()
        if after.done is not None:
            return after.done
        if after.retry_with is None:
            return None
        return write(after.retry_with)
