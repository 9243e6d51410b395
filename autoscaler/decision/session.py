"""One job's lifecycle around the decision engine, the same for every caller.

The simulator, local mode and the operator each run the same loop: a window arrives, it is
counted (samples and joules, once), the engine learns from it, the engine decides from where the
job stands, a resize is noted with what it really cost. :class:`JobSession` is that loop's
state and rules, and nothing else: no I/O, no clock (``now_s`` is passed in), so the three
callers are thin adapters (where windows come from, how a resize is carried out) and the
simulator, which is our evidence that decisions are good, exercises the accounting production
runs.

What it owns:

- the :class:`~autoscaler.decision.ledger.Ledger` (one rule per window quality, de-duplication,
  joules per source, the budget epoch);
- resize notes: the last resize asked for (so a restarted operator never repeats one) and the
  *measured* downtime of past resizes, which replaces the configured guess as the engine's
  resize cost (an observation, not a setting);
- one versioned checkpoint: the engine's learned state, the ledger and the resize notes.

A decision comes back with what callers would otherwise recompute: the budget left, whether it
is at risk, and why the newest evidence cannot be trusted.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Protocol

from autoscaler.decision.config import PolicyConfig
from autoscaler.decision.constraints import remaining_samples
from autoscaler.decision.controller import Controller
from autoscaler.decision.ledger import UNTRUSTED, Ledger
from autoscaler.decision.state import number, optional_time, whole
from autoscaler.decision.types import MAX_REPLICAS, Decision, JobSpec, Progress, Reason, Window

SESSION_VERSION = 1
MAX_DOWNTIMES = 9  # the median of the last few resizes: recent enough, robust to one outlier


class Engine(Protocol):
    """What a session drives: the decision engine's :class:`Controller`, or (in the simulator)
    a baseline policy."""

    def observe(self, window: Window) -> None: ...

    def note_resize(self, replicas: int, now_s: float) -> None: ...

    def decide(self, now_s: float, progress: Progress) -> Decision: ...


@dataclass(frozen=True)
class SessionDecision:
    """The engine's decision and the job's standing when it was made."""

    decision: Decision
    samples_done: float
    energy_j: float  # every joule counted, whatever its source
    budget_left_j: float | None  # None: no budget
    budget_need_j: float | None  # predicted joules for the remaining work at the target
    budget_at_risk: bool
    untrusted: str  # "": the newest window is usable; else its quality (stale, missing ...)


Resize = tuple[float | None, int | None]  # (asked at, to): the last resize asked for


class JobSession:
    """One job: count its windows, feed the engine, decide, note resizes, checkpoint."""

    def __init__(self, spec: JobSpec, config: PolicyConfig | None = None, *,
                 engine: Engine | None = None) -> None:
        self._engine: Engine = engine if engine is not None else Controller(spec, config)
        self._spec = spec
        self.ledger = Ledger(budget_j=spec.energy_budget_j)
        self._resize: Resize = (None, None)
        self._downtimes_s: list[float] = []
        self._newest: Window | None = None

    # --- inputs -----------------------------------------------------------------------
    @property
    def spec(self) -> JobSpec:
        return self._spec

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def controller(self) -> Controller | None:
        """The decision engine, when this session drives it (None for a baseline)."""
        return self._engine if isinstance(self._engine, Controller) else None

    def update_spec(self, spec: JobSpec) -> None:
        """New bounds or goals (the owner changed them). A different energy budget counts
        from now: the joules drawn under the old one do not count against the new."""
        self._spec = spec
        self.ledger.set_budget(spec.energy_budget_j)
        if self.controller is not None:
            self.controller.update_spec(spec)

    def observe(self, window: Window) -> bool:
        """Count the window and let the engine learn from it; False for a repeat (ignored)."""
        if not self.ledger.count(window):
            return False
        self._newest = window
        self._engine.observe(window)
        return True

    def plan_resize(self, replicas: int, now_s: float) -> Resize:
        """Record a resize about to be asked for (it goes into the next checkpoint, so a
        restart never repeats it); returns the previous record for :meth:`undo_resize`. The
        engine hears of it only through :meth:`confirm_resize`."""
        previous, self._resize = self._resize, (now_s, replicas)
        return previous

    def confirm_resize(self) -> None:
        """The resize recorded by :meth:`plan_resize` was carried out: windows from now are
        warm-up. Also called on restore (the engine's own state may predate the resize)."""
        at_s, to = self._resize
        if at_s is not None and to is not None:
            self._engine.note_resize(to, at_s)

    def undo_resize(self, previous: Resize) -> None:
        """The resize was refused or not attempted: forget it."""
        self._resize = previous

    def note_resize(self, replicas: int, now_s: float) -> None:
        """A resize asked for and carried out at ``now_s`` (plan and confirm together)."""
        self.plan_resize(replicas, now_s)
        self.confirm_resize()

    def note_downtime(self, downtime_s: float) -> None:
        """A resize was measured to stop training for ``downtime_s``: the engine weighs the
        median of the last few measured resizes, not the configured guess."""
        if not 0.0 <= downtime_s < float("inf"):
            return
        self._downtimes_s = [*self._downtimes_s, downtime_s][-MAX_DOWNTIMES:]
        self._apply_downtime()

    @property
    def last_resize(self) -> Resize:
        return self._resize

    @property
    def measured_downtime_s(self) -> float | None:
        return statistics.median(self._downtimes_s) if self._downtimes_s else None

    # --- outputs ----------------------------------------------------------------------
    def progress(self, current: int) -> Progress:
        """Where the job stands by its ledger (energy: since the budget was set)."""
        return Progress(current, self.ledger.samples, self.ledger.budget_energy_j)

    def decide(self, now_s: float, current: int) -> SessionDecision:
        decision = self._engine.decide(now_s, self.progress(current))
        left = self.ledger.budget_left_j()
        need = None
        remaining = remaining_samples(self._spec, self.progress(current))
        if decision.predicted is not None and remaining is not None and remaining > 0:
            need = decision.predicted.energy_per_sample_j * remaining
        at_risk = left is not None and (decision.reason is Reason.INFEASIBLE_BUDGET
                                        or left <= 0 or (need is not None and need > left))
        newest = self._newest
        untrusted = ""
        if newest is not None and newest.quality in UNTRUSTED:
            untrusted = newest.quality.value
        elif decision.reason is Reason.HOLD_STALE:
            untrusted = "stale"
        return SessionDecision(decision, self.ledger.samples, self.ledger.total_energy_j, left,
                               need, at_risk, untrusted)

    # --- checkpoint ---------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """JSON-able: the engine's learned state, the ledger and the resize notes."""
        controller = self.controller
        at_s, to = self._resize
        return {
            "version": SESSION_VERSION,
            "engine": None if controller is None else controller.to_state(),
            "ledger": self.ledger.to_state(),
            "resize": {"at_s": at_s, "to": to, "downtimes_s": list(self._downtimes_s)},
        }

    @classmethod
    def from_state(cls, spec: JobSpec, state: Any,
                   config: PolicyConfig | None = None) -> JobSession:
        """Rebuild from :meth:`to_state`; ValueError (never another exception) when the state
        is not one a session could have written. The budget epoch continues only if the
        budget is the one it counted against; a resize on record is told to the engine."""
        try:
            if not isinstance(state, dict) or state.get("version") != SESSION_VERSION:
                raise ValueError(f"session state version is not {SESSION_VERSION}")
            engine = state.get("engine")
            controller = None if engine is None else Controller.from_state(spec, engine, config)
            session = cls(spec, config, engine=controller)
            ledger = state.get("ledger", {})
            session.ledger = Ledger.from_state(ledger)
            if isinstance(ledger, dict) and "budget_j" not in ledger:  # converted from v1
                session.ledger.budget_j = spec.energy_budget_j
            session.ledger.set_budget(spec.energy_budget_j)
            resize = state.get("resize", {})
            if not isinstance(resize, dict):
                raise TypeError("resize must be an object")
            to = resize.get("to")
            session._resize = (optional_time(resize.get("at_s")),
                               None if to is None else whole(to, 0, MAX_REPLICAS))
            downtimes = resize.get("downtimes_s", [])
            if not isinstance(downtimes, list) or len(downtimes) > MAX_DOWNTIMES:
                raise TypeError(f"downtimes_s must be a list of at most {MAX_DOWNTIMES}")
            session._downtimes_s = [abs(number(d, 86_400.0)) for d in downtimes]
        except (TypeError, ValueError, OverflowError) as e:
            raise ValueError(f"session state is malformed: {str(e)[:200]}") from e
        session._apply_downtime()
        session.confirm_resize()
        return session

    def _apply_downtime(self) -> None:
        measured = self.measured_downtime_s
        if measured is not None and self.controller is not None:
            self.controller.set_resize_cost(measured)
