"""The operator's pass: every due opted-in job, measured in one batch, decided, written.

Per-job fault isolation: nothing read from one object can raise out of that job's handling.
Annotations are parsed into errors (one ``InvalidAnnotation`` Warning), a restored state is
validated and, when unusable, discarded with one ``InvalidState`` Warning (the job learns
afresh), and any other exception while admitting, deciding or writing one job is logged with
the job's name, reported with one ``JobFailed`` Warning, and costs that job this interval only.
The writes themselves are in :mod:`autoscaler.runtime.operator.writes`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from autoscaler.decision import PolicyConfig
from autoscaler.decision.session import JobSession
from autoscaler.decision.types import MAX_REPLICAS
from autoscaler.kube import annotations as ann
from autoscaler.kube.cache import ObjectCache
from autoscaler.kube.client import KubeClient
from autoscaler.kube.events import EventReason, EventRecorder
from autoscaler.kube.kinds import KindRef, ObjectRef
from autoscaler.kube.state import JobMemory, decode
from autoscaler.runtime.operator.jobs import (
    Plan,
    TrackedJob,
    inputs_signature,
    last_decided_s,
)
from autoscaler.runtime.operator.jobs import plan_job as _plan_job
from autoscaler.runtime.operator.measure import JobMeasurer
from autoscaler.runtime.operator.metrics import OperatorMetrics, export_plan
from autoscaler.runtime.operator.prices import PriceDefaults
from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.runtime.operator.writes import OperatorWrites, short

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    due: int = 0
    invalid: int = 0
    resized: int = 0
    errors: int = 0
    seconds: float = 0.0
    decide_seconds: float = 0.0  # of which: the decision engine (observe + decide + plan)
    keys: list[str] = field(default_factory=list)


Event = tuple[ObjectRef, EventReason, str]


class OperatorCore(OperatorWrites):
    """State across passes. ``run_pass(now_s)`` is the unit tests and the benchmark drive."""

    def __init__(self, settings: OperatorSettings, client: KubeClient, cache: ObjectCache,
                 measurer: JobMeasurer, metrics: OperatorMetrics) -> None:
        self.settings = settings
        self.client = client
        self.cache = cache
        self.measurer = measurer
        self.metrics = metrics
        self.recorder = EventRecorder(client, settings.identity)
        self.policy = PolicyConfig(**settings.policy)
        self.jobs: dict[str, TrackedJob] = {}
        self._invalid: dict[str, str] = {}  # key -> last InvalidAnnotation message sent
        self._failed: dict[str, str] = {}  # key -> last JobFailed message sent
        self._source_name = settings.source.kind
        self.prices = PriceDefaults(settings.prices)  # for jobs that give no prices of their own

    def reset(self) -> None:
        """Forget in-memory state (on gaining leadership: another replica may have acted)."""
        self.jobs.clear()
        self._invalid.clear()
        self._failed.clear()

    # -- the pass -----------------------------------------------------------------------------
    def run_pass(self, now_s: float, *, all_due: bool = False) -> PassReport:
        started = time.perf_counter()
        report = PassReport()
        for warning in self.prices.refresh(now_s, getattr(self.measurer, "query", None)):
            log.warning("%s", warning)  # each bad read once; the last good value is kept
        due: list[tuple[TrackedJob, dict[str, Any], int]] = []
        live: set[str] = set()
        events: list[Event] = []
        for kind, obj in self.cache.objects():
            try:
                ref = ObjectRef.of(kind, obj)
            except Exception as e:  # not even a name: nothing to report the problem on
                log.warning("skipping a %s without a usable name: %s", kind.kind, short(e))
                continue
            live.add(ref.key)
            try:
                item = self._admit(kind, ref, obj, now_s, events)
            except Exception as e:
                self.jobs.pop(ref.key, None)  # restored afresh next time
                self._failure(ref, "reading", e, now_s, events)
                report.errors += 1
                continue
            if item is None:
                report.invalid += 1
            elif all_due or now_s >= item[0].next_due_s:
                due.append(item)
        for key in set(self.jobs) - live:
            gone = self.jobs.pop(key).ref
            self.metrics.forget(gone.namespace, gone.name, gone.kind.kind)
        for table in (self._invalid, self._failed):
            for key in set(table) - live:
                del table[key]

        windows = self._measure(due, now_s)
        plans = []
        for job, obj, replicas in due:
            t0 = time.perf_counter()
            job.next_due_s = now_s + self.settings.interval_s
            try:
                plans.append(self._plan(job, obj, replicas, windows.get(job.ref.key), now_s))
            except Exception as e:  # a bug deciding one job must not starve the others
                self._failure(job.ref, "deciding", e, now_s, events)
                report.errors += 1
            spent_s = time.perf_counter() - t0
            report.decide_seconds += spent_s
            self.metrics.decision_s.observe(spent_s)
        report.due = len(due)
        report.keys = [p.job.ref.key for p in plans]

        outcomes = self._map(lambda p: self._execute(p, now_s), plans)
        self._map(lambda e: self._emit(e[0], e[1], e[2], now_s), events)
        report.resized = sum(1 for o in outcomes if o == "resized")
        report.errors += sum(1 for o in outcomes if o == "error")
        for plan, outcome in zip(plans, outcomes, strict=True):
            if outcome != "error":
                self._failed.pop(plan.job.ref.key, None)
            try:
                export_plan(self.metrics, plan, plan.standing.budget_left_j, self._source_name)
            except Exception as e:  # metrics are worth a log line, never a failed pass
                log.warning("%s: metrics not exported: %s", plan.job.ref.key, short(e))
        self.metrics.jobs.labels("served").set(len(self.jobs))
        self.metrics.jobs.labels("invalid").set(len(self._invalid))
        report.seconds = time.perf_counter() - started
        self.metrics.pass_s.observe(report.seconds)
        return report

    def _plan(self, job: TrackedJob, obj: dict[str, Any], replicas: int, window: Any,
              now_s: float) -> Plan:
        enforce = job.mode is ann.Mode.ENFORCE and not self.settings.dry_run
        held = self.resize_held(job, obj, now_s)  # kindops: recommend-only kind, Kueue pending
        blocked = enforce and (now_s < job.scale_retry_s or held is not None)
        return _plan_job(
            job, resource_version=str(obj["metadata"].get("resourceVersion", "")),
            seen_replicas=replicas, window=window, now_s=now_s, enforce=enforce and not blocked,
            checkpoint_every_s=self.settings.checkpoint_every_s, source_name=self._source_name,
            problem=held or (job.scale_problem if enforce else None))

    def _failure(self, ref: ObjectRef, stage: str, e: BaseException, now_s: float,
                 events: list[Event]) -> None:
        """Like :meth:`job_failed`, with the Warning queued for this pass's Event writes."""
        log.error("%s: %s failed; the job is skipped this interval", ref.key, stage, exc_info=e)
        self.metrics.api_errors.labels("job").inc()
        message = (f"internal error while {stage} this job ({short(e)}); it is skipped this "
                   "interval and tried again the next")
        if self._failed.get(ref.key) != message:
            self._failed[ref.key] = message
            events.append((ref, EventReason.JOB_FAILED, message))

    def _map(self, fn: Callable[[Any], str | None], items: Sequence[Any]) -> list[str | None]:
        """Run the writes; in parallel only where that can overlap network round trips."""
        if self.settings.api_concurrency == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(self.settings.api_concurrency) as pool:
            return list(pool.map(fn, items))

    def _admit(self, kind: KindRef, ref: ObjectRef, obj: dict[str, Any], now_s: float,
               events: list[Event]) -> tuple[TrackedJob, dict[str, Any], int] | None:
        """Parse the owner's annotations; None (and at most one Warning) when invalid."""
        annotations: dict[str, str] = obj["metadata"].get("annotations") or {}
        try:
            replicas = kind.replicas(obj)  # a KindError (InvalidAnnotations) on hostile content
            lo, hi = kind.elastic_bounds(obj)
            if replicas is None:
                raise ann.InvalidAnnotations([ann.AnnotationError(
                    ann.ENABLED, f"opted in, but the object has no replica count at "
                    f"{kind.replicas_path}: it cannot be resized")])
            if not 0 <= replicas <= MAX_REPLICAS:
                raise ann.InvalidAnnotations([ann.AnnotationError(
                    ann.ENABLED, f"opted in, but the object runs {replicas} replicas, outside "
                    f"what the operator serves (0 to {MAX_REPLICAS})")])
            parsed = ann.parse_job_annotations(annotations, current_replicas=replicas,
                                               elastic_min=lo, elastic_max=hi,
                                               default_prices=self.prices.prices)
        except ann.InvalidAnnotations as e:
            if self._invalid.get(ref.key) != str(e):
                self._invalid[ref.key] = str(e)
                events.append((ref, EventReason.INVALID_ANNOTATION,
                               f"{e}; the job is left as it is"))
            return None
        self._invalid.pop(ref.key, None)
        inputs = inputs_signature(annotations)
        job = self.jobs.get(ref.key)
        if job is None or job.ref.uid != ref.uid:
            job = self._restore(ref, annotations, parsed.spec, parsed.mode, inputs, now_s, events)
            self.jobs[ref.key] = job
        elif job.inputs != inputs or job.prices_version != self.prices.version:
            job.session.update_spec(parsed.spec)  # a new budget counts from now
            job.mode, job.inputs = parsed.mode, inputs
        job.prices_version = self.prices.version
        if ann.PREFIX + ann.STATE not in annotations:  # new, or the owner deleted it: write it
            job.last_checkpoint_s = -math.inf  # with the next patch (no extra request)
        if job.last_seen_replicas not in (None, replicas) and job.mode is ann.Mode.ENFORCE:
            log.info("%s: replicas changed outside the operator from %s to %s; enforce mode "
                     "decides from the new size (and may resize it back)", ref.key,
                     job.last_seen_replicas, replicas)
        job.last_seen_replicas = replicas
        return job, obj, replicas

    def _restore(self, ref: ObjectRef, annotations: dict[str, str], spec: Any, mode: ann.Mode,
                 inputs: str, now_s: float, events: list[Event]) -> TrackedJob:
        """A job seen for the first time by this process: pick up what was learned before.

        The first checkpoint is due ``checkpoint_every_s`` from now (or at the first resize,
        which always checkpoints): a restart does not rewrite 1,000 states at once. A state
        that cannot be used is discarded (one ``InvalidState`` Warning) and overwritten at the
        job's next patch, so neither this leader nor the next trips over it again."""
        text = annotations.get(ann.PREFIX + ann.STATE)
        memory, session, bad = JobMemory(), None, False
        if text:
            try:
                memory = decode(text)
                if memory.session is not None:  # restored: a resize on record is re-noted
                    session = JobSession.from_state(spec, memory.session, self.policy)
            except Exception as e:  # StateError/ValueError by design; anything else, a bug
                message = (f"{ann.PREFIX}{ann.STATE}: cannot be restored ({short(e, 200)}); "
                           "it is discarded and the job is learned afresh")
                log.warning("%s: %s", ref.key, message)
                events.append((ref, EventReason.INVALID_STATE, message))
                memory, session, bad = JobMemory(), None, True
        job = TrackedJob(ref, session or JobSession(spec, self.policy), memory, mode, inputs)
        job.last_checkpoint_s = -math.inf if bad else now_s
        job.next_due_s = last_decided_s(annotations) + self.settings.interval_s
        return job

    def _measure(self, due: list[tuple[TrackedJob, dict[str, Any], int]],
                 now_s: float) -> dict[str, Any]:
        # A paused job (0 replicas) has no pods: it is not measured.
        targets = self.measure_targets(due)  # kindops: pod regex, placement (nodes)
        if not targets:
            return {}
        try:
            return self.measurer.measure(targets, now_s - self.settings.interval_s, now_s)
        except Exception as e:  # a backend failure: every due job holds, none is touched
            log.warning("measuring %d jobs failed: %s", len(targets), e)
            self.metrics.api_errors.labels("measure").inc()
            return {}
