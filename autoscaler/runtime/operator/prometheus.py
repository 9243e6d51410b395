"""The operator's measurer over the measurement layer's Prometheus source.

``PrometheusSource.snapshots`` answers every due job with two or three instant queries in total
(one batched selector, grouped back to jobs by pod name), and ``WindowTracker`` turns each job's
previous and current snapshots into a window. So a pass over 1,000 jobs costs three Prometheus
requests, and the first pass after a start yields no windows (there is no previous snapshot):
the jobs hold with ``HoldNoData`` for one interval, which a restart can afford.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autoscaler.decision.types import Window
from autoscaler.runtime.operator.measure import MeasurerError, MeasureTarget
from autoscaler.runtime.operator.settings import SourceSettings
from autoscaler.sources.grouping import JobSelector
from autoscaler.sources.prometheus import EnergyBackend, PrometheusSettings, PrometheusSource
from autoscaler.sources.snapshot import SourceError
from autoscaler.sources.tracker import WindowTracker


class PrometheusMeasurer:
    def __init__(self, settings: SourceSettings, source: PrometheusSource | None = None) -> None:
        self._source = source or PrometheusSource(
            settings.prometheus_url,
            settings=PrometheusSettings(energy=EnergyBackend(settings.power),
                                        timeout_s=settings.query_timeout_s),
        )
        self._tracker = WindowTracker()
        self._known: set[str] = set()

    def query(self, promql: str) -> tuple[list[Any], float]:
        """One instant query (the operator's queried prices read their value through it)."""
        series, at_s = self._source.query(promql)
        return list(series), at_s

    def measure(
        self, targets: Sequence[MeasureTarget], start_s: float, end_s: float
    ) -> dict[str, Window]:
        selectors = [JobSelector(t.key, namespace=t.namespace, pod_regex=t.pod_regex)
                     for t in targets]
        try:
            snapshots = self._source.snapshots(selectors, at_s=end_s)
        except SourceError as e:
            raise MeasurerError(str(e)) from e
        out: dict[str, Window] = {}
        for t in targets:
            snap = snapshots.get(t.key)
            if snap is None:
                continue
            window = self._tracker.update(t.key, snap, replicas=t.replicas, nodes=t.nodes)
            if window is not None:
                out[t.key] = window
        for gone in self._known - {t.key for t in targets}:
            self._tracker.reset(gone)
        self._known = {t.key for t in targets}
        return out
