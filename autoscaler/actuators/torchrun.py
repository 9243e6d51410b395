"""Local actuator: runs a training command under torchrun and resizes it by stop + restart.

Why stop + restart rather than adding/removing elastic agents: measured on this kind of machine
(torch 2.13, CPU, 2 cores), stopping the job (SIGTERM → the script's final checkpoint) and
starting torchrun again with a new ``--nproc-per-node`` resized in 4.4–8.7 s; tuned elastic
agents took 7–13 s (35–45 s untuned), needed ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1`` to join,
lost the job with the agent hosting the store, and spent a ``--max-restarts`` attempt on every
scale-down. ``benchmarks/resize_latency.py`` re-measures the restart path here.

Most of a restart is start-up (``import torch`` in the agent and every worker), so by default
a python command's next generation is started *while the old one still trains*, under the
gated launcher in :mod:`autoscaler.actuators.prestart`; the old generation is stopped (final
checkpoint) only once the new workers are ready, then the gate opens and they resume from that
checkpoint. Training pauses for the stop, the resume and one step instead of the whole start.

Each start gets a fresh free port for the c10d rendezvous on loopback and a block of metrics
ports: worker *i* serves ``/metrics`` on ``EA_METRICS_PORT + LOCAL_RANK`` (the reporter's
contract), or on an ephemeral port it names in the private run directory when another process
holds that one (:mod:`autoscaler.actuators.owned`). Every process of the job carries a tag in
its environment, so stopping ends the agent's process group *and* the workers' own sessions,
and nothing outlives the job — nor the controller: the agent dies with it
(:mod:`autoscaler.actuators.agent`) and a watchdog ends the rest
(:mod:`autoscaler.actuators.watchdog`). Scrapes carry the run token's proof
(:mod:`autoscaler.worker.serve`): the token is made here and passed by environment only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from autoscaler.actuators.base import ActuatorError
from autoscaler.actuators.owned import Watchdog, final_samples, generation_dir, read_ports
from autoscaler.actuators.prestart import ready_path
from autoscaler.actuators.processes import GEN_VARIABLE, end_tagged, reap, tagged_pids
from autoscaler.actuators.runlock import private_dir, runtime_base
from autoscaler.actuators.torchrun_cmd import (
    failure_cause,
    free_port,
    free_port_block,
    gate_supported,
    log_tail,
    torchrun_argv,
    worker_env,
)

__all__ = ["ResizeEvent", "StartupError", "StepProbe", "TorchrunActuator", "scrape_step_probe"]
from autoscaler.actuators.torchrun_events import (
    ResizeEvent,
    StartupError,
    StepProbe,
    scrape_step_probe,
)


@dataclass
class TorchrunActuator:
    """Runs ``command`` under torchrun at ``replicas`` workers; ``scale_to`` restarts it.

    ``step_probe(ports)`` returns the workers' sample counters (or None while any is not
    serving yet); by default it scrapes their reporters on loopback, checking the run token.
    Event times are read from ``clock``, the caller's clock (unix seconds by default), so that
    a resize's request, stop and first step are on the same clock as the decisions; timeouts
    use the monotonic clock. ``hold_fds`` (the run lock's) are held by the watchdog until the
    job's last process is gone. Call ``close()`` at the end.
    """

    command: Sequence[str]
    log_dir: Path
    max_replicas: int
    step_probe: StepProbe | None = None  # None: scrape_step_probe with the run token
    env: Mapping[str, str] = field(default_factory=dict)
    job_name: str = "local"
    stop_grace_s: float = 40.0
    start_timeout_s: float = 180.0
    poll_s: float = 0.2
    metrics_base_port: int = 0  # 0: pick a free block at construction
    resizes: list[ResizeEvent] = field(default_factory=list)
    overlap: bool = True  # start the next generation while the old one trains (python only)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex)
    token: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    hold_fds: Sequence[int] = ()
    run_dir: Path | None = None  # private (0700); None: a fresh one under runtime_base()
    clock: Callable[[], float] = time.time  # the caller's: the times of resize events
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)
    _replicas: int = field(default=0, init=False)
    _generation: int = field(default=0, init=False)
    _own_exit_code: int | None = field(default=None, init=False)  # exited without our signal
    _watchdog: Watchdog = field(default_factory=Watchdog, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.metrics_base_port:
            self.metrics_base_port = free_port_block(self.max_replicas)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = private_dir(self.run_dir or runtime_base() / f"run-{self.tag}")
        if self.step_probe is None:
            self.step_probe = scrape_step_probe(token=self.token)

    def _probe(self, ports: Sequence[int]) -> Sequence[float] | None:
        return None if self.step_probe is None else self.step_probe(ports)

    # -- the Actuator protocol --------------------------------------------------------------

    def current(self) -> int:
        return self._replicas

    def scale_to(self, replicas: int) -> None:
        """Stop the job (SIGTERM: the script checkpoints and exits at a step boundary) and
        start it again at ``replicas`` workers; returns once every worker has done a step.
        Raises :class:`StartupError` if the command dies before that."""
        if not 1 <= replicas <= self.max_replicas:
            raise ActuatorError(f"replicas must be in 1..{self.max_replicas}, got {replicas}")
        if replicas == self._replicas and self.running():
            return
        requested_at_s = self.clock()
        previous = self._replicas
        stop_began_at_s: float | None = None
        old_samples: float | None = None
        if self.overlap and self.running() and gate_supported(self.command):
            log_path, stop_began_at_s, stopped_at_s, old_samples = self._overlapped(replicas)
        else:
            self.stop()
            stopped_at_s = self.clock()
            log_path = self._spawn(replicas)
        first_step_at_s = self._wait_first_step(replicas, log_path)
        self.resizes.append(
            ResizeEvent(previous, replicas, requested_at_s, stopped_at_s, first_step_at_s,
                        str(log_path), stop_began_at_s, old_samples)
        )  # fmt: skip

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, replicas: int) -> None:
        """First start (also recorded as a resize from 0, with its start-up latency)."""
        self.scale_to(replicas)

    def metrics_ports(self) -> list[int]:
        """The current start's worker ports (as the workers wrote them; else assigned)."""
        return self._ports(self._generation, self._replicas)

    def _ports(self, generation: int, replicas: int) -> list[int]:
        assert self.run_dir is not None
        directory = generation_dir(self.run_dir, generation)
        return read_ports(directory, replicas, self.metrics_base_port)

    def final_samples(self) -> float:
        """Samples the workers of every start counted until they closed (read after stop)."""
        assert self.run_dir is not None
        return final_samples(self.run_dir)

    def failure_cause(self) -> str | None:
        """Why the current (or last) start failed, from torchrun's failure table, in words."""
        try:
            text = (self.log_dir / f"torchrun-{self._generation}.log").read_text(errors="replace")
        except OSError:
            return None
        return failure_cause(text)

    def close(self) -> None:
        """Stop the job and release the watchdog (call once, at the end of the run)."""
        self.stop()
        self._watchdog.done()

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def exit_code(self) -> int | None:
        """torchrun's exit code once it has exited on its own (0: the job finished), else
        None (running, or stopped by us)."""
        if self._proc is None:
            return self._own_exit_code
        return self._proc.poll()

    def log_tail(self, lines: int = 15) -> str:
        """The workers' last output lines of the current (or last) start."""
        return self._tail(self.log_dir / f"torchrun-{self._generation}.log", lines)

    def stop(self) -> list[int]:
        """End every process of the job: SIGTERM to all its process groups, ``stop_grace_s``
        for the final checkpoint, then SIGKILL. Returns pids that had to be killed."""
        if self._proc is not None and self._proc.poll() is not None:
            self._own_exit_code = self._proc.returncode  # it ended before we asked
        leader = self._proc.pid if self._proc is not None else None
        killed = end_tagged(self.tag, self.stop_grace_s, leader=leader)
        reap(self._proc, self._log)
        self._proc, self._log = None, None
        return killed

    def _overlapped(self, replicas: int) -> tuple[Path, float, float, float | None]:
        """Start the next generation behind a gate while the old one trains; once its workers
        have imported torch, stop the old one (final checkpoint) and open the gate. Falls back
        to a plain restart if the new generation cannot get ready.
        Returns (log path, stop began, stop ended, old workers' samples before the stop)."""
        old_proc, old_log, old_gen = self._proc, self._log, self._generation
        old_ports = self.metrics_ports()
        gate = self.log_dir / f"gate-{old_gen + 1}"
        log_path = self._spawn(replicas, gate)
        ready = self._wait_ready(gate, replicas)
        counters = self._probe(old_ports)
        stop_began_at_s = self.clock()
        end_tagged(f"{self.tag}-{old_gen}", self.stop_grace_s, variable=GEN_VARIABLE,
                   leader=old_proc.pid if old_proc is not None else None)  # fmt: skip
        reap(old_proc, old_log)
        stopped_at_s = self.clock()
        if not ready:  # e.g. the launcher is not importable by this python: plain restart
            self.stop()
            log_path = self._spawn(replicas)
        gate.touch()
        return log_path, stop_began_at_s, stopped_at_s, sum(counters) if counters else None

    def _wait_ready(self, gate: Path, replicas: int) -> bool:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if all(ready_path(gate, r).exists() for r in range(replicas)):
                return True
            if self._proc is None or self._proc.poll() is not None:
                return False
            time.sleep(self.poll_s / 2)
        return False

    def kill_now(self) -> list[int]:
        """SIGKILL every process of the job at once (a second Ctrl-C): no final checkpoint."""
        self.stop_grace_s, grace_s = 0.0, self.stop_grace_s
        try:
            return self.stop()
        finally:
            self.stop_grace_s = grace_s

    def leftover_pids(self) -> list[int]:
        return tagged_pids(self.tag)

    # -- internals ------------------------------------------------------------------------

    def _spawn(self, replicas: int, gate: Path | None = None) -> Path:
        assert self.run_dir is not None
        self._watchdog.start(self.tag, self.stop_grace_s, self.hold_fds, self.run_dir)
        self._generation += 1
        self._own_exit_code = None
        log_path = self.log_dir / f"torchrun-{self._generation}.log"
        port_dir = private_dir(generation_dir(self.run_dir, self._generation))
        self._log = log_path.open("wb")
        env = worker_env({**os.environ, **self.env}, tag=self.tag, generation=self._generation,
                         base_port=self.metrics_base_port, port_dir=port_dir, token=self.token,
                         job_name=self.job_name)
        run_id = f"{self.job_name}-{self.tag}-{self._generation}"
        argv = torchrun_argv(self.command, replicas, free_port(), run_id, gate)
        self._log.write(("$ " + " ".join(argv) + "\n").encode())
        self._log.flush()
        try:
            self._proc = subprocess.Popen(
                argv, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        except OSError as e:
            raise StartupError(f"cannot run {argv[0]!r}: {e}") from e
        self._replicas = replicas
        return log_path

    def _wait_first_step(self, replicas: int, log_path: Path) -> float | None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            code = self.exit_code()
            if code is not None:
                self.stop()
                if code == 0:
                    return None  # finished before a step at this degree: nothing left to do
                cause = self.failure_cause()
                raise StartupError(
                    f"the training command exited with code {code} before its first step at "
                    f"{replicas} worker(s)" + (f": {cause}" if cause else "")
                    + f"; end of {log_path}:\n{self._tail(log_path)}"
                )  # fmt: skip
            counters = self._probe(self._ports(self._generation, replicas))
            if counters is not None and len(counters) == replicas and min(counters) > 0:
                return self.clock()
            time.sleep(self.poll_s)
        with contextlib.suppress(ActuatorError):
            self.stop()
        raise StartupError(
            f"no step at {replicas} worker(s) within {self.start_timeout_s:.0f} s; "
            f"end of {log_path}:\n{self._tail(log_path)}"
        )

    @staticmethod
    def _tail(path: Path, lines: int = 15) -> str:
        return log_tail(path, lines)
