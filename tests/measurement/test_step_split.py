"""The step split: the reporter's step and sync-wait summaries, carried through scrapes and
Prometheus answers into ``Window.step_s`` / ``sync_s`` / ``batch_per_worker`` / ``nodes``."""

from __future__ import annotations

import math
import time

import pytest

from autoscaler.actuators.torchrun_cmd import free_port
from autoscaler.decision.types import Quality
from autoscaler.sources import JobMatcher, JobSelector, ScrapeSource, compute_window
from autoscaler.sources.prometheus_results import EnergyBackend, build_snapshots
from autoscaler.sources.snapshot import Snapshot, StepCounters, WorkerSnapshot
from autoscaler.worker import Reporter, ReporterConfig
from autoscaler.worker import metrics as m

E = {("dev", "rapl"): 0.0}
E1 = {("dev", "rapl"): 10.0}


def _w(
    name: str,
    samples: float,
    steps: StepCounters | None,
    node: str | None = None,
    energy: dict[tuple[str, str], float] = E,
) -> WorkerSnapshot:
    return WorkerSnapshot(name, samples, energy, node=node, steps=steps)


def _window(
    before: list[WorkerSnapshot], after: list[WorkerSnapshot], **kw: int
) -> tuple[Quality, str, float | None, float | None, float | None, int | None]:
    w = compute_window(Snapshot.of(0.0, before), Snapshot.of(10.0, after), **kw)  # type: ignore[arg-type]
    return w.quality, w.note, w.step_s, w.sync_s, w.batch_per_worker, w.nodes


# -- the reporter over real HTTP -----------------------------------------------------------


def _serve(**kw: object) -> Reporter:
    config = ReporterConfig(port=free_port(), addr="127.0.0.1", world_size=2)
    return Reporter(config, sources=[], **kw).start()  # type: ignore[arg-type]


def test_a_scraped_reporter_carries_step_time_sync_wait_batch_and_its_node() -> None:
    reporters = [_serve(), _serve()]
    source = ScrapeSource([f"127.0.0.1:{r.port}" for r in reporters])
    try:
        for r in reporters:
            r.step(samples=32)  # starts the clock
        before = source.snapshot()
        for r in reporters:
            for _ in range(5):
                r.add_sync(0.002)  # what the DDP hook reports, before backward() returns
                with r.sync():  # a blocking wait the script times itself
                    time.sleep(0.002)
                time.sleep(0.006)
                r.step(samples=32)
        after = source.snapshot()
    finally:
        source.close()
        for r in reporters:
            r.close()
    snap = next(iter(after.workers.values()))
    assert snap.node == "127.0.0.1"
    assert snap.steps is not None and snap.steps.steps == 5 and snap.steps.sync_steps == 5
    w = compute_window(before, after, replicas=2)
    assert w.quality is Quality.OK or "energy" in w.note, w.note
    assert w.batch_per_worker == 32
    assert w.nodes == 1
    assert w.step_s is not None and w.sync_s is not None and w.compute_s is not None
    assert 0.010 <= w.step_s < 0.1
    assert 0.004 <= w.sync_s < w.step_s
    assert w.compute_s >= 0.006


def test_a_script_that_reports_only_samples_exports_no_sync_series() -> None:
    reporter = _serve()
    source = ScrapeSource([f"127.0.0.1:{reporter.port}"])
    try:
        before = source.snapshot()
        for _ in range(4):
            reporter.step(samples=8)
        text = source._client.get(source.endpoints[0]).text
        after = source.snapshot()
    finally:
        source.close()
        reporter.close()
    assert m.SYNC_WAIT_SECONDS not in text
    assert f"{m.STEP_SECONDS_COUNT}{{" in text
    w = compute_window(before, after, replicas=1)
    assert w.sync_s is None and w.compute_s is None  # the engine falls back
    assert w.step_s is not None and w.batch_per_worker == pytest.approx(8 * 4 / 3)  # 1st step


def test_sync_waits_before_the_first_timed_step_are_dropped_and_steps_without_a_wait_count_0() -> (
    None
):
    r = Reporter(sources=[])
    r.measure_sync()
    r.add_sync(5.0)  # before the first step(): belongs to no timed step
    r.step(1)
    r.step(1)  # a step that did not synchronise (no_sync, one worker)
    r.step(1, sync_s=0.5)
    assert (r._sync_steps, r._sync_sum_s, r._steps) == (2, 0.5, 2)


# -- window maths ----------------------------------------------------------------------------


def _s(steps: float, sum_s: float, sync_n: float | None = None, sync_s: float | None = None):  # type: ignore[no-untyped-def]
    return StepCounters(steps, sum_s, sync_n, sync_s)


