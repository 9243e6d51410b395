"""Pure window maths: two snapshots of one job → one ``Window`` with an honest quality.

Rules (each failure is *flagged* with a ``Quality`` and a note, and the bad part is left out of
the sums — a flagged window is recorded by the decision engine but never fitted):

- counter reset (samples or joules went down, or the worker's start time changed) → INVALID
- NaN/inf, negative, or absurd values (device power above ``max_device_power_w``, per-worker
  throughput above ``max_worker_throughput_sps``), or a window with no duration → INVALID
- a worker in one snapshot only, fewer workers than the degree, a worker without any energy
  series, or an energy series in one snapshot only → MISSING
- a worker whose values are older than ``stale_after_s``, or that made no progress → STALE
- the most severe flag wins: INVALID > MISSING > STALE > OK.

The step split (``Window.step_s``, ``sync_s``, ``batch_per_worker``) is pooled over the workers
that report step counters: Δ step seconds / Δ steps, Δ sync seconds / Δ sync-measured steps,
Δ samples / Δ steps. A step counter that went down is a reset (INVALID); a worker without step
counters, or some workers without sync, leaves the field out (None: the engine falls back to
the throughput-only models) and the note says why. ``nodes`` is the number of distinct nodes of
the workers in the window when every one of them names its node (or the caller's ``nodes=``).

Energy counters are preferred; a device with only a sampled power gauge (DCGM power usage) is
integrated as the mean of its two samples × duration, and the note says so. The ``source``
label is the honest combination of every contributing source: measured ones first, ``estimate``
last (``rapl+estimate``), so an estimate is never passed off as a measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autoscaler.decision.types import Quality, Window
from autoscaler.sources.snapshot import SeriesKey, Snapshot, WorkerSnapshot
from autoscaler.sources.window_steps import StepSums, count_nodes

_SEVERITY = {Quality.OK: 0, Quality.STALE: 1, Quality.MISSING: 2, Quality.INVALID: 3}
_SOURCE_ORDER = {"nvml": 0, "dcgm": 1, "rapl": 2, "kepler": 3, "estimate": 9}


@dataclass(frozen=True)
class WindowLimits:
    """What counts as stale or absurd. Defaults are generous: they catch broken counters, not
    unusual hardware."""

    stale_after_s: float = 120.0  # well above common scrape intervals (15-60 s)
    max_device_power_w: float = 3000.0
    max_worker_throughput_sps: float = 1e8
    min_duration_s: float = 1e-3


_DEFAULT_LIMITS = WindowLimits()
_isfinite = math.isfinite
_LABELS: dict[frozenset[str], str] = {}  # source_label per source set: a handful, ever


class _Flags:
    def __init__(self) -> None:
        self.quality = Quality.OK
        self.notes: list[str] = []

    def add(self, quality: Quality, note: str) -> None:
        if _SEVERITY[quality] > _SEVERITY[self.quality]:
            self.quality = quality
        self.notes.append(note)


def source_label(sources: set[str]) -> str:
    """``{"estimate", "rapl"}`` → ``"rapl+estimate"``: measured first, the estimate named last."""
    key = frozenset(sources)
    label = _LABELS.get(key)
    if label is None:
        label = "+".join(sorted(key, key=lambda s: (_SOURCE_ORDER.get(s, 5), s))) if key else "none"
        if len(_LABELS) < 256:  # source names come from exporters' labels: stay bounded
            _LABELS[key] = label
    return label


def compute_window(
    before: Snapshot,
    after: Snapshot,
    *,
    replicas: int | None = None,
    limits: WindowLimits | None = None,
    nodes: int | None = None,
) -> Window:
    """The job's throughput and power between two snapshots.

    ``replicas`` is the degree the caller believes the job runs at (the actuator's view);
    default: the largest ``world_size`` the workers report, else the number of workers.
    ``nodes`` is how many nodes they span when the caller knows; default: counted from the
    workers' ``node``, None when some worker does not name one.
    """
    lim = limits or _DEFAULT_LIMITS
    flags = _Flags()
    t0, t1 = before.at_s, after.at_s
    duration_s = t1 - t0
    if not _isfinite(duration_s) or duration_s < lim.min_duration_s:
        flags.add(Quality.INVALID, f"window has no duration ({duration_s:g} s)")
    b_workers, a_workers = before.workers, after.workers
    if replicas is not None:
        degree = replicas
    else:
        sizes = [w.world_size for w in a_workers.values() if w.world_size]
        degree = max(sizes) if sizes else len(a_workers)

    if b_workers.keys() == a_workers.keys():  # the usual window: the same workers twice
        both = sorted(a_workers)
    else:
        gone = sorted(set(b_workers) - set(a_workers))
        new = sorted(set(a_workers) - set(b_workers))
        if gone:
            flags.add(Quality.MISSING, f"workers gone: {', '.join(gone[:5])}")
        if new:
            flags.add(Quality.MISSING, f"workers new in window: {', '.join(new[:5])}")
        both = sorted(set(b_workers) & set(a_workers))
    if len(both) < degree:
        flags.add(Quality.MISSING, f"{len(both)} of {degree} workers reported")
    elif len(after.workers) > degree:
        # More workers than the degree: the window spans a resize (or stray workers report
        # under this job); its throughput belongs to no single degree.
        flags.add(Quality.INVALID, f"{len(after.workers)} workers reported at degree {degree}")
    for err in after.errors[:3]:
        flags.notes.append(err)

    samples = 0.0
    throughput_sps = 0.0
    device_delta_j: dict[SeriesKey, float] = {}
    device_power_w: dict[SeriesKey, float] = {}
    sampled: list[str] = []
    steps = StepSums()
    stale_s, min_dur_s, max_sps = (
        lim.stale_after_s,
        lim.min_duration_s,
        lim.max_worker_throughput_sps,
    )
    for name in both:
        b, a = b_workers[name], a_workers[name]
        w_dur = (a.read_at_s if a.read_at_s is not None else t1) - (
            b.read_at_s if b.read_at_s is not None else t0
        )
        a_samples, b_samples = a.samples, b.samples
        d_samples = a_samples - b_samples
        # Fast path: a worker that passes every check in one expression. When it does not,
        # ``_check_worker`` re-runs the checks in order, so the flag and note are the same.
        if not (
            _isfinite(a_samples)
            and _isfinite(b_samples)
            and 0 <= b_samples <= a_samples
            and (
                a.start_time_s is None or b.start_time_s is None or a.start_time_s == b.start_time_s
            )
            and (a.read_at_s is None or t1 - a.read_at_s <= stale_s)
            and _isfinite(w_dur)
            and w_dur >= min_dur_s
            and d_samples / w_dur <= max_sps
        ) and not _check_worker(name, b, a, t1, w_dur, lim, flags):
            continue
        samples += d_samples
        throughput_sps += d_samples / w_dur
        if d_samples == 0:
            flags.add(Quality.STALE, f"{name}: no progress in window")
        steps.add(name, b, a, d_samples, flags)
        _energy(name, b, a, w_dur, lim, flags, device_delta_j, device_power_w, sampled)

    steps.finish(flags)
    if sampled:
        flags.notes.append(f"power sampled, not metered: {', '.join(sorted(set(sampled))[:5])}")
    energy_j = sum(device_delta_j.values()) if device_delta_j else math.nan
    power_w = sum(device_power_w.values()) if device_power_w else math.nan
    if not device_delta_j:
        flags.add(Quality.MISSING, "no energy series")
    return Window(
        start_s=before.at_s,
        end_s=after.at_s,
        replicas=degree,
        throughput_sps=throughput_sps,
        power_w=power_w,
        energy_j=energy_j,
        samples=samples,
        source=source_label({k[1] for k in device_delta_j}),
        quality=flags.quality,
        note="; ".join(flags.notes),
        step_s=steps.step_s,
        sync_s=steps.sync_s,
        batch_per_worker=steps.batch_per_worker,
        nodes=nodes if nodes is not None else count_nodes(a_workers[n] for n in both),
    )


def _check_worker(
    name: str,
    b: WorkerSnapshot,
    a: WorkerSnapshot,
    now_s: float,
    dur_s: float,
    lim: WindowLimits,
    flags: _Flags,
) -> bool:
    """Flags what makes this worker's samples unusable; False = leave it out of the sums."""
    if not (_isfinite(a.samples) and _isfinite(b.samples)) or a.samples < 0 or b.samples < 0:
        flags.add(Quality.INVALID, f"{name}: samples counter is NaN, infinite or negative")
        return False
    if (
        a.start_time_s is not None
        and b.start_time_s is not None
        and a.start_time_s != b.start_time_s
    ):
        flags.add(Quality.INVALID, f"{name}: worker restarted in window (counter reset)")
        return False
    if a.samples < b.samples:
        flags.add(
            Quality.INVALID, f"{name}: samples counter reset ({b.samples:g} -> {a.samples:g})"
        )
        return False
    if a.read_at_s is not None and now_s - a.read_at_s > lim.stale_after_s:
        flags.add(Quality.STALE, f"{name}: newest value {now_s - a.read_at_s:.0f} s old")
        return False
    if not _isfinite(dur_s) or dur_s < lim.min_duration_s:
        flags.add(Quality.STALE, f"{name}: not re-read in window")
        return False
    if (a.samples - b.samples) / dur_s > lim.max_worker_throughput_sps:
        flags.add(
            Quality.INVALID, f"{name}: absurd throughput {(a.samples - b.samples) / dur_s:g}/s"
        )
        return False
    return True


def _energy(
    name: str,
    b: WorkerSnapshot,
    a: WorkerSnapshot,
    dur_s: float,
    lim: WindowLimits,
    flags: _Flags,
    delta_j: dict[SeriesKey, float],
    power_w: dict[SeriesKey, float],
    sampled: list[str],
) -> None:
    """Adds this worker's devices to the job's sums, counting a shared device once (the
    largest delta: the workers read it at slightly different instants)."""
    if not a.energy_j and not a.power_w:
        flags.add(Quality.MISSING, f"{name}: no energy series")
        return
    for key, after_j in a.energy_j.items():
        before_j = b.energy_j.get(key)
        if before_j is None:
            flags.add(Quality.MISSING, f"{name}: energy series {key[0]} appeared in window")
            continue
        d = after_j - before_j
        if not _isfinite(d):
            flags.add(Quality.INVALID, f"{name}: energy of {key[0]} is NaN or infinite")
            continue
        if d < 0:
            flags.add(Quality.INVALID, f"{name}: energy counter of {key[0]} reset")
            continue
        p = d / dur_s
        if p > lim.max_device_power_w:
            flags.add(Quality.INVALID, f"{name}: absurd power {p:.0f} W on {key[0]}")
            continue
        if d >= delta_j.get(key, -1.0):
            delta_j[key] = d
            power_w[key] = p
    for key, after_w in a.power_w.items():
        if key in a.energy_j:
            continue  # a counter exists: the sampled gauge is only informational
        before_w = b.power_w.get(key, after_w)
        if not (_isfinite(after_w) and _isfinite(before_w)) or min(after_w, before_w) < 0:
            flags.add(Quality.INVALID, f"{name}: power of {key[0]} is NaN or negative")
            continue
        if max(after_w, before_w) > lim.max_device_power_w:
            flags.add(Quality.INVALID, f"{name}: absurd power {max(after_w, before_w):.0f} W")
            continue
        mean_w = 0.5 * (after_w + before_w)
        if mean_w * dur_s >= delta_j.get(key, -1.0):
            delta_j[key] = mean_w * dur_s
            power_w[key] = mean_w
            sampled.append(key[0])
