"""The names of every metric the worker reporter exports, in one place.

The controller side (``autoscaler.sources``), the operator's Prometheus queries and the docs all
import these constants instead of spelling the strings again, so a rename cannot silently break a
query. Names follow Prometheus conventions: base units (seconds, joules) in the name, ``_total``
on counters (the text exposition adds it; ``*_TOTAL`` constants carry the exposed name).

Label conventions
-----------------
``ea_job``   the training job this worker belongs to (``EA_JOB``). Not ``job``: Prometheus sets its
             own ``job`` target label and would rename ours to ``exported_job``.
``rank``     the worker's global rank (``RANK``), for humans; identity is the scrape target.
``device``   a *globally unique physical* device id, e.g. ``GPU-3f2a...`` (NVML UUID),
             ``host-a/package-0`` (RAPL) or ``host-a/pid-4242`` (estimate). The controller counts
             each device once per window: two workers on one CPU package do not double its joules.
``node``     (Prometheus target label, not exported by the reporter) the node a worker runs on,
             when the scrape configuration relabels it in (``PrometheusSettings.node_labels``).
``source``   where the joules come from: ``nvml`` | ``rapl`` | ``estimate`` (see ``EnergySource``).
"""

from __future__ import annotations

from enum import StrEnum

PREFIX = "ea_"

# Counter: samples this worker processed (its local batch, not the global one). Sum over workers
# gives the job's throughput.
SAMPLES = "ea_samples"
SAMPLES_TOTAL = "ea_samples_total"

# Summary (count/sum only, no quantiles: cheap): wall time of one training step, seconds.
STEP_SECONDS = "ea_step_seconds"
STEP_SECONDS_COUNT = "ea_step_seconds_count"
STEP_SECONDS_SUM = "ea_step_seconds_sum"

# Summary (count/sum only): per step, the time this worker waited on gradient synchronisation
# (the all-reduce not hidden behind backward compute), seconds. Exported only once a script
# measures it (``autoscaler.worker.ddp.attach`` or ``step(sync_s=)``); from then on every step
# counts, with 0 for a step that did not synchronise. count <= ea_step_seconds_count.
SYNC_WAIT_SECONDS = "ea_sync_wait_seconds"
SYNC_WAIT_SECONDS_COUNT = "ea_sync_wait_seconds_count"
SYNC_WAIT_SECONDS_SUM = "ea_sync_wait_seconds_sum"

# Counter read lazily at scrape time: joules the worker's devices used since the reporter started.
ENERGY_JOULES = "ea_energy_joules"
ENERGY_JOULES_TOTAL = "ea_energy_joules_total"

# Gauge: instantaneous power where the device reports it (NVML power usage); informational — the
# controller prefers the energy counter.
POWER_WATTS = "ea_power_watts"

# Gauge: WORLD_SIZE this worker was started with (the job's current degree as the worker sees it).
WORLD_SIZE = "ea_world_size"

# Gauge: unix time of this worker's last step() — a hung worker still answers /metrics.
LAST_STEP_TIMESTAMP = "ea_last_step_timestamp_seconds"

# Gauge: unix time the reporter started. A change means the worker restarted (its counters reset).
START_TIME = "ea_reporter_start_time_seconds"

# Labels.
LABEL_JOB = "ea_job"
LABEL_RANK = "rank"
LABEL_DEVICE = "device"
LABEL_SOURCE = "source"


class EnergySource(StrEnum):
    """Where a joule figure comes from. ``ESTIMATE`` is CPU time × watts-per-core — a model, not a
    measurement, and it is always labelled as such."""

    NVML = "nvml"  # NVIDIA GPU energy counter (or NVML power integrated, pre-Volta)
    RAPL = "rapl"  # Intel/AMD RAPL package/DRAM energy counters via powercap
    ESTIMATE = "estimate"  # process CPU time × EA_WATTS_PER_CORE
    DCGM = "dcgm"  # NVIDIA DCGM exporter (controller side only)
    KEPLER = "kepler"  # Kepler (controller side only; itself partly model-based)


# Sources whose joules are measured by hardware counters (as opposed to a model).
MEASURED_SOURCES = frozenset({EnergySource.NVML, EnergySource.RAPL, EnergySource.DCGM})

# Every metric name the reporter exposes (for PromQL ``__name__=~`` selectors).
WORKER_METRICS = (
    SAMPLES_TOTAL,
    STEP_SECONDS_COUNT,
    STEP_SECONDS_SUM,
    SYNC_WAIT_SECONDS_COUNT,
    SYNC_WAIT_SECONDS_SUM,
    ENERGY_JOULES_TOTAL,
    POWER_WATTS,
    WORLD_SIZE,
    LAST_STEP_TIMESTAMP,
    START_TIME,
)
