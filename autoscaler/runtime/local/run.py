"""Local mode's loop: run the job under torchrun, measure it, decide, resize, report.

Every ``interval_s`` the loop scrapes the workers' reporters, turns the two newest snapshots
into a :class:`~autoscaler.decision.types.Window`, lets the decision engine observe it and
decide, and resizes through the torchrun actuator (never in dry-run). After a resize the old
workers' counters are gone, so the loop banks the samples they reported and starts a fresh
baseline once the new degree has settled; no window ever spans a restart.

The loop is an adapter around :class:`~autoscaler.decision.session.JobSession`, as the
simulator and the operator are: the session counts each window (one rule per quality), decides
from its ledger, and learns what a resize costs *here* from each resize's measured downtime
(``resize_downtime_s`` is only the guess before the first one).

Ctrl-C and SIGTERM end the job the same way a resize does (SIGTERM to every process group,
the script's final checkpoint, SIGKILL after a grace period), and the report is still written.
A SIGKILLed controller runs no code: then the job's agent dies with it and the actuator's
watchdog ends the rest (``autoscaler.actuators.watchdog``). The run lock taken by the CLI
(``autoscaler.actuators.runlock``) is passed on to that watchdog.

The report counts every trained sample: the workers write their final counts on close, so the
samples trained after the last window (or between a resize's last scrape and its stop) count.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from autoscaler.actuators.base import Actuator, DryRunActuator
from autoscaler.actuators.runlock import RunLock
from autoscaler.actuators.torchrun import StartupError, TorchrunActuator
from autoscaler.actuators.torchrun_events import exit_message
from autoscaler.decision import PolicyConfig
from autoscaler.decision.session import JobSession
from autoscaler.decision.types import Decision, Window
from autoscaler.runtime.local.plot import try_plot
from autoscaler.runtime.local.report import (
    RunRecord,
    build_report,
    summary_text,
    write_report_json,
)
from autoscaler.runtime.local.settings import LocalSettings
from autoscaler.runtime.local.static_power import with_static_power
from autoscaler.runtime.local.view import LiveView, ViewState
from autoscaler.sources.scrape import ScrapeSource
from autoscaler.sources.snapshot import Snapshot, SourceError
from autoscaler.sources.windows import compute_window

log = logging.getLogger(__name__)


class StopRequested(Exception):
    """SIGTERM arrived: end the job cleanly, as for Ctrl-C."""


class JobFailed(Exception):
    """The training command failed (at start, or later with a non-zero exit)."""


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise StopRequested()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class LocalRun:
    """One ``energy-autoscaler local`` run. ``clock`` is unix seconds (the engine's ``now_s``)."""

    def __init__(
        self,
        settings: LocalSettings,
        *,
        view: LiveView | None = None,
        clock: Callable[[], float] = time.time,
        lock: RunLock | None = None,
    ) -> None:
        self.s = settings
        self.view = view or LiveView(live=settings.live)
        self.clock = clock
        self.started_at_s = clock()
        self.config = PolicyConfig(
            warmup_s=settings.settle_s, resize_downtime_s=settings.resize_downtime_s
        )
        self.session = JobSession(settings.job_spec(self.started_at_s), self.config)
        self.job = TorchrunActuator(
            command=list(settings.command),
            log_dir=settings.report_dir / "logs",
            max_replicas=settings.max_replicas,
            stop_grace_s=settings.stop_grace_s,
            start_timeout_s=settings.start_timeout_s,
            overlap=settings.overlap_restarts,
            hold_fds=tuple(lock.fds) if lock is not None else (),
            clock=clock,
        )
        first = settings.first_replicas
        self.resizer: Actuator = DryRunActuator(first) if settings.dry_run else self.job
        self.source = ScrapeSource([], timeout_s=2.0, clock=clock, token=self.job.token)
        self.record = RunRecord(
            command=list(settings.command), settings=settings.model_dump(mode="json"),
            started_at_s=self.started_at_s, start_replicas=first,
        )  # fmt: skip
        self._banked_samples = 0.0  # reported by workers that have since been restarted
        self._window: Window | None = None
        self._decision: Decision | None = None
        self._settle_until_s = self.started_at_s
        self.summary = ""

    # -- the run --------------------------------------------------------------------------

    def run(self) -> RunRecord:
        """Run until the job finishes, fails or is stopped; the report is written in all cases.
        Raises :class:`JobFailed` (after writing the report) when the command failed."""
        try:
            with _sigterm_raises():
                self._run()
            self.record.outcome = "finished"
        except (KeyboardInterrupt, StopRequested):
            self.record.outcome = "interrupted"
            self.view.note("stopping: waiting for the final checkpoint ...")
        except (StartupError, JobFailed) as e:
            self.record.outcome = f"failed: {str(e).splitlines()[0]}"
            self._finish()
            raise JobFailed(str(e)) from e
        self._finish()
        return self.record

    def _run(self) -> None:
        self.job.start(self.s.first_replicas)
        self._after_resize(self.clock())
        baseline = self._settled_baseline()
        if baseline is None:
            self.view.note(
                "the job finished before it could be measured: give it more work than one "
                "start-up plus an --interval (or is its checkpoint already complete?)"
            )
            return
        next_tick_s = baseline.at_s + self.s.interval_s
        failures = 0
        while True:
            if not self._sleep_until(next_tick_s):
                return  # the job finished
            try:
                snap = self.source.snapshot()
            except SourceError as e:
                # Once is usually the job ending between two ticks (torchrun exits a few
                # seconds after its workers); twice in a row is worth a warning.
                failures += 1
                log.log(logging.WARNING if failures > 1 else logging.INFO,
                        "no reading this interval: %s", e)  # fmt: skip
                next_tick_s += self.s.interval_s
                continue
            failures = 0
            window = compute_window(baseline, snap, replicas=self.job.current())
            self._observe(window, snap)
            decision = self.session.decide(snap.at_s, self.job.current()).decision
            self._decision = decision
            self.record.decisions.append(decision)
            self.view.show(self._state(), new_decision=True)
            baseline = snap
            if decision.resize and not self.s.dry_run:
                self._resize(decision, snap)
                settled = self._settled_baseline()
                if settled is None:
                    return  # the job finished during the resize
                baseline = settled
            elif decision.resize:
                self.resizer.scale_to(decision.replicas)  # dry-run: recorded, never acted on
            next_tick_s = baseline.at_s + self.s.interval_s

    # -- steps ----------------------------------------------------------------------------

    def _observe(self, window: Window, snap: Snapshot) -> None:
        window = with_static_power(window, self.s.static_power_w)  # the host's, charged once
        self._window = window
        self.record.windows.append(window)
        self.session.observe(window)
        self.record.samples_done = self._samples_done(snap)

    def _samples_done(self, snap: Snapshot) -> float:
        return self._banked_samples + sum(w.samples for w in snap.workers.values())

    def _resize(self, decision: Decision, snap: Snapshot) -> None:
        banked_before = self._banked_samples
        self._banked_samples = self._samples_done(snap)
        # At the decision's time, as the simulator and the operator note theirs: the decision
        # and the request are milliseconds apart, and one clock reading per tick is the rule.
        requested_at_s = decision.now_s
        before = self.job.current()
        self.view.show(self._state(f"resizing {before} -> {decision.replicas}"), new_decision=False)
        self.job.scale_to(decision.replicas)
        self._after_resize(requested_at_s)
        event = self.job.resizes[-1]
        if event.old_samples is not None:  # the old workers trained on while the new started
            self._banked_samples = max(self._banked_samples, banked_before + event.old_samples)
        self.view.note(
            f"resized {before} -> {decision.replicas} in "
            + (
                f"{event.latency_s:.1f} s (training paused {event.downtime_s:.1f} s)"
                if event.latency_s is not None and event.downtime_s is not None
                else "- (job finished)"
            )
        )

    def _after_resize(self, requested_at_s: float) -> None:
        """Tell the engine (warm-up starts at the request) and teach it the measured cost."""
        self.source.endpoints = [f"127.0.0.1:{p}" for p in self.job.metrics_ports()]
        self.record.resizes = list(self.job.resizes)
        # Only real resizes teach the cost (the first start also pays cold caches), and the
        # cost is the time without training: with overlapped restarts the old workers train
        # while the new ones start.
        last = self.job.resizes[-1] if self.job.resizes else None
        if last is not None and last.from_replicas and last.downtime_s is not None:
            self.session.note_downtime(last.downtime_s)
        self.session.note_resize(self.job.current(), requested_at_s)
        downtime_s = self.session.measured_downtime_s
        if downtime_s is None:
            downtime_s = self.config.resize_downtime_s
        self._settle_until_s = requested_at_s + max(self.config.warmup_s, downtime_s)

    def _settled_baseline(self) -> Snapshot | None:
        """The first snapshot of a new degree, taken once the engine's warm-up is over;
        None when the job finished meanwhile."""
        until_s = max(self._settle_until_s, self.clock() + self.s.settle_s)
        if not self._sleep_until(until_s, status="settling before measuring"):
            return None
        while True:
            try:
                return self.source.snapshot()
            except SourceError:
                if not self._sleep_until(self.clock() + 0.5):
                    return None

    def _sleep_until(self, when_s: float, status: str = "") -> bool:
        """Sleep in short steps, watching the job. False: it finished (exit 0); raises
        :class:`JobFailed` on a non-zero exit."""
        while True:
            code = self.job.exit_code()
            if code == 0:
                return False
            if code is not None:
                raise JobFailed(exit_message(code, self.job.failure_cause(), self.job.log_tail()))
            left_s = when_s - self.clock()
            if left_s <= 0:
                return True
            if self.view.live:
                self.view.show(self._state(status), new_decision=False)
            time.sleep(min(left_s, 0.5))

    # -- output ---------------------------------------------------------------------------

    def _state(self, status: str = "") -> ViewState:
        return ViewState(
            elapsed_s=self.clock() - self.started_at_s, degree=self.job.current(),
            samples_done=self.record.samples_done, total_samples=self.s.total_samples,
            window=self._window, decision=self._decision, dry_run=self.s.dry_run,
            status=status, static_w=self.s.static_power_w,
        )  # fmt: skip

    def _finish(self) -> None:
        """Stop every process, then write report.json, report.png and print the summary."""
        try:
            try:
                killed = self.job.stop()
            except KeyboardInterrupt:
                self.view.note("second interrupt: killing the job now (no final checkpoint)")
                killed = self.job.kill_now()
            if killed:
                log.warning("had to SIGKILL %d process(es) after the grace period", len(killed))
        finally:
            # Every sample trained, including after the last window: the workers' final counts
            # (a worker that was killed wrote none: then the last scrape is the best we have).
            self.record.samples_done = max(self.record.samples_done, self.job.final_samples())
            self.job.close()
            self.source.close()
            self.record.resizes = list(self.job.resizes)
            self.record.ended_at_s = self.clock()
            self.record.final_replicas = self.job.current() or None
            controller = self.session.controller
            self.record.predictions = controller.predictions() if controller is not None else ()
            report = build_report(self.record)
            report["plot"] = try_plot(report, self.s.report_dir / "report.png")
            write_report_json(report, self.s.report_dir)
            self.summary = summary_text(report, Path(self.s.report_dir))
            self.view.note(self.summary)
