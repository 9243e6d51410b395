"""One job lifecycle: the simulator, local mode and the operator are adapters of one session.

One window sequence is recorded from the simulator (a binding energy budget, objective time,
starting at 4 of 1-16 workers, so it resizes and its budget matters) and replayed through the
two production adapters: local mode's loop (``LocalRun``, with a fake torchrun actuator, a fake
scrape source and a fake clock) and the operator's pass (``OperatorCore`` over the in-memory API
server, enforce mode, a measurer that hands out the recorded windows). All three must make the
same decisions at the same times and end with the same ledger (samples, joules per source,
budget left) and the same checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kube_helpers import Harness, opt_in, pytorchjob

from autoscaler.actuators.torchrun_events import ResizeEvent
from autoscaler.decision import Controller, Decision, PolicyConfig, Progress, Window
from autoscaler.decision.session import JobSession
from autoscaler.kube.kinds import PYTORCHJOB
from autoscaler.runtime.local import run as local_run
from autoscaler.runtime.local.settings import LocalSettings
from autoscaler.runtime.operator.measure import MeasureTarget
from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.sim.compare import job_spec
from autoscaler.sim.engine import run_policy
from autoscaler.sim.scenario import load_scenario
from autoscaler.sim.workload import Workload
from autoscaler.testing.fakeapi import FakeKubeApi

SCENARIO = Path(__file__).parents[2] / "benchmarks" / "scenarios" / "budget-binding.yaml"


class Recording(Controller):
    """The engine, noting every window it is shown and every decision it makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.windows: list[Window] = []
        self.decisions: list[Decision] = []

    def observe(self, window: Window) -> None:
        self.windows.append(window)
        super().observe(window)

    def decide(self, now_s: float, progress: Progress) -> Decision:
        decision = super().decide(now_s, progress)
        self.decisions.append(decision)
        return decision


def decided(decisions: list[Decision]) -> list[tuple[float, int, int, str]]:
    return [(d.now_s, d.current, d.replicas, d.reason.value) for d in decisions]


@pytest.fixture(scope="module")
def recorded() -> tuple[JobSession, Recording]:
    scenario = load_scenario(SCENARIO)
    config = PolicyConfig(resize_downtime_s=scenario.workload.resize_downtime_s)
    spec = job_spec(scenario)
    engine = Recording(spec, config)
    session = JobSession(spec, config, engine=engine)
    job = scenario.job
    run = run_policy(Workload(scenario), session, name="ours", start_replicas=job.initial_replicas,
                     min_replicas=job.min_replicas, max_replicas=job.max_replicas,
                     interval_s=scenario.controller.interval_s, seed=scenario.seed)
    assert run.resizes >= 2  # the sequence exercises resizes and warm-up
    assert session.ledger.budget_j is not None and session.ledger.budget_energy_j > 0
    return session, engine


# -- the operator's adapter ------------------------------------------------------------------
class Replay:
    """A measurer handing out the recorded windows, one per pass, checking the degree."""

    def __init__(self, windows: list[Window]) -> None:
        self.windows = list(windows)

    def measure(self, targets: list[MeasureTarget], start_s: float,
                end_s: float) -> dict[str, Window]:
        [target] = targets
        window = self.windows.pop(0)
        assert window.end_s == end_s and window.replicas == target.replicas
        return {target.key: window}


