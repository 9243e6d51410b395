"""Pure: the step split of one window (step time, sync wait, batch per worker, nodes).

Split from ``windows.py`` (throughput and energy) because its rules are separate: a worker without
step counters does not make the window MISSING (older reporters, scripts that only count
samples); the fields are simply left out and the engine falls back to throughput-only models.
A step counter that went *down* is a reset and does make the window INVALID, as for samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol

from autoscaler.decision.types import Quality
from autoscaler.sources.snapshot import WorkerSnapshot

_isfinite = math.isfinite


class FlagSink(Protocol):
    notes: list[str]

    def add(self, quality: Quality, note: str) -> None: ...


class StepSums:
    """Pooled sums over the workers of one window; ``add`` once per worker that passed the
    sample checks, then read ``step_s``, ``sync_s``, ``batch_per_worker``."""

    __slots__ = (
        "bad",
        "d_samples",
        "d_step_s",
        "d_steps",
        "d_sync_s",
        "d_sync_steps",
        "without",
        "without_sync",
    )  # fmt: skip

    def __init__(self) -> None:
        self.d_steps = 0.0
        self.d_step_s = 0.0
        self.d_sync_steps = 0.0
        self.d_sync_s = 0.0
        self.d_samples = 0.0
        self.without: list[str] = []  # workers without step counters
        self.without_sync: list[str] = []  # workers with step counters but no sync summary
        self.bad = False  # a reset or a non-finite counter: the split is not trusted

    def add(
        self, name: str, b: WorkerSnapshot, a: WorkerSnapshot, d_samples: float, flags: FlagSink
    ) -> None:
        sa, sb = a.steps, b.steps
        if sa is None or sb is None:
            self.without.append(name)
            return
        d_steps, d_s = sa.steps - sb.steps, sa.step_sum_s - sb.step_sum_s
        if not (_isfinite(d_steps) and _isfinite(d_s)):
            flags.add(Quality.INVALID, f"{name}: step counters are NaN or infinite")
            self.bad = True
            return
        if d_steps < 0 or d_s < 0:
            flags.add(
                Quality.INVALID, f"{name}: step counters reset ({sb.steps:g} -> {sa.steps:g})"
            )
            self.bad = True
            return
        self.d_steps += d_steps
        self.d_step_s += d_s
        self.d_samples += d_samples
        if sa.sync_steps is None or sa.sync_sum_s is None:
            self.without_sync.append(name)
            return
        # The sync summary appears (from 0) when the script starts measuring: absent before
        # means 0 then. A restart in between is caught by the start time, as for samples.
        d_sync_n = sa.sync_steps - (sb.sync_steps or 0.0)
        d_sync_s = sa.sync_sum_s - (sb.sync_sum_s or 0.0)
        if not (_isfinite(d_sync_n) and _isfinite(d_sync_s)) or d_sync_n < 0 or d_sync_s < 0:
            flags.add(Quality.INVALID, f"{name}: sync wait counters reset or not finite")
            self.bad = True
            return
        self.d_sync_steps += d_sync_n
        self.d_sync_s += d_sync_s

    def finish(self, flags: FlagSink) -> None:
        """Say in the note why a field is left out when only some workers lack it."""
        if self.without and self.d_steps > 0:
            flags.notes.append(f"no step counters from {', '.join(self.without[:5])}")
        if self.without_sync and self.d_sync_steps > 0:
            flags.notes.append(f"no sync wait from {', '.join(self.without_sync[:5])}")
        sync = self.sync_s
        step = self.step_s
        if sync is not None and step is not None and sync > step * 1.05:
            flags.notes.append(f"sync wait {sync:.3g} s exceeds step time {step:.3g} s: left out")
            self.d_sync_steps = 0.0

    @property
    def step_s(self) -> float | None:
        if self.bad or self.without or self.d_steps <= 0:
            return None
        return self.d_step_s / self.d_steps

    @property
    def sync_s(self) -> float | None:
        if self.step_s is None or self.without_sync or self.d_sync_steps <= 0:
            return None
        return self.d_sync_s / self.d_sync_steps

    @property
    def batch_per_worker(self) -> float | None:
        """Mean samples per worker per step. Samples count from a worker's first ``step()``,
        steps from its second: a window holding a worker's first step is one step off."""
        if self.step_s is None:
            return None
        return self.d_samples / self.d_steps


def count_nodes(workers: Iterable[WorkerSnapshot]) -> int | None:
    """How many distinct nodes the workers run on; None when any does not say, or none given."""
    seen: set[str] = set()
    for w in workers:
        if w.node is None:
            return None
        seen.add(w.node)
    return len(seen) or None
