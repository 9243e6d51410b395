"""The operator's pass: every due opted-in job, measured in one batch, decided, written.

Order of writes for a job (why): the annotation patch goes first and carries the learned state
whenever a resize follows, so a crash between the two can never leave a resize unrecorded (a
restart then holds in warm-up instead of resizing again). The patch is conditional on the
resourceVersion the decision was made from; on 409 the object is re-read and, if the owner's
annotations are unchanged, patched once more — otherwise this round is dropped for that job and
the next pass decides on what the owner now says. One job's failure never stops the others.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from autoscaler.actuators.kube_scale import KubeScaleActuator, ScaleError
from autoscaler.decision import Controller, PolicyConfig
from autoscaler.kube import annotations as ann
from autoscaler.kube.cache import ObjectCache
from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError, KubeConflict, KubePermanentError
from autoscaler.kube.events import EventReason, EventRecorder
from autoscaler.kube.kinds import KindRef, ObjectRef
from autoscaler.kube.scale import KubeScaleEndpoint
from autoscaler.kube.state import JobMemory, StateError, decode
from autoscaler.runtime.operator_jobs import (
    Plan,
    TrackedJob,
    budget_left_j,
    confirm_resize,
    inputs_signature,
    last_decided_s,
    undo_resize,
)
from autoscaler.runtime.operator_jobs import plan_job as _plan_job
from autoscaler.runtime.operator_metrics import OperatorMetrics, export_plan
from autoscaler.runtime.operator_settings import OperatorSettings
from autoscaler.runtime.operator_sources import JobMeasurer, MeasureTarget

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


class OperatorCore:
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
        self._pod_regex = {(k.group, k.plural): k.pod_regex for k in settings.kinds}
        self._source_name = settings.source.kind

    def reset(self) -> None:
        """Forget in-memory state (on gaining leadership: another replica may have acted)."""
        self.jobs.clear()
        self._invalid.clear()

    # -- the pass -----------------------------------------------------------------------------
    def run_pass(self, now_s: float, *, all_due: bool = False) -> PassReport:
        started = time.perf_counter()
        report = PassReport()
        due: list[tuple[TrackedJob, dict[str, Any], int]] = []
        live: set[str] = set()
        invalid_events: list[tuple[ObjectRef, str]] = []
        for kind, obj in self.cache.objects():
            ref = ObjectRef.of(kind, obj)
            live.add(ref.key)
            item = self._admit(kind, ref, obj, now_s, invalid_events)
            if item is None:
                report.invalid += 1
            elif all_due or now_s >= item[0].next_due_s:
                due.append(item)
        for key in set(self.jobs) - live:
            gone = self.jobs.pop(key).ref
            self.metrics.forget(gone.namespace, gone.name, gone.kind.kind)
        for key in set(self._invalid) - live:
            del self._invalid[key]

        windows = self._measure(due, now_s)
        plans = []
        for job, obj, replicas in due:
            t0 = time.perf_counter()
            enforce = job.mode is ann.Mode.ENFORCE and not self.settings.dry_run
            job.next_due_s = now_s + self.settings.interval_s
            try:
                plans.append(_plan_job(
                    job, resource_version=str(obj["metadata"].get("resourceVersion", "")),
                    seen_replicas=replicas, window=windows.get(job.ref.key), now_s=now_s,
                    enforce=enforce, checkpoint_every_s=self.settings.checkpoint_every_s,
                    source_name=self._source_name))
            except Exception:  # a bug deciding one job must not starve the others
                log.exception("%s: deciding failed; the job is left as it is", job.ref.key)
                self.metrics.api_errors.labels("decide").inc()
                report.errors += 1
            spent_s = time.perf_counter() - t0
            report.decide_seconds += spent_s
            self.metrics.decision_s.observe(spent_s)
        report.due = len(due)
        report.keys = [p.job.ref.key for p in plans]

        outcomes = self._map(lambda p: self._execute(p, now_s), plans)
        self._map(lambda e: self._emit(e[0], EventReason.INVALID_ANNOTATION, e[1], now_s),
                  invalid_events)
        report.resized = sum(1 for o in outcomes if o == "resized")
        report.errors += sum(1 for o in outcomes if o == "error")
        for plan in plans:
            export_plan(self.metrics, plan, budget_left_j(plan.job), self._source_name)
        self.metrics.jobs.labels("served").set(len(self.jobs))
        self.metrics.jobs.labels("invalid").set(len(self._invalid))
        report.seconds = time.perf_counter() - started
        self.metrics.pass_s.observe(report.seconds)
        return report

    def _map(self, fn: Callable[[Any], str | None], items: Sequence[Any]) -> list[str | None]:
        """Run the writes; in parallel only where that can overlap network round trips."""
        if self.settings.api_concurrency == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(self.settings.api_concurrency) as pool:
            return list(pool.map(fn, items))

    def _admit(self, kind: KindRef, ref: ObjectRef, obj: dict[str, Any], now_s: float,
               invalid_events: list[tuple[ObjectRef, str]]
               ) -> tuple[TrackedJob, dict[str, Any], int] | None:
        """Parse the owner's annotations; None (and at most one Warning) when invalid."""
        annotations: dict[str, str] = obj["metadata"].get("annotations") or {}
        replicas = kind.replicas(obj)
        lo, hi = kind.elastic_bounds(obj)
        try:
            if replicas is None:
                raise ann.InvalidAnnotations([ann.AnnotationError(
                    ann.ENABLED, f"opted in, but the object has no replica count at "
                    f"{kind.replicas_path}: it cannot be resized through /scale")])
            parsed = ann.parse_job_annotations(annotations, current_replicas=replicas,
                                               elastic_min=lo, elastic_max=hi)
        except ann.InvalidAnnotations as e:
            if self._invalid.get(ref.key) != str(e):
                self._invalid[ref.key] = str(e)
                invalid_events.append((ref, f"{e}; the job is left as it is"))
            return None
        self._invalid.pop(ref.key, None)
        assert replicas is not None
        inputs = inputs_signature(annotations)
        job = self.jobs.get(ref.key)
        if job is None or job.ref.uid != ref.uid:
            job = self._restore(ref, annotations, parsed.spec, parsed.mode, inputs, now_s)
            self.jobs[ref.key] = job
        elif job.inputs != inputs:
            job.controller.update_spec(parsed.spec)
            job.mode, job.inputs = parsed.mode, inputs
        budget_text = annotations.get(ann.PREFIX + ann.ENERGY_BUDGET, "")
        if job.memory.budget_text != budget_text:  # a new budget counts from now
            job.memory.budget_text, job.memory.energy_used_j = budget_text, 0.0
        return job, obj, replicas

    def _restore(self, ref: ObjectRef, annotations: dict[str, str], spec: Any, mode: ann.Mode,
                 inputs: str, now_s: float) -> TrackedJob:
        """A job seen for the first time by this process: pick up what was learned before.

        The first checkpoint is due ``checkpoint_every_s`` from now (or at the first resize,
        which always checkpoints): a restart does not rewrite 1,000 states at once."""
        text = annotations.get(ann.PREFIX + ann.STATE)
        memory, controller = JobMemory(), None
        if text:
            try:
                memory = decode(text)
                if memory.controller is not None:
                    controller = Controller.from_state(spec, memory.controller, self.policy)
            except (StateError, ValueError, KeyError, TypeError) as e:
                log.warning("%s: cannot restore learned state (%s); learning afresh", ref.key, e)
                memory = JobMemory()
        job = TrackedJob(ref, controller or Controller(spec, self.policy), memory, mode, inputs)
        if controller is not None:
            confirm_resize(job)
        job.last_checkpoint_s = now_s
        job.next_due_s = last_decided_s(annotations) + self.settings.interval_s
        return job

    def _measure(self, due: list[tuple[TrackedJob, dict[str, Any], int]],
                 now_s: float) -> dict[str, Any]:
        targets = [MeasureTarget(job.ref.key, job.ref.namespace, job.ref.name, job.ref.kind.kind,
                                 replicas, self._pods(job.ref))
                   for job, obj, replicas in due]
        if not targets:
            return {}
        try:
            return self.measurer.measure(targets, now_s - self.settings.interval_s, now_s)
        except Exception as e:  # a backend failure: every due job holds, none is touched
            log.warning("measuring %d jobs failed: %s", len(targets), e)
            self.metrics.api_errors.labels("measure").inc()
            return {}

    def _pods(self, ref: ObjectRef) -> str:
        template = self._pod_regex.get((ref.kind.group, ref.kind.plural), "{name}-.+")
        return template.replace("{name}", re.escape(ref.name))

    # -- writes -------------------------------------------------------------------------------
    def _execute(self, plan: Plan, now_s: float) -> str:
        job = plan.job
        try:
            if not self._patch(plan):
                undo_resize(plan)
                return "skipped"
            if plan.resize_to is not None:
                self._resize(plan, now_s)
            for reason, message in plan.events:
                self._emit(job.ref, reason, message, now_s)
            if ann.PREFIX + ann.STATE in plan.patch:
                job.last_checkpoint_s = now_s
            return "resized" if plan.resize_to is not None else "ok"
        except (KubeApiError, ScaleError) as e:
            if plan.resize_to is not None:  # the state just written names a resize that did
                job.last_checkpoint_s = -math.inf  # not happen: correct it next pass
            undo_resize(plan)
            self.metrics.api_errors.labels(type(e).__name__).inc()
            if isinstance(e, KubePermanentError) and e.not_found:
                self.cache.forget(job.ref)
            log.warning("%s: %s", job.ref.key, e)
            return "error"

    def _patch(self, plan: Plan) -> bool:
        ref = plan.job.ref
        try:
            obj = self.client.patch_annotations(ref, plan.patch, plan.resource_version)
        except KubeConflict:
            fresh = self.client.get(ref)
            fresh_ann = fresh.get("metadata", {}).get("annotations") or {}
            if inputs_signature(fresh_ann) != plan.job.inputs or not ann.is_enabled(fresh_ann):
                log.info("%s: annotations changed while deciding; deciding again next pass",
                         ref.key)
                plan.job.next_due_s = 0.0
                self.cache.apply(ref.kind, "MODIFIED", fresh)
                return False
            if plan.resize_to is not None and ref.kind.replicas(fresh) != plan.seen_replicas:
                log.info("%s: resized by someone else while deciding; skipping", ref.key)
                self.cache.apply(ref.kind, "MODIFIED", fresh)
                return False
            obj = self.client.patch_annotations(
                ref, plan.patch, fresh["metadata"].get("resourceVersion"))
        self.cache.apply(ref.kind, "MODIFIED", obj)
        return True

    def _resize(self, plan: Plan, now_s: float) -> None:
        ref, target = plan.job.ref, plan.resize_to
        assert target is not None
        actuator = KubeScaleActuator(KubeScaleEndpoint(self.client, ref), plan.seen_replicas)
        actuator.scale_to(target)
        confirm_resize(plan.job)
        cached = self.cache.get(ref)
        if cached is not None:  # the watch will confirm; until then the next pass must not
            node = cached  # see the old size and decide again
            *parents, leaf = ref.kind.replicas_path.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = actuator.current()
        self.metrics.resizes.labels(ref.namespace, ref.name, ref.kind.kind).inc()
        d = plan.decision
        self._emit(ref, EventReason.RESIZED, f"resized {plan.seen_replicas} -> {target} "
                   f"replicas, {d.reason.value}: {d.message}", now_s)

    def _emit(self, ref: ObjectRef, reason: EventReason, message: str, now_s: float) -> None:
        try:
            self.recorder.emit(ref, reason, message, now_s)
        except KubeApiError as e:  # an Event is worth a log line, never a failed job
            self.metrics.api_errors.labels("event").inc()
            log.info("%s: event %s not recorded: %s", ref.key, reason.value, e)
