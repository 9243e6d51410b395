"""``energy-autoscaler sweep``: the offline scaling study as a command.

The same training command runs at each degree in turn, for a fixed time (or number of samples)
per degree, through local mode's own machinery: the torchrun actuator starts and resizes it
(stop at a step boundary, final checkpoint, restart at the next degree, so the job trains on
from where it was), and the workers' reporters are scraped into windows exactly as local mode
does. After each start the sweep waits ``warmup_s`` past the first step, then pools the steady
windows of the degree. The host's static power, if given, is charged once per window
(:mod:`autoscaler.runtime.local.static_power`). Restarts are plain (no overlap): an overlapped start
would compete for the cores with the degree being measured.

The study (:mod:`autoscaler.runtime.local.sweep_table`) is written as ``sweep.json`` and, with
matplotlib, ``sweep.png``; torchrun's output per start goes to ``logs/``.
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from autoscaler.actuators.torchrun import TorchrunActuator
from autoscaler.actuators.torchrun_events import exit_message
from autoscaler.decision.types import Quality, Window
from autoscaler.runtime.local.static_power import with_static_power
from autoscaler.runtime.local.sweep_table import DegreeRun, analyse
from autoscaler.sources.scrape import ScrapeSource
from autoscaler.sources.snapshot import Snapshot, SourceError
from autoscaler.sources.windows import compute_window


class SweepStopped(Exception):
    """SIGTERM or Ctrl-C: stop the job, keep what was measured."""


class SweepJobFailed(Exception):
    """The training command exited with an error."""


@dataclass(frozen=True)
class SweepSettings:
    command: tuple[str, ...]
    degrees: tuple[int, ...]
    report_dir: Path
    per_degree_s: float | None = 30.0  # exactly one of these two
    per_degree_samples: float | None = None
    static_power_w: float = 0.0
    warmup_s: float = 3.0
    window_s: float = 5.0
    stop_grace_s: float = 40.0
    start_timeout_s: float = 180.0


@dataclass
class SweepResult:
    runs: list[DegreeRun] = field(default_factory=list)
    outcome: str = "running"  # finished | job finished early | interrupted | failed: ...
    study: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    plot_note: str = ""


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise SweepStopped()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def pool(replicas: int, windows: list[Window], note: str = "") -> DegreeRun:
    """A degree's steady (OK) windows pooled: Σ seconds, Σ samples, Σ joules."""
    ok = [w for w in windows if w.quality is Quality.OK and math.isfinite(w.energy_j)]
    notes = sorted({w.note for w in windows if w.quality is not Quality.OK and w.note})
    return DegreeRun(
        replicas=replicas,
        duration_s=sum(w.duration_s for w in ok),
        samples=sum(w.samples for w in ok),
        energy_j=sum(w.energy_j for w in ok),
        source="+".join(sorted({w.source for w in ok})) or "none",
        windows=len(ok),
        dropped=len(windows) - len(ok),
        note=note or "; ".join(notes)[:200],
    )


