"""Runs one policy against a workload in simulated time.

Each interval the job runs at its current degree under the true curves; the policy sees one
window (truth plus measurement noise), then decides at the window's end. A resize costs
``resize_downtime_s`` of zero throughput while drawing the *new* degree's power; windows that
contain downtime are marked ``Quality.WARMUP`` (the policy must not fit them). The job ends
exactly when ``total_samples`` are done: the last interval is cut short, so no energy is charged
past the end. No wall clock is read anywhere.

The policy runs inside a :class:`~autoscaler.decision.session.JobSession`, exactly as in local
mode and the operator: the session counts the windows (budget and deadline are judged on what
the reporters' counters said: the samples and joules of a window are its exact counter deltas,
as a worker's sample counter and an NVML or RAPL energy counter are; the scenario's noise is on
the rates the engine fits, throughput and power), notes each resize, and asks the policy.
The result's energy and time are the truth. The scenario's resize downtime reaches the policy
as its configured resize cost, as an operator's settings would give it.

Windows carry what a worker's reporter would send: ``nodes`` always, and for a ``step:``
workload the mean step time, its synchronisation part and the per-worker batch of the steps run
in the window (downtime runs no steps), with the window's throughput noise applied to both parts
alike, so that ``throughput = n·batch / step_s`` holds for every measured window without downtime.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from autoscaler.decision.prices import Prices
from autoscaler.decision.session import JobSession
from autoscaler.decision.types import Decision, JobSpec, Progress, Quality, Window
from autoscaler.errors import AutoscalerError
from autoscaler.sim.workload import Segment, Workload


class Policy(Protocol):
    """What the engine drives: the decision engine's ``Controller`` and every baseline."""

    def observe(self, window: Window) -> None: ...

    def note_resize(self, replicas: int, now_s: float) -> None: ...

    def decide(self, now_s: float, progress: Progress) -> Decision: ...


class SimulationError(RuntimeError, AutoscalerError):
    """The policy broke the rules (left [min, max]) or the run cannot finish."""


@dataclass(frozen=True)
class TrajectoryPoint:
    """One window of a run: its start, degree, and the *true* mean throughput and power."""

    t_s: float
    replicas: int
    throughput_sps: float
    power_w: float


@dataclass(frozen=True)
class RunResult:
    """What one policy's run cost, and how it got there."""

    policy: str
    energy_j: float
    time_s: float
    resizes: int
    final_replicas: int
    trajectory: tuple[TrajectoryPoint, ...]
    reasons: dict[str, int] = field(default_factory=dict)  # decision reason -> count
    reported_infeasible: bool = False  # the policy's last decision said "infeasible"
    # Money and gCO2 at the true, time-varying prices (None: no prices given), and the highest
    # true power drawn at any moment (resize downtime included).
    cost: float | None = None
    carbon_g: float | None = None
    peak_power_w: float = 0.0


@dataclass
class _State:
    t_s: float = 0.0
    samples_done: float = 0.0
    energy_j: float = 0.0
    downtime_left_s: float = 0.0
    # The current window's steps (for the step split): time running, steps, sync seconds, and
    # whether every running stretch had a step split (a phase may switch forms).
    run_s: float = 0.0
    steps: float = 0.0
    sync_s: float = 0.0
    split_known: bool = True
    # Priced: money and gCO2 so far, and the peak power (the scenario's prices, if any).
    prices: Prices | None = None
    cost: float = 0.0
    carbon_g: float = 0.0
    peak_power_w: float = 0.0

    def draw(self, n: int, power_w: float, d: float) -> None:
        """Charge ``d`` seconds at ``n`` workers drawing ``power_w``, from ``t_s`` on."""
        self.energy_j += power_w * d
        self.peak_power_w = max(self.peak_power_w, power_w)
        if self.prices is not None and d > 0:
            self.cost += self.prices.cost(self.t_s, self.t_s + d, n, power_w)
            self.carbon_g += self.prices.carbon_g(self.t_s, self.t_s + d, power_w)

    def new_window(self) -> None:
        self.run_s = self.steps = self.sync_s = 0.0
        self.split_known = True


@dataclass(frozen=True)
class _Split:
    """The step fields of one window, as a reporter would send them."""

    step_s: float | None = None
    sync_s: float | None = None
    batch_per_worker: float | None = None


