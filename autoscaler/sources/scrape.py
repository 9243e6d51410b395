"""Local mode's source: scrape each worker's ``/metrics`` endpoint directly, no Prometheus.

The runtime calls ``snapshot()`` once per interval and hands consecutive snapshots to
``windows.compute_window``. A worker that does not answer is left out of the snapshot and named
in ``Snapshot.errors`` — the window then says MISSING instead of pretending the job shrank.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from autoscaler.sources.snapshot import (
    SeriesKey,
    Snapshot,
    SourceError,
    StepCounters,
    WorkerSnapshot,
)
from autoscaler.worker import metrics as m
from autoscaler.worker.serve import NONCE_HEADER, PROOF_HEADER, proof_is_valid


def _normalise(endpoint: str) -> str:
    url = endpoint if "://" in endpoint else f"http://{endpoint}"
    _host, _, path = url.partition("://")[2].partition("/")
    return url if path else url.rstrip("/") + "/metrics"


def parse_worker_metrics(worker: str, text: str, read_at_s: float) -> WorkerSnapshot:
    """Reporter exposition text → ``WorkerSnapshot``. Raises ``SourceError`` when the text is
    not Prometheus exposition or carries no ``ea_samples_total`` (not our reporter)."""
    samples: float | None = None
    energy: dict[SeriesKey, float] = {}
    power: dict[SeriesKey, float] = {}
    start: float | None = None
    world: int | None = None
    steps: dict[str, float] = {}  # step/sync summary samples by name
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == m.SAMPLES_TOTAL:
                    samples = (samples or 0.0) + s.value
                elif s.name == m.ENERGY_JOULES_TOTAL:
                    key = (s.labels.get(m.LABEL_DEVICE, ""), s.labels.get(m.LABEL_SOURCE, ""))
                    energy[key] = s.value
                elif s.name == m.POWER_WATTS:
                    key = (s.labels.get(m.LABEL_DEVICE, ""), s.labels.get(m.LABEL_SOURCE, ""))
                    power[key] = s.value
                elif s.name == m.START_TIME:
                    start = s.value
                elif s.name == m.WORLD_SIZE and math.isfinite(s.value):
                    world = int(s.value)
                elif s.name in _STEP_NAMES:
                    steps[s.name] = s.value
    except ValueError as e:
        raise SourceError(f"{worker}: not Prometheus exposition text: {e}") from e
    if samples is None:
        raise SourceError(f"{worker}: no {m.SAMPLES_TOTAL} (is the reporter running there?)")
    return WorkerSnapshot(
        worker, samples, energy, power, read_at_s, start, world, _node_of(worker), _steps(steps)
    )


_STEP_NAMES = frozenset(
    {
        m.STEP_SECONDS_COUNT,
        m.STEP_SECONDS_SUM,
        m.SYNC_WAIT_SECONDS_COUNT,
        m.SYNC_WAIT_SECONDS_SUM,
    }
)


def _steps(found: dict[str, float]) -> StepCounters | None:
    count, total = found.get(m.STEP_SECONDS_COUNT), found.get(m.STEP_SECONDS_SUM)
    if count is None or total is None:
        return None
    return StepCounters(
        count, total, found.get(m.SYNC_WAIT_SECONDS_COUNT), found.get(m.SYNC_WAIT_SECONDS_SUM)
    )


def _node_of(worker: str) -> str | None:
    """A scraped worker runs on the host its endpoint names: local mode's loopback endpoints
    are one node. (A name that is not a URL, as in tests, names no node.)"""
    if "://" not in worker:
        return None
    return urlsplit(worker).hostname or None


class ScrapeSource:
    """Scrapes reporter endpoints (``host:port`` or full URLs) into a ``Snapshot``.

    ``client`` is a parameter so tests and the runtime share one ``httpx.Client`` (and tests can
    use a real server on loopback); ``clock`` is the runtime's clock (unix seconds by default).
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        client: httpx.Client | None = None,
        *,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.time,
        token: str | None = None,
    ) -> None:
        self._token = token or None
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout_s)
        self._timeout_s = timeout_s
        self._clock = clock
        self.endpoints = list(endpoints)

    @property
    def endpoints(self) -> list[str]:
        return list(self._endpoints)

    @endpoints.setter
    def endpoints(self, endpoints: Sequence[str]) -> None:
        """Replace the worker list (local mode after a resize)."""
        self._endpoints = [_normalise(e) for e in endpoints]

    def snapshot(self) -> Snapshot:
        """Scrape every endpoint once. Never raises for one bad worker (it is named in
        ``errors``); raises ``SourceError`` only when *no* endpoint answered."""
        workers: list[WorkerSnapshot] = []
        errors: list[str] = []
        for url in self._endpoints:
            try:
                nonce = secrets.token_hex(16) if self._token else None
                # identity: the proof covers the bytes sent, which must be the bytes read
                headers = {NONCE_HEADER: nonce, "Accept-Encoding": "identity"} if nonce else None
                resp = self._client.get(url, timeout=self._timeout_s, headers=headers)
                resp.raise_for_status()
                answer = resp.headers.get(PROOF_HEADER)
                if nonce and not proof_is_valid(self._token or "", nonce, resp.content, answer):
                    errors.append(f"{url}: refused: it did not prove it is this run's worker "
                                  "(no valid run-token proof)")  # fmt: skip
                    continue
                workers.append(parse_worker_metrics(url, resp.text, self._clock()))
            except httpx.HTTPError as e:
                errors.append(f"{url}: {type(e).__name__}: {e}")
            except SourceError as e:
                errors.append(str(e))
        if self._endpoints and not workers:
            raise SourceError("no worker endpoint answered: " + "; ".join(errors[:3]))
        return Snapshot.of(self._clock(), workers, tuple(errors))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
