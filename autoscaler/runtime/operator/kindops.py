"""What the operator's pass does differently per kind: sizes that cannot change, Kueue, pods.

- **Recommend-only** (a kind with ``resize: none``, TrainJob always and JobSet without the
  ElasticJobSet gate; a batch Job that Kueue manages without ``kueue.x-k8s.io/elastic-job:
  "true"``): served in dry-run whatever the ``mode`` annotation says. The recommendation's
  ``problem`` says the size cannot change while the job runs, and one ``SizeFixed`` Event per
  recommended size says what the next submission should ask for.
- **Kueue** (the ``kueue.x-k8s.io/queue-name`` label): a scale-up is a request Kueue admits or
  not. When the observed degree (the kind's ``observed_path``) has not moved for
  ``kueue_pending_intervals`` intervals after a scale-up, the job holds: no further resize,
  one ``ResizePending`` Event, a back-off that doubles (one interval up to an hour). The spec is
  left at the requested size (still queued in Kueue: no loop, no fight), and the job's windows
  are measured at the degree that runs.
- **Placement** (``placement: true``): one pod list per namespace per pass (not per job), the
  pods matched to jobs by the labels their controllers set, and the distinct ``spec.nodeName``
  counted as the nodes the workers span (the windows' ``nodes``).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoscaler.kube.errors import KubeApiError
from autoscaler.kube.events import EventReason
from autoscaler.kube.kinds import KindRef, Reading
from autoscaler.runtime.operator.measure import MeasureTarget

if TYPE_CHECKING:
    from autoscaler.kube.client import KubeClient
    from autoscaler.kube.kinds import ObjectRef
    from autoscaler.runtime.operator.jobs import TrackedJob
    from autoscaler.runtime.operator.settings import OperatorSettings

log = logging.getLogger(__name__)

KUEUE_QUEUE = "kueue.x-k8s.io/queue-name"
KUEUE_ELASTIC = "kueue.x-k8s.io/elastic-job"
MAX_BACKOFF_S = 3600.0
MAX_NODE_NAME = 253
Due = tuple["TrackedJob", dict[str, Any], int]


FIXED_MARK = "size cannot change while it runs"  # in every recommend-only problem text


def fixed_size_problem(kind: KindRef) -> str:
    """The recommendation's ``problem`` for a kind whose size cannot change while it runs."""
    where = kind.replicas_path.replace("[]", "[worker group]")
    return (f"a {kind.kind}'s size cannot change while it runs: not applied; submit the next "
            f"run with the recommended replicas ({where})")


def kueue_managed(obj: dict[str, Any]) -> str | None:
    """The Kueue queue a job is submitted to, or None."""
    labels = obj.get("metadata", {}).get("labels") or {}
    queue = labels.get(KUEUE_QUEUE) if isinstance(labels, dict) else None
    return queue if isinstance(queue, str) and queue else None


@dataclass
class PendingScaleUp:
    """A scale-up of a Kueue-managed job, until the observed degree reaches it."""

    target: int
    since_s: float  # when the observed degree last moved (or the resize was written)
    observed: int | None  # the observed degree then
    retry_s: float = 0.0  # holding until then
    backoff_s: float = 0.0
    reported: bool = False
    problem: str | None = None


