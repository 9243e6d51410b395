"""What a source reads at one instant: per-worker cumulative counters (a *snapshot*).

Two snapshots of the same job make a window (``windows.compute_window``). Keeping the raw
counters — not rates — at the boundary is what lets the window maths see a counter reset, a worker
that vanished or a series that stopped updating, instead of averaging them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from autoscaler.errors import TemporaryError

# (device, source): a physical device and where its joules come from. Devices are counted once
# per window even when several workers report the same one (a shared CPU package).
SeriesKey = tuple[str, str]


class SourceError(TemporaryError):
    """A source could not read (endpoint down, Prometheus error, bad response). Wraps the cause;
    the runtime holds the decision and retries next interval."""


@dataclass(frozen=True)
class StepCounters:
    """One worker's cumulative step counters: ``steps`` timed steps took ``step_sum_s`` seconds;
    of ``sync_steps`` steps (None: the worker does not measure sync), ``sync_sum_s`` seconds were
    spent waiting on gradient synchronisation. Counters, so a window takes differences."""

    steps: float
    step_sum_s: float
    sync_steps: float | None = None
    sync_sum_s: float | None = None


@dataclass(frozen=True)
class WorkerSnapshot:
    """One worker's counters at one instant.

    ``worker`` identifies the worker across snapshots (scrape endpoint, or pod name).
    ``energy_j`` maps (device, source) to cumulative joules; ``power_w`` holds sampled power
    gauges, used only for devices without an energy counter. ``read_at_s`` is when the values
    were sampled (scrape time), on the same clock as ``Snapshot.at_s``; ``None`` = at the
    snapshot's instant. ``start_time_s`` changes when the worker restarted (its counters reset).
    ``node`` names the machine the worker runs on (None: unknown); ``steps`` its step counters
    (None: not reported, e.g. an older reporter).
    """

    worker: str
    samples: float
    energy_j: Mapping[SeriesKey, float] = field(default_factory=dict)
    power_w: Mapping[SeriesKey, float] = field(default_factory=dict)
    read_at_s: float | None = None
    start_time_s: float | None = None
    world_size: int | None = None
    node: str | None = None
    steps: StepCounters | None = None

    @classmethod
    def _trusted(
        cls,
        worker: str,
        samples: float,
        energy_j: Mapping[SeriesKey, float],
        power_w: Mapping[SeriesKey, float],
        read_at_s: float | None,
        start_time_s: float | None,
        world_size: int | None,
        node: str | None = None,
        steps: StepCounters | None = None,
    ) -> WorkerSnapshot:
        """The same object as ``cls(...)``, built by setting its ``__dict__`` in one step.

        A frozen dataclass's ``__init__`` pays one ``object.__setattr__`` per field; the
        Prometheus source builds one snapshot per worker per pass (1,000 per pass in
        ``benchmarks/windows_1000.py``), where that was ~2 us each. For callers that pass
        every field (no defaults, no validation to skip: the dataclass has none);
        ``test_snapshot_fast_constructor_builds_the_same_object`` keeps the field list in step.
        """
        self = object.__new__(cls)
        object.__setattr__(
            self,
            "__dict__",
            {
                "worker": worker,
                "samples": samples,
                "energy_j": energy_j,
                "power_w": power_w,
                "read_at_s": read_at_s,
                "start_time_s": start_time_s,
                "world_size": world_size,
                "node": node,
                "steps": steps,
            },
        )
        return self


@dataclass(frozen=True)
class Snapshot:
    """All of one job's workers at ``at_s`` (seconds, the caller's clock). ``errors`` says why
    expected workers are absent (endpoint refused, timed out); the window's note repeats it."""

    at_s: float
    workers: Mapping[str, WorkerSnapshot]
    errors: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, at_s: float, workers: list[WorkerSnapshot], errors: tuple[str, ...] = ()
    ) -> Snapshot:
        return cls(at_s, {w.worker: w for w in workers}, errors)
