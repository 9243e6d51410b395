"""The cluster's source: a Prometheus server's HTTP API, for many jobs in one pass.

Throughput always comes from our worker metrics (``ea_samples_total``). Energy comes from the
backend chosen in settings:

``worker``  our reporter's ``ea_energy_joules_total`` (NVML / RAPL / estimate, labelled as such)
``dcgm``    NVIDIA DCGM exporter: ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` (mJ counter, preferred)
            and ``DCGM_FI_DEV_POWER_USAGE`` (W gauge, used only for GPUs without the counter)
``kepler``  ``kepler_pod_gpu_joules_total`` + ``kepler_pod_cpu_joules_total`` (package/dram zones);
            where a pod has neither, the older ``kepler_container_joules_total``

Request budget: ``snapshots(jobs)`` issues 2 instant queries (worker metrics; their scrape
timestamps) plus 1 for a dcgm/kepler backend — for *all* jobs together: one selector whose regex is
the union of the jobs' selectors, grouped back to jobs here by the ``pod``/``namespace`` (or
``ea_job``) labels. 1,000 jobs cost 3 requests, not 3,000. A window needs two snapshots: the
runtime keeps the previous pass's snapshot (no extra queries), or ``window()`` queries two instants.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx

from autoscaler.decision.types import Window
from autoscaler.sources.grouping import JobMatcher, JobSelector
from autoscaler.sources.prometheus_results import (
    DCGM_ENERGY,
    DCGM_POWER,
    KEPLER_CONTAINER,
    KEPLER_POD_CPU,
    KEPLER_POD_GPU,
    STEP_METRICS,
    EnergyBackend,
    Series,
    build_snapshots,
    parse_vector,
)
from autoscaler.sources.snapshot import Snapshot, SourceError
from autoscaler.sources.windows import WindowLimits, compute_window
from autoscaler.worker import metrics as m

__all__ = [  # EnergyBackend and the result parsing live in prometheus_results; re-exported here
    "DCGM_ENERGY",
    "DCGM_POWER",
    "KEPLER_CONTAINER",
    "KEPLER_POD_CPU",
    "KEPLER_POD_GPU",
    "EnergyBackend",
    "PrometheusSettings",
    "PrometheusSource",
    "build_snapshots",
    "parse_vector",
]


@dataclass(frozen=True)
class PrometheusSettings:
    """How to query. Label names differ between exporters and relabelling set-ups, so each is a
    list of candidates, first present wins.

    Our worker metrics are scraped from the worker pods themselves: the target's ``pod`` label
    *is* the worker. DCGM exporter and Kepler run as DaemonSets: there the target's ``pod`` is the
    exporter, and the workload pod is ``exported_pod`` (DCGM's own ``pod`` label renamed on
    conflict; with ``honorLabels: true`` it stays ``pod``) or Kepler's ``pod_name``. A DCGM
    exporter run with ``--use-old-namespace`` names the workload ``pod_name``/``pod_namespace``
    (no conflict, so no rename): those come before ``pod``/``namespace``, which on such a series
    are the exporter's own.
    """

    energy: EnergyBackend = EnergyBackend.WORKER
    pod_labels: tuple[str, ...] = ("pod", "pod_name")
    namespace_labels: tuple[str, ...] = ("namespace", "pod_namespace")
    dcgm_pod_labels: tuple[str, ...] = ("exported_pod", "pod_name", "pod")
    dcgm_namespace_labels: tuple[str, ...] = ("exported_namespace", "pod_namespace", "namespace")
    kepler_pod_labels: tuple[str, ...] = ("pod_name", "exported_pod_name")
    kepler_namespace_labels: tuple[str, ...] = (
        "pod_namespace",
        "container_namespace",
        "exported_pod_namespace",
        "exported_container_namespace",
    )
    # Labels that may name a worker's node on its series (relabelled from the pod's
    # ``__meta_kubernetes_pod_node_name``); first present wins. None present: nodes unknown.
    node_labels: tuple[str, ...] = ("node", "kubernetes_node", "node_name")
    # Query the step/sync summaries (the step split). They double the answer's size (4 series
    # more per worker: 1,000 workers, 515 -> 1,090 KiB per pass); False keeps the old cost.
    step_split: bool = True
    extra_matchers: str = ""  # PromQL matchers added to every selector, e.g. 'cluster="a"'
    timeout_s: float = 5.0

    def energy_labels(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(pod, namespace) label candidates of the chosen energy backend's series."""
        if self.energy is EnergyBackend.DCGM:
            return self.dcgm_pod_labels, self.dcgm_namespace_labels
        if self.energy is EnergyBackend.KEPLER:
            return self.kepler_pod_labels, self.kepler_namespace_labels
        return self.pod_labels, self.namespace_labels


