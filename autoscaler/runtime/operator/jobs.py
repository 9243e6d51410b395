"""One job's turn in a pass, without I/O: window in, decision, and a *plan* of writes out.

Keeping the plan separate from its execution is what makes the request budget provable: a plan
holds at most one annotation patch (recommendation and, when due, the learned state together),
at most one resize, and only the Events whose content changed since the last one of their kind.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from autoscaler.decision import Decision, JobSpec, Reason, Window
from autoscaler.decision.prices import J_PER_KWH, S_PER_HOUR, Prices, Rate
from autoscaler.decision.session import JobSession, Resize, SessionDecision
from autoscaler.decision.types import DegreePrediction
from autoscaler.kube import annotations as ann
from autoscaler.kube.events import EventReason, rfc3339
from autoscaler.kube.kinds import ObjectRef
from autoscaler.kube.state import JobMemory, encode

# A workload at 0 replicas is paused by its owner: like the HPA, the operator leaves it alone.
# Not an engine reason (the engine is never asked): the operator's own, in the recommendation.
HOLD_PAUSED = "HoldPaused"


@dataclass
class TrackedJob:
    """What the operator holds in memory for one opted-in job."""

    ref: ObjectRef
    session: JobSession  # the job's lifecycle: ledger, model, resize notes (checkpointed)
    memory: JobMemory  # what is written to the state annotation
    mode: ann.Mode
    inputs: str  # signature of the owner's annotations the spec was parsed from
    prices_version: int = 0  # of the operator's default prices the spec was parsed with
    next_due_s: float = 0.0
    last_checkpoint_s: float = -math.inf
    missed_windows: int = 0  # passes in a row without a window
    last_seen_replicas: int | None = None  # to tell a resize by someone else in the log
    scale_problem: str | None = None  # why /scale refused the last resize (permanent error)
    scale_retry_s: float = -math.inf  # no resize before this (backing off after a refusal)
    scale_backoff_s: float = 0.0


@dataclass
class Plan:
    """The writes one job wants this pass, in the order they must happen."""

    job: TrackedJob
    resource_version: str
    seen_replicas: int
    standing: SessionDecision
    window: Window | None
    patch: dict[str, str | None] = field(default_factory=dict)
    events: list[tuple[EventReason, str]] = field(default_factory=list)
    resize_to: int | None = None
    previous_resize: Resize = (None, None)  # the session's record before this plan
    reason: str = ""  # the recommendation's reason when not the decision's (HoldPaused)
    problem: str | None = None  # why a resize that enforce mode wants is not carried out

    @property
    def decision(self) -> Decision:
        return self.standing.decision

    @property
    def applied(self) -> bool:
        """Whether the workload runs at (or is being set to) the recommended size."""
        return not self.decision.resize or self.resize_to is not None

    def recommendation(self, now_s: float) -> str:
        return recommendation_json(self.decision, self.job.session.spec, now_s,
                                   applied=self.applied, problem=self.problem,
                                   reason=self.reason)


def inputs_signature(annotations: dict[str, str]) -> str:
    """The owner's annotations (ours, minus what the operator writes), order-free."""
    mine = {k: v for k, v in annotations.items()
            if k.startswith(ann.PREFIX) and k[len(ann.PREFIX):] not in ann.OPERATOR_KEYS}
    return json.dumps(mine, sort_keys=True)


def recommendation_json(decision: Decision, spec: JobSpec, now_s: float, *, applied: bool = True,
                        problem: str | None = None, reason: str = "") -> str:
    """The ``recommendation`` annotation: exactly the contract's fields."""
    p = decision.predicted
    predicted = None if p is None else {
        "energy_per_sample_j": _finite(p.energy_per_sample_j),
        "throughput_sps": _finite(p.throughput_sps),
        "power_w": _finite(p.power_w),
    }
    if predicted is not None and p is not None and spec.prices is not None:
        predicted.update(_priced(spec.prices, p, now_s))
    body = {
        "replicas": decision.replicas,
        "current": decision.current,
        "reason": reason or decision.reason.value,
        "objective": str(spec.objective),
        "predicted": predicted,
        "saving_pct": None if decision.saving_pct is None else round(decision.saving_pct, 2),
        "feasible": decision.feasible,
        "applied": applied,
        "problem": problem,
        "updated": rfc3339(now_s),
    }
    return json.dumps(body, separators=(",", ":"))


def _finite(x: float) -> float | None:
    return round(x, 6) if math.isfinite(x) else None


def _priced(prices: Prices, p: DegreePrediction, now_s: float) -> dict[str, float | None]:
    """Money and gCO2 per sample at the predicted degree, for the prices the job gave (a key
    only for what was given), priced at the values holding now (a schedule's current value,
    not the plan's mean over the remaining work)."""
    def now(rate: Rate | None) -> float:
        return 0.0 if rate is None else rate.value_at(now_s)

    kwh_per_sample = p.energy_per_sample_j / J_PER_KWH
    worker_h_per_sample = (p.replicas / p.throughput_sps / S_PER_HOUR
                           if p.throughput_sps > 0 else math.inf)
    out: dict[str, float | None] = {}
    if prices.has_cost:
        worker = now(prices.per_worker_hour)
        out["cost_per_sample"] = _finite_sig(
            kwh_per_sample * now(prices.energy_per_kwh)
            + (worker_h_per_sample * worker if worker > 0 else 0.0))
    if prices.has_carbon:
        out["carbon_g_per_sample"] = _finite_sig(kwh_per_sample * now(prices.carbon_g_per_kwh))
    return out


