"""The torchrun actuator's vocabulary: a start's record (:class:`ResizeEvent`), the error of a
command that never got to its first step, and the probe that reads the workers' counters.
Kept apart so that ``torchrun.py`` reads as lifecycle only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from autoscaler.actuators.base import ActuatorError
from autoscaler.sources.scrape import ScrapeSource
from autoscaler.sources.snapshot import SourceError


class StartupError(ActuatorError):
    """The training command exited before its first step: a user's command error, not a
    reason to try another degree. The message carries the end of its log."""


@dataclass(frozen=True)
class ResizeEvent:
    """One start at a degree. ``latency_s``: from the request (decision) to the first step
    completed by every worker at the new degree; ``None`` if it never got there."""

    from_replicas: int
    to_replicas: int
    requested_at_s: float
    stopped_at_s: float
    first_step_at_s: float | None
    log_path: str
    stop_began_at_s: float | None = None  # None: at the request (no overlap)
    old_samples: float | None = None  # the old workers' sample counters just before the stop

    @property
    def latency_s(self) -> float | None:
        if self.first_step_at_s is None:
            return None
        return self.first_step_at_s - self.requested_at_s

    @property
    def downtime_s(self) -> float | None:
        """No training at all: from the stop of the old workers to the first new step."""
        if self.first_step_at_s is None:
            return None
        began = self.requested_at_s if self.stop_began_at_s is None else self.stop_began_at_s
        return self.first_step_at_s - began


# Reads the samples counters of the workers listening on the given ports; None = not yet.
StepProbe = Callable[[Sequence[int]], Sequence[float] | None]


def scrape_step_probe(timeout_s: float = 1.0, token: str | None = None) -> StepProbe:
    """A probe that scrapes the reporters on loopback (one reused HTTP client); with ``token``
    only endpoints that prove it count."""
    source = ScrapeSource([], timeout_s=timeout_s, token=token)

    def probe(ports: Sequence[int]) -> Sequence[float] | None:
        source.endpoints = [f"127.0.0.1:{p}" for p in ports]
        try:
            snap = source.snapshot()
        except SourceError:
            return None
        if len(snap.workers) < len(ports):
            return None
        return [w.samples for w in snap.workers.values()]

    return probe


def exit_message(code: int, cause: str | None, log_tail: str) -> str:
    """What a failed training command is reported with: its exit code, the cause torchrun
    named (e.g. a worker killed by SIGKILL), and the end of its log."""
    return (f"the training command exited with code {code}" + (f": {cause}" if cause else "")
            + "; end of its log:\n" + log_tail)
