"""Pure: Prometheus ``/api/v1/query`` answers → per-job ``Snapshot``s.

Split from ``prometheus.py`` (which talks HTTP and writes PromQL) so that this part — the one
that runs per series, for every job, every pass — can be tested and benchmarked on recorded
response bodies (``benchmarks/windows_1000.py``). Workers are keyed by pod when the series has a
pod label (so DCGM/Kepler energy series join them), else by scrape ``instance``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from autoscaler.sources.grouping import JobMatcher
from autoscaler.sources.snapshot import (
    SeriesKey,
    Snapshot,
    SourceError,
    StepCounters,
    WorkerSnapshot,
)
from autoscaler.worker import metrics as m

DCGM_ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"  # mJ since boot
DCGM_POWER = "DCGM_FI_DEV_POWER_USAGE"  # W
KEPLER_POD_GPU = "kepler_pod_gpu_joules_total"
KEPLER_POD_CPU = "kepler_pod_cpu_joules_total"
KEPLER_CONTAINER = "kepler_container_joules_total"  # older Kepler (<= 0.7)
# core/uncore are inside package, psys overlaps everything: only these two, or joules double.
_KEPLER_CPU_ZONES = frozenset({"package", "dram"})


# Step and sync summaries: position in _Worker.steps (StepCounters' field order).
_STEP_INDEX = {
    m.STEP_SECONDS_COUNT: 0,
    m.STEP_SECONDS_SUM: 1,
    m.SYNC_WAIT_SECONDS_COUNT: 2,
    m.SYNC_WAIT_SECONDS_SUM: 3,
}
STEP_METRICS = tuple(_STEP_INDEX)

_DCGM_SOURCE = m.EnergySource.DCGM.value
_KEPLER_SOURCE = m.EnergySource.KEPLER.value


class EnergyBackend(StrEnum):
    """Where a cluster job's joules come from (``PrometheusSettings.energy``)."""

    WORKER = "worker"
    DCGM = "dcgm"
    KEPLER = "kepler"


Series = tuple[dict[str, str], float]  # (labels, value)


def parse_vector(body: bytes, status: int, at_s: float | None) -> tuple[list[Series], float]:
    """A ``/api/v1/query`` response body → series. Raises ``SourceError`` with Prometheus's
    own error text on ``status: error`` or a non-vector result."""
    try:
        doc: Any = json.loads(body)
    except ValueError as e:
        raise SourceError(f"Prometheus answered HTTP {status} with non-JSON: {e}") from e
    if not isinstance(doc, dict) or doc.get("status") != "success":
        err = doc.get("error", "no error text") if isinstance(doc, dict) else "not an object"
        kind = doc.get("errorType", "?") if isinstance(doc, dict) else "?"
        raise SourceError(f"Prometheus query failed (HTTP {status}, {kind}): {err}")
    data = doc.get("data") or {}
    if data.get("resultType") != "vector":
        raise SourceError(f"Prometheus returned {data.get('resultType')!r}, expected a vector")
    result = data.get("result") or []
    try:
        out: list[Series] = [(item["metric"], float(item["value"][1])) for item in result]
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise SourceError(f"Prometheus returned a malformed vector sample: {e!r}") from e
    eval_s = float(result[-1]["value"][0]) if result else (at_s or 0.0)
    return out, eval_s


