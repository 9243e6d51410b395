"""The operator process: watch threads, the lease, the probe server and the pass loop.

This is the only place in the operator that reads a clock or sleeps. Every replica watches and
serves probes (a standby is ready to take over with a warm cache); only the lease holder runs
passes. On gaining the lease a replica forgets what it had in memory and restores each job from
its ``state`` annotation, because the previous leader may have learned (and resized) since.
"""

from __future__ import annotations

import logging
import threading
import time

from autoscaler.kube.cache import ObjectCache
from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError
from autoscaler.kube.lease import LeaseElector
from autoscaler.runtime.operator.core import OperatorCore, PassReport
from autoscaler.runtime.operator.measure import JobMeasurer
from autoscaler.runtime.operator.metrics import OperatorMetrics, ProbeServer
from autoscaler.runtime.operator.settings import OperatorSettings

log = logging.getLogger(__name__)


class OperatorLoop:
    def __init__(self, settings: OperatorSettings, client: KubeClient, measurer: JobMeasurer,
                 metrics: OperatorMetrics | None = None) -> None:
        self.settings = settings
        self.client = client
        self.metrics = metrics or OperatorMetrics()
        kinds = tuple(k.ref() for k in settings.kinds)
        self.cache = ObjectCache(client, kinds, tuple(settings.namespaces))
        self.core = OperatorCore(settings, client, self.cache, measurer, self.metrics)
        self.elector = (
            LeaseElector(client, settings.lease.namespace, settings.lease.name, settings.identity,
                         settings.lease.duration_s)
            if settings.lease.enabled else None
        )
        self.leading = False
        self._last_tick = time.monotonic()
        self._threads: list[threading.Thread] = []

    # -- probes -------------------------------------------------------------------------------
    def live(self) -> bool:
        """The loop is turning (a pass that hangs on the API for minutes fails liveness)."""
        return time.monotonic() - self._last_tick < max(120.0, 4 * self.settings.interval_s)

    def ready(self) -> bool:
        return self.cache.synced

    # -- run ----------------------------------------------------------------------------------
    def _watch(self, index: int, stop: threading.Event) -> None:
        backoff_s = 1.0
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.cache.watch_once(index, self.settings.watch_timeout_s)
                failed = self.cache.unavailable(index)  # e.g. no such CRD (yet)
            except KubeApiError as e:
                log.info("watch: %s (retrying in %.0f s)", e, backoff_s)
                self.metrics.api_errors.labels("watch").inc()
                failed = True
            if failed:  # retry, but ever more slowly
                stop.wait(backoff_s)
                backoff_s = min(backoff_s * 2, 60.0)
                continue
            backoff_s = 1.0
            if time.monotonic() - started < 1.0:
                stop.wait(1.0)  # the server ended the stream at once: do not spin

    def tick(self, now_s: float) -> PassReport | None:
        """One turn: renew or seek the lease, then pass over due jobs if leading."""
        was = self.leading
        self.leading = self.elector.try_lead(now_s) if self.elector else True
        self.metrics.leader.set(1 if self.leading else 0)
        if self.leading and not was:
            log.info("leading as %s: restoring jobs from their state annotations",
                     self.settings.identity)
            self.core.reset()
        report = None
        if self.leading and self.cache.synced:
            try:
                report = self.core.run_pass(now_s)
            except Exception:  # jobs are isolated inside the pass; this is a last resort so
                log.exception("pass failed; trying again next tick")  # the loop keeps turning
                self.metrics.api_errors.labels("pass").inc()
                report = None
            if report is not None and report.due:
                log.info("pass: %d due, %d resized, %d invalid, %d errors in %.2f s",
                         report.due, report.resized, report.invalid, report.errors,
                         report.seconds)
        self._last_tick = time.monotonic()
        return report

    def run(self, stop: threading.Event) -> int:
        server = None
        if self.settings.metrics_port:
            server = ProbeServer(self.settings.metrics_port, self.metrics, self.live, self.ready)
            server.start()
        self.cache.relist()
        for i in range(self.cache.stream_count):
            t = threading.Thread(target=self._watch, args=(i, stop), daemon=True, name=f"watch-{i}")
            t.start()
            self._threads.append(t)
        try:
            while not stop.is_set():
                self.tick(time.time())
                stop.wait(self.settings.tick_s)
        finally:
            if self.elector is not None and self.leading:
                self.elector.release(time.time())
            if server is not None:
                server.stop()
            self.client.close()
        return 0