def test_the_operator_makes_the_simulators_decisions(
        recorded: tuple[JobSession, Recording]) -> None:
    session, engine = recorded
    scenario = load_scenario(SCENARIO)
    settings = OperatorSettings(interval_s=scenario.controller.interval_s, identity="op",
                                metrics_port=0, checkpoint_every_s=1e9, api_concurrency=1,
                                policy={"resize_downtime_s": scenario.workload.resize_downtime_s})
    api = FakeKubeApi()
    job = scenario.job
    api.add(PYTORCHJOB, pytorchjob("a", job.initial_replicas, opt_in(
        mode="enforce", objective="time", min_replicas=str(job.min_replicas),
        max_replicas=str(job.max_replicas), energy_budget=f"{job.energy_budget_j} J",
        total_samples=str(scenario.workload.total_samples)), elastic=(1, 16)))
    replay = Replay(engine.windows)
    harness = Harness(api, settings, replay)
    for window in engine.windows:
        harness.now_s = window.end_s
        harness.sync()
        assert harness.core.run_pass(window.end_s, all_due=True).errors == 0
    [tracked] = harness.core.jobs.values()
    ours = tracked.session
    assert isinstance(ours.engine, Controller)
    assert ours.ledger == session.ledger
    assert ours.to_state() == session.to_state()
    operator = [json.loads(e["message"].split()[1]) for e in harness.events("Resized")]
    assert len(operator) == sum(d.resize for d in engine.decisions)


# -- local mode's adapter --------------------------------------------------------------------
class FakeTorchrun:
    """What ``LocalRun`` asks of its torchrun actuator; ends when the recording does."""

    token = "t"

    def __init__(self, windows: list[Window]) -> None:
        self.windows = windows
        self.n = 0
        self.resizes: list[ResizeEvent] = []

    def start(self, replicas: int) -> None:
        self.n = replicas

    def current(self) -> int:
        return self.n

    def scale_to(self, replicas: int) -> None:
        self.resizes.append(ResizeEvent(self.n, replicas, 0.0, 0.0, None, "-"))
        self.n = replicas

    def metrics_ports(self) -> list[int]:
        return []

    def exit_code(self) -> int | None:
        return 0 if not self.windows else None

    def stop(self) -> list[int]:
        return []

    def final_samples(self) -> float:
        return 0.0

    def close(self) -> None:
        pass


class FakeScrape:
    """Snapshots at the recorded windows' ends (the window itself comes from ``compute``)."""

    def __init__(self, windows: list[Window]) -> None:
        self.windows = windows
        self.endpoints: list[str] = []

    def snapshot(self) -> Any:
        return _Snap(self.windows[0].end_s)

    def compute(self, baseline: Any, snap: Any, *, replicas: int) -> Window:
        window = self.windows.pop(0)
        assert window.end_s == snap.at_s and window.replicas == replicas
        return window

    def close(self) -> None:
        pass


class _Snap:
    def __init__(self, at_s: float) -> None:
        self.at_s = at_s
        self.workers: dict[str, Any] = {}


def test_local_mode_makes_the_simulators_decisions(
        recorded: tuple[JobSession, Recording], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    session, engine = recorded
    scenario = load_scenario(SCENARIO)
    job = scenario.job
    now = [-1000.0]  # started well before the first window: its warm-up is long over

    def sleep(seconds: float) -> None:
        now[0] += seconds

    windows = list(engine.windows)
    scrape = FakeScrape(windows)
    monkeypatch.setattr(local_run.time, "sleep", sleep)
    monkeypatch.setattr(local_run, "compute_window", scrape.compute)
    settings = LocalSettings(
        command=("true",), report_dir=tmp_path, min_replicas=job.min_replicas,
        max_replicas=job.max_replicas, start_replicas=job.initial_replicas,
        objective=job.objective_parsed, energy_budget_j=job.energy_budget_j,
        total_samples=scenario.workload.total_samples, interval_s=scenario.controller.interval_s,
        resize_downtime_s=scenario.workload.resize_downtime_s,
        settle_s=PolicyConfig().warmup_s, live=False)
    run = local_run.LocalRun(settings, clock=lambda: now[0])
    run.job = run.resizer = FakeTorchrun(windows)  # type: ignore[assignment]
    run.source = scrape  # type: ignore[assignment]
    record = run.run()
    assert record.outcome == "finished" and not windows
    assert decided(record.decisions) == decided(engine.decisions)
    assert run.session.ledger == session.ledger
    assert run.session.to_state() == session.to_state()