@pytest.mark.parametrize(
    ("before", "after", "expect"),
    [
        pytest.param(  # two workers: pooled means, one node
            [_w("a", 0, _s(0, 0, 0, 0), "n1"), _w("b", 0, _s(0, 0, 0, 0), "n1")],
            [
                _w("a", 640, _s(10, 2.0, 10, 0.5), "n1", E1),
                _w("b", 640, _s(10, 2.2, 10, 0.7), "n1", E1),
            ],
            (Quality.OK, 0.21, 0.06, 64.0, 1),
            id="ok",
        ),
        pytest.param(
            [_w("a", 0, _s(0, 0), "n1"), _w("b", 0, _s(0, 0), "n2")],
            [_w("a", 100, _s(10, 1.0), "n1", E1), _w("b", 100, _s(10, 1.0), "n2", E1)],
            (Quality.OK, 0.1, None, 10.0, 2),
            id="no-sync-reported-two-nodes",
        ),
        pytest.param(  # the step counter went down: a reset, as for samples
            [_w("a", 0, _s(50, 5.0, 50, 1.0))],
            [_w("a", 100, _s(10, 1.0, 10, 0.2), energy=E1)],
            (Quality.INVALID, None, None, None, None),
            id="step-reset",
        ),
        pytest.param(
            [_w("a", 0, _s(0, 0, 50, 1.0))],
            [_w("a", 100, _s(10, 1.0, 10, 0.2), energy=E1)],
            (Quality.INVALID, None, None, None, None),
            id="sync-reset",
        ),
        pytest.param(  # an older reporter on one worker: fields left out, window still OK
            [_w("a", 0, _s(0, 0, 0, 0)), _w("b", 0, None)],
            [_w("a", 100, _s(10, 1.0, 10, 0.1), energy=E1), _w("b", 100, None, energy=E1)],
            (Quality.OK, None, None, None, None),
            id="steps-missing-on-one",
        ),
        pytest.param(
            [_w("a", 0, _s(0, 0, 0, 0)), _w("b", 0, _s(0, 0))],
            [_w("a", 100, _s(10, 1.0, 10, 0.1), energy=E1), _w("b", 100, _s(10, 1.0), energy=E1)],
            (Quality.OK, 0.1, None, 10.0, None),
            id="sync-missing-on-one",
        ),
        pytest.param(
            [_w("a", 0, _s(0, 0, 0, 0))],
            [_w("a", 100, _s(10, 1.0, 10, 5.0), energy=E1)],
            (Quality.OK, 0.1, None, 10.0, None),
            id="sync-above-step-left-out",
        ),
        pytest.param(
            [_w("a", 0, _s(0, 0, 0, 0))],
            [_w("a", 100, _s(10, math.nan, 10, 0.1), energy=E1)],
            (Quality.INVALID, None, None, None, None),
            id="nan",
        ),
    ],
)
def test_window_step_split(
    before: list[WorkerSnapshot],
    after: list[WorkerSnapshot],
    expect: tuple[Quality, float | None, float | None, float | None, int | None],
) -> None:
    quality, note, step_s, sync_s, batch, nodes = _window(before, after)
    q, e_step, e_sync, e_batch, e_nodes = expect
    assert quality is q, note
    assert step_s == (None if e_step is None else pytest.approx(e_step))
    assert sync_s == (None if e_sync is None else pytest.approx(e_sync))
    assert batch == (None if e_batch is None else pytest.approx(e_batch))
    assert nodes == e_nodes


def test_the_notes_say_why_a_field_is_left_out() -> None:
    _, note, *_ = _window(
        [_w("a", 0, _s(0, 0, 0, 0)), _w("b", 0, _s(0, 0))],
        [_w("a", 100, _s(10, 1.0, 10, 0.1), energy=E1), _w("b", 100, _s(10, 1.0), energy=E1)],
    )
    assert "no sync wait from b" in note
    _, note, *_ = _window([_w("a", 0, _s(0, 0, 0, 0))], [_w("a", 9, _s(9, 1, 9, 5), energy=E1)])
    assert "exceeds step time" in note


def test_the_caller_may_say_how_many_nodes() -> None:
    assert _window([_w("a", 0, None)], [_w("a", 10, None, energy=E1)], nodes=3)[5] == 3


# -- Prometheus answers ---------------------------------------------------------------------


def test_prometheus_series_carry_step_counters_and_the_node_label() -> None:
    matcher = JobMatcher([JobSelector("ml/j", namespace="ml", pod_regex="j-[0-9]+")])

    def series(pod: str, node: str, name: str, v: float) -> tuple[dict[str, str], float]:
        return {"__name__": name, "pod": pod, "namespace": "ml", "kubernetes_node": node}, v

    values = []
    for i, (pod, node) in enumerate((("j-0", "gpu-a"), ("j-1", "gpu-b"))):
        values += [
            series(pod, node, m.SAMPLES_TOTAL, 100.0 * (i + 1)),
            series(pod, node, m.STEP_SECONDS_COUNT, 10.0),
            series(pod, node, m.STEP_SECONDS_SUM, 2.0),
            series(pod, node, m.SYNC_WAIT_SECONDS_COUNT, 10.0),
            series(pod, node, m.SYNC_WAIT_SECONDS_SUM, 0.5),
        ]
    snaps = build_snapshots(
        matcher, values, [], [], EnergyBackend.WORKER, 0.0, None, ("node", "kubernetes_node")
    )
    w0 = snaps["ml/j"].workers["j-0"]
    assert w0.node == "gpu-a"
    assert w0.steps == StepCounters(10.0, 2.0, 10.0, 0.5)
    no_nodes = build_snapshots(matcher, values, [], [], EnergyBackend.WORKER, 0.0)
    assert no_nodes["ml/j"].workers["j-1"].node is None
