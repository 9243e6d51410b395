"""The operator's writes for one planned job: the annotation patch, the resize, the Events.

Order (why): the annotation patch goes first and carries the learned state whenever a resize
follows, so a crash between the two can never leave a resize unrecorded (a restart then holds in
warm-up instead of resizing again). The patch is conditional on the resourceVersion the decision
was made from; on 409 the object is re-read and, if the owner's annotations are unchanged,
patched once more — otherwise this round is dropped for that job and the next pass decides on
what the owner now says.

The resize goes the kind's own way (:mod:`autoscaler.kube.resize`: ``/scale`` or a guarded
JSON patch); per-kind rules before it (recommend-only kinds, Kueue, pods) are in
:mod:`.kindops`. A resize that refuses for good (404: a CRD without the subresource; 403;
422) is not retried every interval: the job backs off (one interval, doubling to an hour), one
``ScaleFailed`` Warning says why (again only when the reason changes), and the recommendation
is rewritten at once to say it was *not* applied.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from autoscaler.actuators.kube_scale import KubeScaleActuator, ScaleError
from autoscaler.kube import annotations as ann
from autoscaler.kube.errors import KubeApiError, KubeConflict, KubePermanentError
from autoscaler.kube.events import EventReason, EventRecorder
from autoscaler.kube.kinds import KindError, ObjectRef
from autoscaler.kube.resize import KubePatchEndpoint, KubeScaleEndpoint
from autoscaler.kube.retry import Reread, retry_on_conflict
from autoscaler.runtime.operator.jobs import (
    Plan,
    checkpoint,
    confirm_resize,
    inputs_signature,
    undo_resize,
)
from autoscaler.runtime.operator.kindops import FIXED_MARK, OperatorKinds

if TYPE_CHECKING:
    from autoscaler.kube.cache import ObjectCache
    from autoscaler.kube.client import KubeClient
    from autoscaler.runtime.operator.metrics import OperatorMetrics
    from autoscaler.runtime.operator.settings import OperatorSettings

log = logging.getLogger(__name__)

MAX_SCALE_BACKOFF_S = 3600.0


def short(e: BaseException, limit: int = 300) -> str:
    """An exception as one bounded line (a message may echo 256 KiB of annotation)."""
    text = f"{type(e).__name__}: {e}" if not isinstance(e, KubeApiError | ScaleError) else str(e)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class OperatorWrites(OperatorKinds):
    """Mixin of :class:`~autoscaler.runtime.operator.OperatorCore`: everything that writes."""

    settings: OperatorSettings
    client: KubeClient
    cache: ObjectCache
    metrics: OperatorMetrics
    recorder: EventRecorder
    _failed: dict[str, str]  # job key -> last JobFailed message sent

    def _execute(self, plan: Plan, now_s: float) -> str:
        """One job's writes; never raises (a failure costs this job only)."""
        job = plan.job
        try:
            if not self._patch(plan):
                undo_resize(plan)
                return "skipped"
            if plan.resize_to is not None:
                self._resize(plan, now_s)
            for reason, message in plan.events:
                self._emit(job.ref, reason, message, now_s)
            self._size_fixed(plan, now_s)
            if ann.PREFIX + ann.STATE in plan.patch:
                job.last_checkpoint_s = now_s
            return "resized" if plan.resize_to is not None else "ok"
        except ScaleError as e:
            undo_resize(plan)
            self.metrics.api_errors.labels(type(e).__name__).inc()
            log.warning("%s: %s", job.ref.key, e)
            if e.temporary:  # the state just written names a resize that did not happen:
                job.last_checkpoint_s = -math.inf  # correct it next pass
            else:
                self._scale_refused(plan, e, now_s)
            return "error"
        except KubeApiError as e:
            if plan.resize_to is not None:
                job.last_checkpoint_s = -math.inf
            undo_resize(plan)
            self.metrics.api_errors.labels(type(e).__name__).inc()
            if isinstance(e, KubePermanentError) and e.not_found:
                self.cache.forget(job.ref)
            log.warning("%s: %s", job.ref.key, e)
            return "error"
        except Exception as e:  # a bug: this job is skipped this interval, the others served
            if plan.resize_to is not None:
                job.last_checkpoint_s = -math.inf
            undo_resize(plan)
            self.job_failed(job.ref, "writing", e, now_s)
            return "error"

    def job_failed(self, ref: ObjectRef, stage: str, e: BaseException, now_s: float) -> None:
        """An unexpected error for one job: logged with the job's name and counted every time,
        one ``JobFailed`` Warning per distinct message."""
        log.error("%s: %s failed; the job is skipped this interval", ref.key, stage,
                  exc_info=e)
        self.metrics.api_errors.labels("job").inc()
        message = (f"internal error while {stage} this job ({short(e)}); it is skipped this "
                   "interval and tried again the next")
        if self._failed.get(ref.key) != message:
            self._failed[ref.key] = message
            self._emit(ref, EventReason.JOB_FAILED, message, now_s)

    def _scale_refused(self, plan: Plan, e: ScaleError, now_s: float) -> None:
        """/scale refused for good: back off, say so once, and correct the recommendation."""
        job, target = plan.job, plan.resize_to
        job.scale_backoff_s = min(max(2 * job.scale_backoff_s, self.settings.interval_s),
                                  MAX_SCALE_BACKOFF_S)
        job.scale_retry_s = now_s + job.scale_backoff_s
        path = "/scale" if job.ref.kind.resize == "scale" else job.ref.kind.replicas_path
        job.scale_problem = (f"{path} refused the resize to {target}: {short(e, 200)}; next "
                             f"attempt in {job.scale_backoff_s:.0f} s")
        signature = short(e, 200)
        events = job.memory.events
        if events.get(EventReason.SCALE_FAILED.value) != signature:
            events[EventReason.SCALE_FAILED.value] = signature
            self._emit(job.ref, EventReason.SCALE_FAILED,
                       f"{job.scale_problem}. The resize was NOT applied ("
                       + ("does the resource have a /scale subresource, and may the operator "
                          "patch it?)" if path == "/scale" else "does the kind's replicas_path "
                          "match its schema, and may the operator patch it?)"), now_s)
        plan.resize_to, plan.problem = None, job.scale_problem
        checkpoint(plan)  # the state without the resize, and with the Event's signature
        fix: dict[str, str | None] = {
            ann.PREFIX + ann.RECOMMENDATION: plan.recommendation(now_s),
            ann.PREFIX + ann.STATE: plan.patch[ann.PREFIX + ann.STATE],
        }
        try:
            obj = self.client.patch_annotations(job.ref, fix, None)
            self.cache.apply(job.ref.kind, "MODIFIED", obj)
            job.last_checkpoint_s = now_s
        except KubeApiError as e2:
            job.last_checkpoint_s = -math.inf
            log.warning("%s: correcting the recommendation failed: %s", job.ref.key, e2)

    def _patch(self, plan: Plan) -> bool:
        ref = plan.job.ref

        def write(fresh: dict[str, Any] | None) -> dict[str, Any]:
            rv = plan.resource_version if fresh is None else fresh["metadata"].get(
                "resourceVersion")
            return self.client.patch_annotations(ref, plan.patch, rv)

        def reread() -> Reread[dict[str, Any], dict[str, Any]]:
            fresh = self.client.get(ref)
            fresh_ann = fresh.get("metadata", {}).get("annotations") or {}
            if inputs_signature(fresh_ann) != plan.job.inputs or not ann.is_enabled(fresh_ann):
                log.info("%s: annotations changed while deciding; deciding again next pass",
                         ref.key)
                plan.job.next_due_s = 0.0
                self.cache.apply(ref.kind, "MODIFIED", fresh)
                return Reread()
            try:
                moved = ref.kind.replicas(fresh) != plan.seen_replicas
            except KindError:
                moved = True
            if plan.resize_to is not None and moved:
                log.info("%s: resized by someone else while deciding; skipping", ref.key)
                self.cache.apply(ref.kind, "MODIFIED", fresh)
                return Reread()
            return Reread(retry_with=fresh)

        obj = retry_on_conflict(write, reread)
        if obj is None:
            return False
        self.cache.apply(ref.kind, "MODIFIED", obj)
        return True

    def _resize(self, plan: Plan, now_s: float) -> None:
        job, target = plan.job, plan.resize_to
        ref = job.ref
        assert target is not None
        cached = self.cache.get(ref)
        patch = None
        if ref.kind.resize == "patch":
            patch = KubePatchEndpoint(self.client, ref, cached or self.client.get(ref))
        endpoint = patch or KubeScaleEndpoint(self.client, ref)
        actuator = KubeScaleActuator(endpoint, plan.seen_replicas)
        actuator.scale_to(target)
        self.note_resize(job, cached, plan.seen_replicas, target, now_s)
        confirm_resize(job)
        job.last_seen_replicas = actuator.current()
        if job.scale_problem is not None:  # /scale works (again)
            job.scale_problem, job.scale_backoff_s = None, 0.0
            job.memory.events.pop(EventReason.SCALE_FAILED.value, None)
        if patch is not None and patch.written is not None:  # the server's answer, whole
            self.cache.apply(ref.kind, "MODIFIED", patch.written)
        elif cached is not None:  # the watch will confirm; until then the next pass must not
            node = cached  # see the old size and decide again
            *parents, leaf = ref.kind.replicas_path.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = actuator.current()
        self.metrics.resizes.labels(ref.namespace, ref.name, ref.kind.kind).inc()
        d = plan.decision
        self._emit(ref, EventReason.RESIZED, f"resized {plan.seen_replicas} -> {target} "
                   f"replicas, {d.reason.value}: {d.message}", now_s)

    def _size_fixed(self, plan: Plan, now_s: float) -> None:
        """One ``SizeFixed`` Event per recommended size of a job that cannot resize while it
        runs: what the next submission should ask for."""
        d, job = plan.decision, plan.job
        if not d.resize or not plan.problem or FIXED_MARK not in plan.problem:
            return
        events = job.memory.events
        if events.get(EventReason.SIZE_FIXED.value) == str(d.replicas):
            return
        events[EventReason.SIZE_FIXED.value] = str(d.replicas)
        self._emit(job.ref, EventReason.SIZE_FIXED,
                   f"recommend {d.replicas} replicas (now {d.current}), {d.reason.value}: "
                   f"{d.message}. {plan.problem[0].upper()}{plan.problem[1:]}: the next "
                   f"submission should ask for {d.replicas}", now_s)

    def _emit(self, ref: ObjectRef, reason: EventReason, message: str, now_s: float) -> None:
        try:
            self.recorder.emit(ref, reason, message, now_s)
        except KubeConflict:  # a once-named Event: another leader already reported it
            log.debug("%s: event %s already recorded", ref.key, reason.value)
        except KubeApiError as e:  # an Event is worth a log line, never a failed job
            self.metrics.api_errors.labels("event").inc()
            log.info("%s: event %s not recorded: %s", ref.key, reason.value, e)