class Sweep:
    """Runs the study; ``say`` receives the progress lines."""

    def __init__(
        self,
        settings: SweepSettings,
        say: Callable[[str], None] = print,
        hold_fds: tuple[int, ...] = (),
    ) -> None:
        self.s = settings
        self.say = say
        self.job = TorchrunActuator(
            command=list(settings.command), log_dir=settings.report_dir / "logs",
            max_replicas=max(settings.degrees), stop_grace_s=settings.stop_grace_s,
            start_timeout_s=settings.start_timeout_s, overlap=False, hold_fds=hold_fds,
            job_name="sweep",
        )  # fmt: skip
        self.source = ScrapeSource([], timeout_s=2.0, token=self.job.token)
        self.result = SweepResult()

    def run(self) -> SweepResult:
        """Every degree in turn; the JSON (and plot) are written whatever happens."""
        try:
            with _sigterm_raises():
                self._run()
        except (KeyboardInterrupt, SweepStopped):
            self.result.outcome = "interrupted"
            self.say("stopping: waiting for the final checkpoint ...")
        except SweepJobFailed as e:
            self.result.outcome = f"failed: {str(e).splitlines()[0]}"
            raise
        finally:
            self.job.close()
            self.source.close()
            self._write()
        return self.result

    def _run(self) -> None:
        total = len(self.s.degrees)
        for i, n in enumerate(self.s.degrees, start=1):
            self.say(f"[{i}/{total}] {n} worker(s): starting ...")
            t0 = time.monotonic()
            try:
                self.job.scale_to(n)
            except Exception as e:  # StartupError and ActuatorError: the command's fault
                raise SweepJobFailed(str(e)) from e
            if self.job.exit_code() == 0:
                self._finished_early(n)
                return
            self.source.endpoints = [f"127.0.0.1:{p}" for p in self.job.metrics_ports()]
            what = (
                f"{self.s.per_degree_s:g} s"
                if self.s.per_degree_s is not None
                else f"{self.s.per_degree_samples:,.0f} samples"
            )
            self.say(
                f"[{i}/{total}] {n} worker(s): first step after {time.monotonic() - t0:.1f} s; "
                f"measuring {what} after {self.s.warmup_s:g} s of warm-up ..."
            )
            windows, finished = self._measure(n)
            if windows:
                run = pool(n, windows, "" if not finished else "the job finished meanwhile")
                self.result.runs.append(run)
                self.say(f"[{i}/{total}] {self._row_text(run)}")
            if finished:
                self._finished_early(n)
                return
        self.result.outcome = "finished"

    def _finished_early(self, n: int) -> None:
        self.result.outcome = "job finished early"
        self.say(
            f"the training command finished on its own at {n} worker(s): give it more work "
            "(the sweep stops it after the last degree)"
        )

    def _row_text(self, run: DegreeRun) -> str:
        from autoscaler.runtime.local.static_power import source_label

        if not run.usable:
            return f"{run.replicas} worker(s): no steady window ({run.note or 'none'})"
        return (
            f"{run.replicas} worker(s): {run.throughput_sps:,.0f} samples/s, "
            f"{run.power_w:.1f} W, {run.energy_per_sample_j * 1e3:.3f} mJ/sample "
            f"[{source_label(run.source, self.s.static_power_w)}] over {run.duration_s:.1f} s "
            f"({run.windows} windows)"
        )

    def _measure(self, n: int) -> tuple[list[Window], bool]:
        """Windows at degree ``n`` until the time or samples are reached, and whether the job
        finished on its own meanwhile."""
        if not self._sleep(self.s.warmup_s):
            return [], True
        baseline = self._snapshot()
        if baseline is None:
            return [], True
        windows: list[Window] = []
        start_s, samples = baseline.at_s, 0.0
        while True:
            if self.s.per_degree_s is not None:
                left_s = start_s + self.s.per_degree_s - time.time()
                if left_s <= 0.05:
                    return windows, False
                wait_s = min(self.s.window_s, left_s)
            else:
                assert self.s.per_degree_samples is not None
                if samples >= self.s.per_degree_samples:
                    return windows, False
                wait_s = self.s.window_s
            if not self._sleep(wait_s):
                return windows, True
            snap = self._snapshot()
            if snap is None:
                return windows, True
            w = with_static_power(compute_window(baseline, snap, replicas=n), self.s.static_power_w)
            windows.append(w)
            if w.quality is Quality.OK:
                samples += w.samples
            baseline = snap

    def _snapshot(self) -> Snapshot | None:
        """A scrape of every worker; None when the job finished meanwhile."""
        error: SourceError | None = None
        for _ in range(20):
            try:
                return self.source.snapshot()
            except SourceError as e:
                error = e
                if not self._sleep(0.5):
                    return None
        raise SweepJobFailed(f"the workers' reporters did not answer for 10 s: {error}")

    def _sleep(self, seconds: float) -> bool:
        """Sleep watching the job: False when it finished; raises when it failed."""
        until = time.monotonic() + seconds
        while True:
            code = self.job.exit_code()
            if code == 0:
                return False
            if code is not None:
                cause = self.job.failure_cause()
                raise SweepJobFailed(exit_message(code, cause, self.job.log_tail()))
            left = until - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(left, 0.25))

    def _write(self) -> None:
        from autoscaler.runtime.local.sweep_plot import try_plot_sweep

        study = analyse(self.result.runs, self.s.static_power_w)
        study.update(
            version=1, outcome=self.result.outcome, command=list(self.s.command),
            degrees=list(self.s.degrees), per_degree_s=self.s.per_degree_s,
            per_degree_samples=self.s.per_degree_samples, warmup_s=self.s.warmup_s,
        )  # fmt: skip
        self.result.study = study
        directory = self.s.report_dir
        directory.mkdir(parents=True, exist_ok=True)
        png = directory / "sweep.png"
        written, note = try_plot_sweep(study, png)
        study["plot"] = {"written": written, "why": note}
        path = directory / "sweep.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(study, indent=2, default=str) + "\n")
        tmp.replace(path)
        self.result.files = [path, *([png] if written else [])]
        self.result.plot_note = note
