"""The reporter a training script calls once per step; it serves Prometheus metrics.

    from autoscaler.worker import Reporter
    reporter = Reporter.from_env().start()
    for batch in loader:
        ...train...
        reporter.step(samples=len(batch))
    reporter.close()

Why it is built this way:

- ``step()`` only adds to plain floats (no locks, no label look-ups, no clock but one
  ``perf_counter``): it must stay far below 1% of a training step. The sync wait reaches it
  the same way (``add_sync`` adds to a float; ``step()`` moves it into the summary).
- Everything is exported by one custom Collector at *scrape time*: the step counters are copied
  then, and energy is read from the power sources then (lazily), never per step.
- It has its own ``CollectorRegistry`` (no default process/GC collectors, no clash with the
  training script's own metrics) and imports neither torch nor another autoscaler layer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from autoscaler.worker import metrics as m
from autoscaler.worker.config import ReporterConfig, ReporterConfigError
from autoscaler.worker.discover import open_reporter_sources
from autoscaler.worker.power import PowerSource, PowerSourceError
from autoscaler.worker.serve import serve_for, write_final_samples

log = logging.getLogger(__name__)


class Reporter:
    """Counts samples and step time; exports them and device energy on ``/metrics``.

    ``sources`` defaults to what ``open_reporter_sources`` finds (NVML GPUs if any; RAPL if
    readable, else the CPU-time estimate). ``registry`` defaults to a fresh one.
    """

    def __init__(
        self,
        config: ReporterConfig | None = None,
        *,
        sources: Sequence[PowerSource] | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.config = config or ReporterConfig()
        self.registry = registry or CollectorRegistry(auto_describe=False)
        self._sources: list[PowerSource] | None = list(sources) if sources is not None else None
        self._samples = 0.0
        self._steps = 0
        self._step_sum_s = 0.0
        self._last_perf_s: float | None = None
        # Gradient-synchronisation wait: ``_sync_pending_s`` collects the current step's wait
        # (from the DDP hook or ``sync()``), ``step()`` moves it into the summary. Off until a
        # script measures it, so a script that reports only samples exports no sync series.
        self._sync_on = False
        self._sync_pending_s = 0.0
        self._sync_steps = 0
        self._sync_sum_s = 0.0
        self._world_size = self.config.world_size
        self._start_unix_s = time.time()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._collector: _ReporterCollector | None = None
        self._warned: set[str] = set()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Reporter:
        """Configure from ``EA_METRICS_PORT`` (+ ``LOCAL_RANK``; 0 or unset = no endpoint),
        ``EA_METRICS_ADDR``, ``EA_JOB``, ``RANK``, ``WORLD_SIZE``, ``EA_WATTS_PER_CORE``,
        ``EA_ENERGY_SOURCES``, ``EA_POWERCAP_ROOT``, ``CUDA_VISIBLE_DEVICES``. Raises
        ``ReporterConfigError`` (a ``ValueError``) naming the bad variable."""
        return cls(ReporterConfig.from_env(env))

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Reporter:
        """Open the power sources, register the collector and, if a port is set, serve HTTP."""
        if self._collector is not None:
            return self
        if self._sources is None:
            self._sources = open_reporter_sources(self.config)
        for src in self._sources:
            if not src.available:
                log.info("energy source unavailable: %s", src.reason)
        self._start_unix_s = time.time()
        self._collector = _ReporterCollector(self)
        self.registry.register(self._collector)
        if self.config.port:
            try:
                self._server, self._thread = serve_for(self.config, self.registry)
            except OSError as e:
                self.close()
                raise ReporterConfigError(
                    f"cannot serve /metrics on {self.config.addr}:{self.config.port} "
                    f"(EA_METRICS_PORT + LOCAL_RANK): {e.strerror or e}"
                ) from e
        return self

    @property
    def port(self) -> int | None:
        """The port actually bound (useful with an ephemeral port), or None when not serving."""
        if self._server is None:
            return None
        return int(self._server.server_address[1])

    @property
    def sources(self) -> tuple[PowerSource, ...]:
        return tuple(self._sources or ())

    def close(self) -> None:
        """Stop serving and release the power sources. Safe to call twice."""
        if self._server is not None:
            write_final_samples(self.config, self._samples)
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._collector is not None:
            self.registry.unregister(self._collector)
            self._collector = None
        for src in self._sources or ():
            src.close()

    def __enter__(self) -> Reporter:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the hot path ----------------------------------------------------------------------

    def step(self, samples: float = 1, sync_s: float | None = None) -> None:
        """Record one training step that processed ``samples`` samples *on this worker*.

        Step time is the wall time since the previous ``step()`` call (the first call only
        starts the clock), i.e. the whole loop iteration including data loading. ``sync_s`` is
        this step's wait on gradient synchronisation when the script times it itself; with
        ``autoscaler.worker.ddp.attach`` (or ``with reporter.sync():``) leave it out."""
        now = time.perf_counter()
        self._samples += samples
        if sync_s is not None:
            self._sync_on = True
            self._sync_pending_s += sync_s
        last = self._last_perf_s
        if last is not None:
            self._steps += 1
            self._step_sum_s += now - last
            if self._sync_on:
                self._sync_steps += 1
                self._sync_sum_s += self._sync_pending_s
                self._sync_pending_s = 0.0
        else:  # a wait before the first timed step belongs to no timed step
            self._sync_pending_s = 0.0
        self._last_perf_s = now

    def add_sync(self, seconds: float) -> None:
        """Add ``seconds`` of waiting on gradient synchronisation to the current step (called
        by the DDP hook, from whichever thread completes the all-reduce, before ``backward()``
        returns). Turns the sync summary on: from now on every step counts, 0 when it waited
        for nothing."""
        self._sync_on = True
        self._sync_pending_s += seconds

    def measure_sync(self) -> None:
        """Declare that this script measures its sync wait (before the first step), so steps
        that do not synchronise (``no_sync()`` accumulation, one worker) count as 0 wait."""
        self._sync_on = True

    @contextmanager
    def sync(self) -> Iterator[None]:
        """Time a blocking gradient synchronisation the script does itself (a manual
        ``dist.all_reduce`` of the gradients, not DDP's overlapped one: use ``ddp.attach``)."""
        self._sync_on = True
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._sync_pending_s += time.perf_counter() - t0

    def set_world_size(self, world_size: int) -> None:
        """Tell the reporter the job's degree changed without a restart (rarely needed:
        torchrun restarts workers with a new ``WORLD_SIZE``)."""
        self._world_size = int(world_size)

    # -- what the collector reads -----------------------------------------------------------

    def _collect(self) -> Iterator[Metric]:
        labels = [m.LABEL_JOB, m.LABEL_RANK]
        values = [self.config.job, str(self.config.rank)]
        samples = CounterMetricFamily(m.SAMPLES, "Samples processed by this worker.", labels=labels)
        samples.add_metric(values, self._samples)
        yield samples
        step = SummaryMetricFamily(
            m.STEP_SECONDS, "Wall time of one training step, seconds.", labels=labels
        )
        step.add_metric(values, count_value=self._steps, sum_value=self._step_sum_s)
        yield step
        if self._sync_on:
            sync = SummaryMetricFamily(
                m.SYNC_WAIT_SECONDS,
                "Per step, time waited on gradient synchronisation (all-reduce not hidden "
                "behind compute), seconds.",
                labels=labels,
            )
            sync.add_metric(values, count_value=self._sync_steps, sum_value=self._sync_sum_s)
            yield sync
        last_perf_s = self._last_perf_s
        # Unix time of the last step, derived here so step() never reads the wall clock.
        last_step_unix_s = (
            0.0 if last_perf_s is None else time.time() - (time.perf_counter() - last_perf_s)
        )
        for name, doc, value in (
            (m.WORLD_SIZE, "WORLD_SIZE this worker runs with.", float(self._world_size)),
            (m.LAST_STEP_TIMESTAMP, "Unix time of the last step().", last_step_unix_s),
            (m.START_TIME, "Unix time the reporter started.", self._start_unix_s),
        ):
            g = GaugeMetricFamily(name, doc, labels=labels)
            g.add_metric(values, value)
            yield g
        energy_labels = [*labels, m.LABEL_DEVICE, m.LABEL_SOURCE]
        energy = CounterMetricFamily(
            m.ENERGY_JOULES,
            "Energy used by this worker's devices since the reporter started, joules. "
            "source=estimate is CPU time x watts-per-core, not a measurement.",
            labels=energy_labels,
        )
        power = GaugeMetricFamily(
            m.POWER_WATTS, "Instantaneous device power where reported, watts.", labels=energy_labels
        )
        for src in self._sources or ():
            try:
                readings = src.read()
            except PowerSourceError as e:
                if src.name not in self._warned:  # say it once; the series goes missing
                    log.warning("energy source %s failed: %s", src.name, e)
                    self._warned.add(src.name)
                continue
            for r in readings:
                lv = [*values, r.device, r.source.value]
                energy.add_metric(lv, r.energy_j)
                if r.power_w is not None:
                    power.add_metric(lv, r.power_w)
        yield energy
        if power.samples:
            yield power


class _ReporterCollector(Collector):
    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter

    def collect(self) -> Iterator[Metric]:
        return self._reporter._collect()