class PrometheusSource:
    """Snapshots of jobs' workers from ``base_url`` (e.g. ``http://prometheus:9090``).

    ``client`` is a parameter (the operator shares one; tests point it at a real server);
    ``clock`` (unix seconds) picks the instant of a pass when the caller gives none.
    """

    def __init__(
        self,
        base_url: str,
        client: httpx.Client | None = None,
        settings: PrometheusSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self.settings = settings or PrometheusSettings()
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=self.settings.timeout_s)
        self._matcher_cache: tuple[tuple[JobSelector, ...], JobMatcher] | None = None
        self.requests = 0  # HTTP requests made so far (for the request-budget tests/benchmarks)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # -- public ------------------------------------------------------------------------------

    def snapshots(
        self, jobs: Sequence[JobSelector], at_s: float | None = None
    ) -> dict[str, Snapshot]:
        """One pass over many jobs at instant ``at_s`` (unix s; None = ``clock()`` now). All
        queries of the pass are evaluated at that same instant. Every job in ``jobs`` gets a
        snapshot (empty when none of its workers is there). Raises ``SourceError``."""
        if not jobs:
            return {}
        if at_s is None:
            at_s = self._clock()
        matcher = self._matcher(jobs)
        selector = self._selector(matcher)
        # Aggregating "by" the labels we group on drops the rest (rank, service, container ...):
        # the answer for 1,000 workers shrinks several-fold, and so does its JSON parsing time.
        group = ",".join(
            (*self.settings.pod_labels, *self.settings.namespace_labels, *self.settings.node_labels)
        )
        if matcher.ea_jobs:  # workers without pods are told apart by their scrape target
            group = f"{group},{m.LABEL_JOB},instance"
        # Not ea_world_size: the caller knows the degree it set (``compute_window(replicas=)``),
        # and one series fewer per worker is a third less JSON to parse per pass.
        names = [m.SAMPLES_TOTAL, m.START_TIME]
        if self.settings.step_split:
            names += STEP_METRICS
        if self.settings.energy is EnergyBackend.WORKER:
            names.append(m.ENERGY_JOULES_TOTAL)
        values, _ = self.query(
            f"sum by (__name__,{group},{m.LABEL_DEVICE},{m.LABEL_SOURCE}) "
            f'({{__name__=~"{"|".join(names)}",{selector}}})',
            at_s,
        )
        stamps, _ = self.query(
            f"max by ({group}) (timestamp({m.SAMPLES_TOTAL}{{{selector}}}))", at_s
        )
        energy: list[Series] = []
        energy_matcher = matcher.relabelled(*self.settings.energy_labels())
        if self.settings.energy is not EnergyBackend.WORKER:
            energy, _ = self.query(self._energy_query(matcher), at_s)
        return build_snapshots(
            matcher,
            values,
            stamps,
            energy,
            self.settings.energy,
            at_s,
            energy_matcher,
            self.settings.node_labels,
        )

    def _matcher(self, jobs: Sequence[JobSelector]) -> JobMatcher:
        """The same job list pass after pass reuses its matcher, and with it the regex answers
        cached per pod: a steady-state pass does no regex matching at all."""
        key = tuple(jobs)
        if self._matcher_cache is None or self._matcher_cache[0] != key:
            matcher = JobMatcher(key, self.settings.pod_labels, self.settings.namespace_labels)
            self._matcher_cache = (key, matcher)
        return self._matcher_cache[1]

    def snapshot(self, job: JobSelector, at_s: float | None = None) -> Snapshot:
        return self.snapshots([job], at_s)[job.name]

    def window(
        self,
        job: JobSelector,
        start_s: float,
        end_s: float,
        *,
        replicas: int | None = None,
        limits: WindowLimits | None = None,
    ) -> Window:
        """The job's window between two instants (counters queried at both)."""
        return compute_window(
            self.snapshot(job, start_s), self.snapshot(job, end_s), replicas=replicas, limits=limits
        )

    # -- HTTP --------------------------------------------------------------------------------

    def query(self, promql: str, at_s: float | None = None) -> tuple[list[Series], float]:
        """Instant query → ([(labels incl. __name__, value)], evaluation time). POST, so a
        1,000-job selector never meets a URL length limit. Raises ``SourceError``."""
        form = {"query": promql}
        if at_s is not None:
            form["time"] = f"{at_s:.3f}"
        self.requests += 1
        try:
            resp = self._client.post(f"{self.base_url}/api/v1/query", data=form)
            body = resp.content
        except httpx.HTTPError as e:
            raise SourceError(f"Prometheus at {self.base_url}: {type(e).__name__}: {e}") from e
        return parse_vector(body, resp.status_code, at_s)

    # -- PromQL ------------------------------------------------------------------------------

    def _selector(self, matcher: JobMatcher) -> str:
        """Matchers covering every job (a superset; ``JobMatcher`` assigns series exactly).
        The pod label name is the first candidate: set it to what your relabelling produces."""
        parts = [self.settings.extra_matchers] if self.settings.extra_matchers else []
        if matcher.ea_jobs and not matcher.has_pod_jobs:
            parts.append(f'{m.LABEL_JOB}=~"{_alternation(matcher.ea_jobs)}"')
        elif matcher.has_pod_jobs and not matcher.ea_jobs:
            parts.append(f'{self.settings.pod_labels[0]}=~"{matcher.pod_alternation()}"')
            namespaces = matcher.namespaces()
            if namespaces:
                parts.append(f'{self.settings.namespace_labels[0]}=~"{_alternation(namespaces)}"')
        # Mixed pod and ea_job jobs: no narrower matcher covers both; the grouping sorts it out.
        return ",".join(parts) if parts else f'__name__=~"{m.PREFIX}.+"'

    def _energy_query(self, matcher: JobMatcher) -> str:
        extra = f",{self.settings.extra_matchers}" if self.settings.extra_matchers else ""
        pods = matcher.pod_alternation() or ".+"
        pod_labels, ns_labels = self.settings.energy_labels()
        group = ",".join((*pod_labels, *ns_labels))
        if self.settings.energy is EnergyBackend.DCGM:
            names = f"{DCGM_ENERGY}|{DCGM_POWER}"
            keep = "UUID,Hostname,gpu"
        else:
            names = f"{KEPLER_POD_GPU}|{KEPLER_POD_CPU}|{KEPLER_CONTAINER}"
            keep = "zone,mode,container_name,gpu,state"
        # Exporters name the pod label differently: match any candidate with an "or".
        return " or ".join(
            f'sum by (__name__,{group},{keep}) ({{__name__=~"{names}",{label}=~"{pods}"{extra}}})'
            for label in pod_labels
        )


def _alternation(values: Iterable[str]) -> str:
    return "|".join(re.escape(v).replace("\\", "\\\\") for v in values)