def _finite_sig(x: float) -> float | None:
    """Six significant digits: a cost per sample is often far below 1e-6 of the money."""
    return float(f"{x:.6g}") if math.isfinite(x) else None


def confirm_resize(job: TrackedJob) -> None:
    """The resize went through: the model treats the next windows as warm-up."""
    job.session.confirm_resize()


def undo_resize(plan: Plan) -> None:
    """The resize failed (or was not attempted): forget the planned resize."""
    if plan.resize_to is not None:
        plan.job.session.undo_resize(plan.previous_resize)


def plan_job(job: TrackedJob, *, resource_version: str, seen_replicas: int, window: Window | None,
             now_s: float, enforce: bool, checkpoint_every_s: float, source_name: str,
             problem: str | None = None) -> Plan:
    """Decide and plan the writes for one due job. ``problem``: why enforce mode cannot resize
    now (``enforce`` is then False); the recommendation says so when it is not applied."""
    if seen_replicas == 0:
        return _plan_paused(job, resource_version, now_s, checkpoint_every_s)
    if window is not None:
        job.session.observe(window)  # counted once: a repeated window is ignored
    job.missed_windows = job.missed_windows + 1 if window is None else 0
    standing = job.session.decide(now_s, seen_replicas)
    decision = standing.decision
    plan = Plan(job, resource_version, seen_replicas, standing, window)

    if enforce and decision.resize and decision.replicas != seen_replicas:
        # Recorded in the session (and so in the state patch that precedes the resize); the
        # model hears of it only once the resize succeeded (see ``confirm_resize``).
        plan.previous_resize = job.session.plan_resize(decision.replicas, now_s)
        plan.resize_to = decision.replicas

    if not plan.applied:
        plan.problem = problem
    _plan_events(plan, source_name)
    plan.patch[ann.PREFIX + ann.RECOMMENDATION] = plan.recommendation(now_s)
    if plan.resize_to is not None or now_s - job.last_checkpoint_s >= checkpoint_every_s:
        checkpoint(plan)
    return plan


def checkpoint(plan: Plan) -> None:
    """Put the job's learned state into the plan's patch."""
    plan.job.memory.session = plan.job.session.to_state()
    plan.patch[ann.PREFIX + ann.STATE] = encode(plan.job.memory)


def _plan_paused(job: TrackedJob, resource_version: str, now_s: float,
                 checkpoint_every_s: float) -> Plan:
    """The owner scaled the workload to 0: hold there, decide nothing, measure nothing."""
    spec = job.session.spec
    decision = Decision(now_s=now_s, current=0, replicas=0, reason=Reason.HOLD_OPTIMAL,
                        message="paused: the workload runs 0 replicas; left alone until its "
                                f"owner scales it up (bounds {spec.min_replicas}-"
                                f"{spec.max_replicas})")
    ledger = job.session.ledger
    standing = SessionDecision(decision, ledger.samples, ledger.total_energy_j,
                               ledger.budget_left_j(), None, False, "")
    plan = Plan(job, resource_version, 0, standing, None, reason=HOLD_PAUSED)
    plan.patch[ann.PREFIX + ann.RECOMMENDATION] = plan.recommendation(now_s)
    if now_s - job.last_checkpoint_s >= checkpoint_every_s:
        checkpoint(plan)
    return plan


def _changed(plan: Plan, reason: EventReason, signature: str, message: str) -> None:
    """Queue an Event only when its signature differs from the last one of that reason."""
    events = plan.job.memory.events
    if events.get(reason.value, "") != signature:
        events[reason.value] = signature
        if signature:
            plan.events.append((reason, message))


def _plan_events(plan: Plan, source_name: str) -> None:
    d, w, job = plan.decision, plan.window, plan.job
    # A Recommendation Event only for a new *change* of size that is not being carried out right
    # now (dry-run, or enforce held back): holding is in the annotation, a resize gets Resized.
    advice = d.resize and plan.resize_to is None
    _changed(plan, EventReason.RECOMMENDATION, f"{d.replicas}" if advice else "",
             f"recommend {d.replicas} replicas (now {d.current}), {d.reason.value}: {d.message}")

    stale, why = "", ""
    if w is None and job.missed_windows >= 2:  # (one miss is normal: a source's first pass)
        stale, why = "missing", f"no measurements for this job from {source_name}"
    elif plan.standing.untrusted:
        stale = plan.standing.untrusted
        why = (f"newest window is {stale}: {w.note or 'no detail'}"
               if w is not None and w.quality.value == stale else d.message)
    _changed(plan, EventReason.METRICS_STALE, stale,
             f"{why}; holding at {d.current} replicas" if stale else "")

    st = plan.standing
    risk, message = ("at-risk", "") if st.budget_at_risk else ("", "")
    if st.budget_at_risk and st.budget_left_j is not None:
        detail = f"need about {st.budget_need_j:.3g} J" if st.budget_need_j is not None \
            else d.message
        message = f"energy budget left {st.budget_left_j:.3g} J; {detail}"
    _changed(plan, EventReason.BUDGET_AT_RISK, risk, message)


def last_decided_s(annotations: dict[str, str]) -> float:
    """When the job was last decided (its recommendation's ``updated``), or -inf. A restarted
    or new leader keeps each job's cadence instead of deciding all of them at once, earlier
    than the previous leader would have."""
    text = annotations.get(ann.PREFIX + ann.RECOMMENDATION, "")
    if not 0 < len(text) <= 4096:  # ours is ~300 characters; anything else is not ours
        return -math.inf
    try:
        updated = json.loads(text)["updated"]
        return ann.parse_rfc3339_s(str(updated)[:64])
    except (KeyError, ValueError, TypeError, RecursionError):
        return -math.inf