class OperatorKinds:
    """Mixin of the operator's pass (with :class:`~.writes.OperatorWrites`)."""

    settings: OperatorSettings
    client: KubeClient
    jobs: dict[str, TrackedJob]

    def _emit(self, ref: ObjectRef, reason: EventReason, message: str, now_s: float) -> None:
        raise NotImplementedError  # OperatorWrites

    @property
    def _pending(self) -> dict[str, PendingScaleUp]:
        table: dict[str, PendingScaleUp] = self.__dict__.setdefault("_pending_scale_ups", {})
        return table

    def resize_held(self, job: TrackedJob, obj: dict[str, Any], now_s: float) -> str | None:
        """Why this job's size may not change now (None: it may). Never raises."""
        kind = job.ref.kind
        if kind.resize == "none":
            return fixed_size_problem(kind)
        queue = kueue_managed(obj)
        if queue is None:
            return None
        annotations = obj.get("metadata", {}).get("annotations") or {}
        if (kind.group, kind.plural) == ("batch", "jobs") and \
                str(annotations.get(KUEUE_ELASTIC, "")).strip().lower() != "true":
            return (f"Kueue (queue {queue[:63]}) manages this Job and it is not an elastic job "
                    f"({KUEUE_ELASTIC}: \"true\"): its size cannot change while it runs; submit "
                    "the next run with the recommended replicas (spec.parallelism)")
        try:
            reading = kind.read(obj)
        except Exception:  # validated at admission; anything here: no Kueue verdict
            return None
        return None if reading is None else self._kueue_pending(job, reading, queue, now_s)

    def _kueue_pending(self, job: TrackedJob, reading: Reading, queue: str,
                       now_s: float) -> str | None:
        key = job.ref.key
        for gone in set(self._pending) - set(self.jobs):
            del self._pending[gone]
        p = self._pending.get(key)
        if p is None:
            return None
        if reading.replicas != p.target or (reading.observed is not None
                                            and reading.observed >= p.target):
            del self._pending[key]  # admitted, or the size changed since: nothing pending
            return None
        if reading.observed is None:
            return None
        if reading.observed != p.observed:  # Kueue admitted part of it: the clock restarts
            p.observed, p.since_s = reading.observed, now_s
        if now_s < p.retry_s:
            return p.problem
        interval = self.settings.interval_s
        if now_s - p.since_s < self.settings.kueue_pending_intervals * interval:
            return None
        p.backoff_s = min(max(2 * p.backoff_s, interval), MAX_BACKOFF_S)
        p.retry_s, p.since_s = now_s + p.backoff_s, now_s
        p.problem = (f"the scale-up to {p.target} is waiting for Kueue to admit it (queue "
                     f"{queue[:63]}; {reading.observed} running): holding, no other resize "
                     f"for {p.backoff_s:.0f} s")
        if not p.reported:
            p.reported = True
            self._emit(job.ref, EventReason.RESIZE_PENDING, f"{p.problem}. The request stays "
                       "queued; the operator will not ask again until it is admitted or the "
                       "back-off ends", now_s)
        return p.problem

    def note_resize(self, job: TrackedJob, obj: dict[str, Any] | None, seen: int, target: int,
                    now_s: float) -> None:
        """A resize was written: a Kueue-managed scale-up is watched until admitted."""
        if obj is None or target <= seen or kueue_managed(obj) is None:
            self._pending.pop(job.ref.key, None)
            return
        try:
            reading = job.ref.kind.read(obj)
        except Exception:
            return
        old = self._pending.get(job.ref.key)
        self._pending[job.ref.key] = PendingScaleUp(
            target, now_s, None if reading is None else reading.observed,
            backoff_s=old.backoff_s if old else 0.0, reported=False)

    def running_replicas(self, job: TrackedJob, obj: dict[str, Any], replicas: int) -> int:
        """The degree the job's windows are measured at: the observed one while a Kueue
        scale-up is pending (the requested workers do not run yet), else the spec's."""
        p = self._pending.get(job.ref.key)
        if p is None or p.problem is None:
            return replicas
        try:
            reading = job.ref.kind.read(obj)
        except Exception:
            return replicas
        observed = None if reading is None else reading.observed
        return observed if observed else replicas

    # -- measuring ----------------------------------------------------------------------------
    def measure_targets(self, due: list[Due]) -> list[MeasureTarget]:
        """The due jobs to measure (a paused job, at 0 replicas, has no pods), with their pod
        regex, the degree that runs and, with placement on, the nodes their pods span."""
        readings: list[tuple[TrackedJob, dict[str, Any], int, Reading | None]] = []
        for job, obj, replicas in due:
            if replicas <= 0:
                continue
            try:
                reading = job.ref.kind.read(obj)
            except Exception:
                reading = None
            readings.append((job, obj, replicas, reading))
        nodes = self._placement(readings) if self.settings.placement else {}
        targets = []
        for job, obj, replicas, reading in readings:
            entry = reading.entry if reading else None
            ref = job.ref
            regex = (ref.kind.pod_regex.replace("{name}", re.escape(ref.name))
                     .replace("{entry}", re.escape(entry or "")))
            targets.append(MeasureTarget(ref.key, ref.namespace, ref.name, ref.kind.kind,
                                         self.running_replicas(job, obj, replicas), regex,
                                         nodes=nodes.get(ref.key)))
        return targets

    def _placement(self, readings: list[tuple[TrackedJob, dict[str, Any], int, Reading | None]]
                   ) -> dict[str, int]:
        """Nodes spanned per job key: one pod list per namespace with due jobs."""
        by_ns: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
        for job, obj, _, reading in readings:
            selector = job.ref.kind.pod_selector(obj, reading.entry if reading else None)
            if selector:
                by_ns[job.ref.namespace].append((job.ref.key, selector))
        out: dict[str, int] = {}
        for namespace, jobs in by_ns.items():
            try:
                pods = self.client.list_pods(namespace)
            except KubeApiError as e:
                log.info("placement: cannot list pods in %s: %s", namespace, e)
                continue
            index: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = defaultdict(list)
            for pod in pods:
                labels = pod.get("metadata", {}).get("labels")
                node = (pod.get("spec") or {}).get("nodeName")
                if not isinstance(labels, dict) or not isinstance(node, str) or \
                        not 0 < len(node) <= MAX_NODE_NAME:
                    continue
                for k, v in labels.items():
                    index[(k, v)].append((labels, node))
            for key, selector in jobs:
                first = next(iter(selector.items()))
                spanned = {node for labels, node in index.get(first, ())
                           if all(labels.get(k) == v for k, v in selector.items())}
                if spanned:
                    out[key] = len(spanned)
        return out
