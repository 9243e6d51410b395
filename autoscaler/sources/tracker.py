"""Keeps the previous snapshot per job so each pass yields a window without re-querying.

Pure (no clock, no I/O): the runtime feeds it snapshots it read. After a resize the caller calls
``reset(job)``: the next snapshot starts a fresh window instead of spanning two degrees.
"""

from __future__ import annotations

from autoscaler.decision.types import Window
from autoscaler.sources.snapshot import Snapshot
from autoscaler.sources.windows import WindowLimits, compute_window


class WindowTracker:
    """``update(job, snapshot)`` → the window since the previous snapshot of that job (``None``
    on the first). Windows shorter than ``min_window_s`` are not emitted: the previous snapshot is
    kept, so the window simply grows until it is long enough."""

    def __init__(self, limits: WindowLimits | None = None, min_window_s: float = 0.0) -> None:
        self._limits = limits or WindowLimits()
        self._min_window_s = min_window_s
        self._previous: dict[str, Snapshot] = {}

    def update(self, job: str, snapshot: Snapshot, replicas: int | None = None,
               nodes: int | None = None) -> Window | None:
        """``nodes``: how many nodes the workers span when the caller knows (the operator's
        pod placement); else counted from the snapshots' node labels."""
        before = self._previous.get(job)
        if before is None:
            self._previous[job] = snapshot
            return None
        if snapshot.at_s - before.at_s < self._min_window_s:
            return None
        self._previous[job] = snapshot
        return compute_window(before, snapshot, replicas=replicas, limits=self._limits,
                              nodes=nodes)

    def reset(self, job: str) -> None:
        """Forget the job's last snapshot (after a resize, or when it is deleted)."""
        self._previous.pop(job, None)