def build_snapshots(
    matcher: JobMatcher,
    values: list[Series],
    stamps: list[Series],
    energy: list[Series],
    backend: EnergyBackend,
    at_s: float,
    energy_matcher: JobMatcher | None = None,
    node_labels: Sequence[str] = (),
) -> dict[str, Snapshot]:
    """Query results → one ``Snapshot`` per job (every job in the matcher gets one).
    ``energy_matcher`` reads the exporter's pod/namespace labels (default: ``matcher``'s);
    ``node_labels`` are the candidate labels naming a worker's node (first present wins)."""
    # Keyed by the (job, worker) tuple the matcher returns (cached, so hashing is cheap): this
    # loop runs once per series — 4,000 times per pass for 1,000 workers.
    acc: dict[tuple[str, str], _Worker] = {}
    samples_name, energy_name = m.SAMPLES_TOTAL, m.ENERGY_JOULES_TOTAL
    start_name, world_name = m.START_TIME, m.WORLD_SIZE
    worker_energy = backend is EnergyBackend.WORKER
    acc_get = acc.get
    for (labels, value), found in zip(values, matcher.locate_each(values), strict=True):
        if found is None:
            continue
        w = acc_get(found)
        if w is None:
            w = acc[found] = _Worker()
        name = labels.get("__name__")
        if name == samples_name:
            w.samples = value if w.samples is None else w.samples + value
            for label in node_labels:
                node = labels.get(label)
                if node:
                    w.node = node
                    break
        elif name == energy_name:
            if worker_energy:
                key = (labels.get(m.LABEL_DEVICE, ""), labels.get(m.LABEL_SOURCE, ""))
                w.energy_j[key] = value
        elif name == start_name:
            w.start_time_s = value
        elif name == world_name and math.isfinite(value):  # NaN or inf: no size reported
            w.world_size = int(value)
        elif name in _STEP_INDEX:
            if w.steps is None:
                w.steps = [None, None, None, None]
            w.steps[_STEP_INDEX[name]] = value
    for (_, value), found in zip(stamps, matcher.locate_each(stamps), strict=True):
        if found is not None and (w2 := acc_get(found)) is not None:
            w2.read_at_s = value
    if not worker_energy:
        _join_energy(energy_matcher or matcher, acc, energy, backend)
    per_job: dict[str, list[WorkerSnapshot]] = {job.name: [] for job in matcher.jobs}
    for (job, worker), w in acc.items():
        if w.samples is not None:
            per_job[job].append(w.freeze(worker))
    return {job: Snapshot.of(at_s, workers) for job, workers in per_job.items()}


@dataclass(slots=True)
class _Worker:
    samples: float | None = None
    energy_j: dict[SeriesKey, float] = field(default_factory=dict)
    power_w: dict[SeriesKey, float] = field(default_factory=dict)
    read_at_s: float | None = None
    start_time_s: float | None = None
    world_size: int | None = None
    kepler_pod_level: bool = False
    node: str | None = None
    steps: list[float | None] | None = None  # as _STEP_INDEX

    def freeze(self, worker: str) -> WorkerSnapshot:
        st = self.steps
        counters = None
        if st is not None and st[0] is not None and st[1] is not None:
            counters = StepCounters(st[0], st[1], st[2], st[3])
        return WorkerSnapshot._trusted(
            worker,
            self.samples if self.samples is not None else float("nan"),
            self.energy_j,
            self.power_w,
            self.read_at_s,
            self.start_time_s,
            self.world_size,
            self.node,
            counters,
        )


def _join_energy(
    matcher: JobMatcher,
    acc: dict[tuple[str, str], _Worker],
    energy: list[Series],
    backend: EnergyBackend,
) -> None:
    """Adds DCGM/Kepler series to the worker with the same pod; devices keyed so that one GPU
    shared by two pods (rare) is still counted once."""
    dcgm = backend is EnergyBackend.DCGM
    acc_get = acc.get
    for (labels, value), found in zip(energy, matcher.locate_each(energy), strict=True):
        if found is None or (w := acc_get(found)) is None:
            continue
        name = labels.get("__name__", "")
        if dcgm:
            gpu = labels.get("UUID") or f"{labels.get('Hostname', '?')}/gpu{labels.get('gpu', '?')}"
            if name == DCGM_ENERGY:
                w.energy_j[(gpu, _DCGM_SOURCE)] = value / 1000.0  # mJ -> J
            elif name == DCGM_POWER:
                w.power_w[(gpu, _DCGM_SOURCE)] = value
            continue
        zone = labels.get("zone", "")
        if name == KEPLER_POD_CPU and zone and zone not in _KEPLER_CPU_ZONES:
            continue
        pod_level = name in (KEPLER_POD_GPU, KEPLER_POD_CPU)
        if pod_level and not w.kepler_pod_level:
            w.energy_j = {k: v for k, v in w.energy_j.items() if not k[0].startswith("container/")}
            w.kepler_pod_level = True
        if not pod_level and w.kepler_pod_level:
            continue  # the older per-container total would double-count the pod-level series
        detail = ",".join(
            f"{k}={v}"
            for k, v in sorted(labels.items())
            if k not in ("__name__", "instance", "job", "endpoint", "service")
        )
        prefix = "pod" if pod_level else "container"
        w.energy_j[(f"{prefix}/{name}{{{detail}}}", _KEPLER_SOURCE)] = value