def run_policy(
    workload: Workload,
    policy: Policy | JobSession,
    *,
    name: str,
    start_replicas: int,
    min_replicas: int,
    max_replicas: int,
    interval_s: float,
    seed: int,
    prices: Prices | None = None,
    spec: JobSpec | None = None,
) -> RunResult:
    """Simulate the whole job under ``policy``; deterministic for a given ``seed``. ``spec``:
    the job as the policy knows it (its budget is what the session counts against); by default
    the bounds and the total work only."""
    rng = np.random.default_rng(seed)
    total = workload.total_samples
    if isinstance(policy, JobSession):
        session = policy  # the caller's: its ledger and checkpoint can be read afterwards
    else:
        if spec is None:
            spec = JobSpec(min_replicas, max_replicas, total_samples=total)
        session = JobSession(spec, engine=policy)
    st = _State(prices=prices)
    n = start_replicas
    resizes = 0
    trajectory: list[TrajectoryPoint] = []
    reasons: Counter[str] = Counter()
    infeasible = False
    max_windows = _window_limit(workload, min_replicas, max_replicas, interval_s)

    while st.samples_done < total:
        if len(trajectory) >= max_windows:
            raise SimulationError(
                f"{name}: job not finished after {max_windows} windows (resizing without progress?)"
            )
        start_s, samples0, energy0 = st.t_s, st.samples_done, st.energy_j
        had_downtime = st.downtime_left_s > 0
        st.new_window()
        _advance(workload, st, n, interval_s)
        duration_s = st.t_s - start_s
        true_x = (st.samples_done - samples0) / duration_s
        true_p = (st.energy_j - energy0) / duration_s
        trajectory.append(TrajectoryPoint(start_s, n, true_x, true_p))
        if st.samples_done >= total:
            break
        f_x, f_p = workload.noise_factors(rng)
        meas_x, meas_p = max(0.0, true_x * f_x), max(0.0, true_p * f_p)
        split = _split(st, n, st.samples_done - samples0, f_x)
        session.observe(
            Window(
                start_s=start_s,
                end_s=st.t_s,
                replicas=n,
                throughput_sps=meas_x,
                power_w=meas_p,
                energy_j=st.energy_j - energy0,  # counters are exact: the noise is in the
                samples=st.samples_done - samples0,  # rates the engine fits, not the ledger
                source="simulated",
                quality=Quality.WARMUP if had_downtime else Quality.OK,
                note="includes resize downtime" if had_downtime else "",
                step_s=split.step_s,
                sync_s=split.sync_s,
                batch_per_worker=split.batch_per_worker,
                nodes=workload.nodes(n),
            )
        )
        decision = session.decide(st.t_s, n).decision
        reasons[decision.reason.value] += 1
        infeasible = not decision.feasible
        if decision.replicas != n:
            if not min_replicas <= decision.replicas <= max_replicas:
                raise SimulationError(
                    f"{name}: asked for {decision.replicas} replicas, outside "
                    f"[{min_replicas}, {max_replicas}] ({decision.reason}: {decision.message})"
                )
            n = decision.replicas
            resizes += 1
            st.downtime_left_s = workload.resize_downtime_s
            session.note_resize(n, st.t_s)

    return RunResult(
        policy=name,
        energy_j=st.energy_j,
        time_s=st.t_s,
        resizes=resizes,
        final_replicas=n,
        trajectory=tuple(trajectory),
        reasons=dict(sorted(reasons.items())),
        reported_infeasible=infeasible,
        cost=None if prices is None or not prices.has_cost else st.cost,
        carbon_g=None if prices is None or not prices.has_carbon else st.carbon_g,
        peak_power_w=st.peak_power_w,
    )


def _advance(workload: Workload, st: _State, n: int, interval_s: float) -> None:
    """Run one interval (or less, if the job ends) at degree ``n``; mutates ``st``."""
    total = workload.total_samples
    left_s = interval_s
    if st.downtime_left_s > 0:
        d = min(st.downtime_left_s, left_s)
        st.draw(n, workload.segment_at(st.samples_done).power(n), d)
        st.t_s += d
        st.downtime_left_s -= d
        left_s -= d
    while left_s > 0 and st.samples_done < total:
        seg = workload.segment_at(st.samples_done)
        x, p = seg.throughput(n), seg.power(n)
        end = min(seg.end_samples, total)
        to_end_s = (end - st.samples_done) / x
        before = st.samples_done
        if to_end_s <= left_s:  # cross a phase boundary or finish the job inside this interval
            d, st.samples_done = to_end_s, end
        else:
            d = left_s
            st.samples_done += x * d
        st.draw(n, p, d)
        st.t_s += d
        left_s -= d
        _count_steps(st, seg, n, st.samples_done - before, d)


def _count_steps(st: _State, seg: Segment, n: int, samples: float, d: float) -> None:
    """Add one running stretch's steps and synchronisation time to the window's tally."""
    if seg.step is None:
        st.split_known = False
        return
    st.run_s += d
    steps = samples / (n * seg.step.batch_at(n))
    st.steps += steps
    st.sync_s += steps * seg.step.sync(n)


def _split(st: _State, n: int, samples: float, noise: float) -> _Split:
    """The window's step split with its throughput noise: measured throughput is truth × noise,
    so the measured step (and each part alike) is truth / noise. None where no step ran or the
    noise left no throughput to measure."""
    if not st.split_known or st.steps <= 0 or st.run_s <= 0 or noise <= 0:
        return _Split()
    step_s = st.run_s / st.steps / noise
    sync_s = st.sync_s / st.steps / noise
    return _Split(step_s, min(sync_s, step_s), samples / (n * st.steps))


def _window_limit(workload: Workload, lo: int, hi: int, interval_s: float) -> int:
    """A generous cap on windows: 20x the slowest possible run, so a livelock cannot hang."""
    slowest_sps = min(seg.throughput(n) for seg in workload.segments for n in range(lo, hi + 1))
    return 20 * math.ceil(workload.total_samples / slowest_sps / interval_s) + 10_000
