"""Readings for the decision engine: turns raw counters into steady-state ``Window``s.

May import: ``autoscaler.decision`` (value types), ``autoscaler.worker.metrics`` (metric names),
httpx and prometheus-client. May not import: kube, actuators, runtime, cli; it never sleeps or
loops (the runtime does), and reads a clock only through an injected ``clock`` parameter.

- ``snapshot.py``  ``WorkerSnapshot`` / ``Snapshot`` (cumulative counters at one instant),
  ``SourceError``
- ``windows.py``   pure maths: ``compute_window(before, after, replicas=, limits=)`` → ``Window``
  with resets / missing / stale / NaN / absurd flagged as ``Quality`` + note; ``source_label``
- ``tracker.py``   ``WindowTracker``: previous snapshot per job → a window per pass
- ``scrape.py``    ``ScrapeSource(endpoints, client)``: local mode, scrapes worker ``/metrics``
- ``grouping.py``  ``JobSelector`` (pods by namespace + regex, or ``ea_job``), ``JobMatcher``
- ``prometheus.py`` ``PrometheusSource(base_url, client, settings)``: many jobs per pass,
  energy from our workers, DCGM or Kepler (``PrometheusSettings.energy``)
- ``prometheus_results.py`` pure: query answers → per-job snapshots (``build_snapshots``)
"""

from autoscaler.sources.grouping import JobMatcher, JobSelector
from autoscaler.sources.prometheus import EnergyBackend, PrometheusSettings, PrometheusSource
from autoscaler.sources.scrape import ScrapeSource, parse_worker_metrics
from autoscaler.sources.snapshot import SeriesKey, Snapshot, SourceError, WorkerSnapshot
from autoscaler.sources.tracker import WindowTracker
from autoscaler.sources.windows import WindowLimits, compute_window, source_label

__all__ = [
    "EnergyBackend",
    "JobMatcher",
    "JobSelector",
    "PrometheusSettings",
    "PrometheusSource",
    "ScrapeSource",
    "SeriesKey",
    "Snapshot",
    "SourceError",
    "WindowLimits",
    "WindowTracker",
    "WorkerSnapshot",
    "compute_window",
    "parse_worker_metrics",
    "source_label",
]
