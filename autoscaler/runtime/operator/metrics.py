"""The operator's ``/metrics`` (own registry) and its liveness/readiness probes, on one port.

Every energy figure carries a ``source`` label (``dcgm``, ``kepler``, ``nvml``, ``table`` ...):
a dashboard must never show an estimate or a replayed table as a measured joule. Series of a job
that is gone (deleted, opted out) are removed, so the registry does not grow without bound.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from autoscaler.runtime.operator.jobs import Plan

log = logging.getLogger(__name__)

JOB = ("namespace", "name", "kind")
JOB_SOURCE = (*JOB, "source")


class OperatorMetrics:
    """All the operator's series. ``registry`` is a parameter so tests read their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        p = "energy_autoscaler_"
        self.current = Gauge(p + "current_replicas", "Replicas the job runs at", JOB, registry=r)
        self.recommended = Gauge(p + "recommended_replicas", "Recommended replicas", JOB,
                                 registry=r)
        self.measured_jps = Gauge(p + "measured_energy_per_sample_joules",
                                  "Measured J/sample in the newest window", JOB_SOURCE, registry=r)
        self.predicted_jps = Gauge(p + "predicted_energy_per_sample_joules",
                                   "Model J/sample at the recommended degree", JOB_SOURCE,
                                   registry=r)
        self.energy_used = Gauge(p + "energy_used_joules",
                                 "Energy the job drew since its budget was set (or since tracked)",
                                 JOB_SOURCE, registry=r)
        self.budget_left = Gauge(p + "energy_budget_left_joules", "Budget minus energy used",
                                 JOB_SOURCE, registry=r)
        self.resizes = Counter(p + "resizes", "Resizes made through /scale", JOB, registry=r)
        self.decision_s = Histogram(p + "decision_seconds", "Time to decide for one job",
                                    buckets=(1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0),
                                    registry=r)
        self.pass_s = Histogram(p + "pass_seconds", "Time for one pass over due jobs",
                                buckets=(0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60), registry=r)
        self.api_errors = Counter(p + "api_errors", "Kubernetes API errors by kind",
                                  ("error",), registry=r)
        self.jobs = Gauge(p + "jobs", "Opted-in jobs by state", ("state",), registry=r)
        self.leader = Gauge(p + "leader", "1 while this replica holds the lease", registry=r)
        self._sources: dict[tuple[str, str, str], set[str]] = {}

    def forget(self, namespace: str, name: str, kind: str) -> None:
        """Drop a gone job's series."""
        labels = (namespace, name, kind)
        for g in (self.current, self.recommended):
            _remove(g, labels)
        _remove(self.resizes, labels)
        for source in self._sources.pop(labels, set()):
            for g in (self.measured_jps, self.predicted_jps, self.energy_used, self.budget_left):
                _remove(g, (*labels, source))

    def note_source(self, labels: tuple[str, str, str], source: str) -> None:
        self._sources.setdefault(labels, set()).add(source)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def export_plan(m: OperatorMetrics, plan: Plan, budget_left_j: float | None,
                default_source: str) -> None:
    """Set a decided job's series."""
    ref, d, w = plan.job.ref, plan.decision, plan.window
    labels = (ref.namespace, ref.name, ref.kind.kind)
    m.current.labels(*labels).set(plan.seen_replicas)
    m.recommended.labels(*labels).set(d.replicas)
    source = w.source if w is not None else default_source
    m.note_source(labels, source)
    if w is not None and w.throughput_sps > 0 and w.power_w > 0:
        m.measured_jps.labels(*labels, source).set(w.power_w / w.throughput_sps)
    if d.predicted is not None:
        m.predicted_jps.labels(*labels, source).set(d.predicted.energy_per_sample_j)
    m.energy_used.labels(*labels, source).set(plan.job.session.ledger.budget_energy_j)
    if budget_left_j is not None:
        m.budget_left.labels(*labels, source).set(budget_left_j)


def _remove(metric: Gauge | Counter, labels: tuple[str, ...]) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)


class ProbeServer:
    """``/metrics``, ``/healthz`` (the loop ticked recently) and ``/readyz`` (caches synced)."""

    def __init__(self, port: int, metrics: OperatorMetrics, live: Callable[[], bool],
                 ready: Callable[[], bool], host: str = "0.0.0.0") -> None:
        handler = _handler(metrics, live, ready)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                         name="probe-server")

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(metrics: OperatorMetrics, live: Callable[[], bool],
             ready: Callable[[], bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, metrics.exposition(), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz"):
                ok = live() if path == "/healthz" else ready()
                self._send(200 if ok else 503, b"ok\n" if ok else b"not ok\n", "text/plain")
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("probe: " + format, *args)

    return Handler
