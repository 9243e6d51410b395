"""The step model: compute + synchronisation by placement, bands that cover, measurement wins.

Truths are built from the step decomposition itself (compute per per-worker batch, sync per
degree with a jump at the node boundary), so every expectation is computed from the same truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from autoscaler.decision import (
    Controller,
    JobSpec,
    Objective,
    PolicyConfig,
    Progress,
    Quality,
    Window,
)
from autoscaler.decision.history import History
from autoscaler.decision.step_model import StepModel, nodes_of, step_stats, workers_per_node

INTERVAL_S = 30.0


@dataclass(frozen=True)
class StepTruth:
    """A data-parallel job: compute(b) = a + c·b; sync within a node and across nodes."""

    per_node: int = 4
    batch: float = 32.0  # per worker (or the global batch when ``global_batch``)
    global_batch: bool = False
    compute_a_s: float = 0.02
    compute_c_s: float = 0.004
    intra_s: tuple[float, float] = (0.01, 0.004)  # a + slope·(n − 2) within one node
    inter_s: tuple[float, float] = (0.08, 0.01)  # ... across nodes
    static_w: float = 100.0
    per_worker_w: float = 70.0

    def b(self, n: int) -> float:
        return self.batch / n if self.global_batch else self.batch

    def compute_s(self, n: int) -> float:
        return self.compute_a_s + self.compute_c_s * self.b(n)

    def sync_s(self, n: int) -> float:
        if n == 1:
            return 0.0
        a, slope = self.intra_s if n <= self.per_node else self.inter_s
        return a + slope * (n - 2)

    def throughput_sps(self, n: int) -> float:
        return n * self.b(n) / (self.compute_s(n) + self.sync_s(n))

    def power_w(self, n: int) -> float:
        return self.static_w + self.per_worker_w * n

    def window(self, n: int, start_s: float, rng: np.random.Generator, cv: float = 0.02,
               split: bool = True) -> Window:
        noise = float(rng.normal(1.0, cv))
        step = (self.compute_s(n) + self.sync_s(n)) / noise
        x = n * self.b(n) / step
        p = self.power_w(n) * float(rng.normal(1.0, cv))
        return Window(
            start_s=start_s, end_s=start_s + INTERVAL_S, replicas=n, throughput_sps=x,
            power_w=p, energy_j=p * INTERVAL_S, samples=x * INTERVAL_S, source="simulated",
            quality=Quality.OK, step_s=step if split else None,
            sync_s=self.sync_s(n) / noise if split else None,
            batch_per_worker=self.b(n) if split else None,
            nodes=math.ceil(n / self.per_node),
        )

    def feed(self, ctl: Controller, degrees: list[int], per_degree: int = 4, seed: int = 0,
             split: bool = True) -> float:
        rng = np.random.default_rng(seed)
        t_s = 0.0
        for n in degrees:
            for _ in range(per_degree):
                ctl.observe(self.window(n, t_s, rng, split=split))
                t_s += INTERVAL_S
        return t_s


def test_step_stats_need_every_degree_to_report_the_split() -> None:
    truth, rng = StepTruth(), np.random.default_rng(1)
    history = History(PolicyConfig())
    history.add(truth.window(2, 0.0, rng))
    history.add(truth.window(4, 30.0, rng, split=False))
    assert step_stats(history.columns, np.array([2])) is not None
    assert step_stats(history.columns, np.array([2, 4])) is None  # 4: samples only, fall back


@pytest.mark.parametrize(
    ("replicas", "nodes", "expected"),
    [
        ([2, 4], [1, 1], None),  # never left one node: unknown
        ([4, 8], [1, 2], 4),
        ([3, 12], [1, 2], 6),  # 12 on two nodes: at least 6 per node
    ],
)
def test_workers_per_node_from_reported_placements(
    replicas: list[int], nodes: list[int], expected: int | None
) -> None:
    assert workers_per_node(np.array(replicas), np.array(nodes)) == expected


def test_nodes_of_follows_the_placement() -> None:
    m = np.arange(1, 10)
    assert nodes_of(m, 4).tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 3]
    assert nodes_of(m, None).tolist() == [1] * 9


@pytest.mark.parametrize(
    ("truth", "measured", "regime"),
    [
        (StepTruth(), [2, 4, 8], "per-worker"),
        (StepTruth(batch=256.0, global_batch=True), [2, 4, 8], "global"),
        (StepTruth(batch=256.0, global_batch=True), [4], "per-worker"),  # one degree: assumed
    ],
)
def test_the_batch_regime_is_recognised_from_the_measured_degrees(
    truth: StepTruth, measured: list[int], regime: str
) -> None:
    rng = np.random.default_rng(2)
    history = History(PolicyConfig())
    for i, n in enumerate(measured):
        history.add(truth.window(n, 30.0 * i, rng))
    stats = step_stats(history.columns, np.array(measured))
    assert stats is not None
    model = StepModel(stats, np.full(len(measured), 0.01), truth.per_node)
    assert model.regime == regime


@pytest.mark.parametrize(
    ("truth", "measured"),
    [
        (StepTruth(), [2, 4, 8]),
        (StepTruth(), [4, 8]),
        (StepTruth(batch=256.0, global_batch=True), [2, 4, 8, 12]),
        (StepTruth(inter_s=(0.3, 0.02)), [2, 4, 6]),  # all-reduce bound across nodes
    ],
)
def test_predictions_at_unmeasured_degrees_fall_inside_the_two_sigma_band(
    truth: StepTruth, measured: list[int]
) -> None:
    ctl = Controller(JobSpec(1, 16, workers_per_node=truth.per_node))
    truth.feed(ctl, measured, per_degree=5, seed=3)
    unmeasured = [p for p in ctl.predictions() if not p.measured]
    inside = [
        abs(p.throughput_sps - truth.throughput_sps(p.replicas)) <= 2 * p.throughput_sd_sps
        for p in unmeasured
    ]
    assert np.mean(inside) >= 0.9, [(p.replicas, p.throughput_sps, p.throughput_sd_sps)
                                     for p in unmeasured]


def test_the_band_is_widest_across_a_node_boundary_nobody_measured() -> None:
    truth = StepTruth()
    ctl = Controller(JobSpec(1, 8, workers_per_node=4))
    truth.feed(ctl, [2, 4], per_degree=5, seed=4)
    rel = {p.replicas: p.throughput_sd_sps / p.throughput_sps for p in ctl.predictions()}
    assert rel[5] > 2 * rel[3]  # 5 crosses to a second node; 3 sits between measured degrees


def test_a_job_submitted_at_its_maximum_explores_downward_when_fewer_might_be_faster() -> None:
    # All-reduce bound across nodes: 16 workers on 4 nodes are slower than 4 on one node.
    truth = StepTruth(inter_s=(0.6, 0.05))
    assert truth.throughput_sps(4) > truth.throughput_sps(16)
    ctl = Controller(JobSpec(1, 16, objective=Objective.parse("time"), total_samples=1e9,
                             workers_per_node=4))
    t_s = truth.feed(ctl, [16], per_degree=4, seed=5)
    decision = ctl.decide(t_s, Progress(16, samples_done=1e6))
    assert decision.replicas < 16, decision.message


@pytest.mark.parametrize("split", [True, False])
def test_a_measured_degree_is_not_overruled_by_a_model_that_misses_it(split: bool) -> None:
    truth = StepTruth()
    ctl = Controller(JobSpec(1, 16, workers_per_node=4))
    truth.feed(ctl, [2, 4, 8], per_degree=6, seed=6, split=split)
    by_degree = {p.replicas: p for p in ctl.predictions()}
    for n in (2, 4, 8):
        p = by_degree[n]
        assert p.measured
        assert abs(p.throughput_sps - truth.throughput_sps(n)) <= 3 * max(
            p.throughput_sd_sps, 0.01 * truth.throughput_sps(n))


def test_a_per_node_power_draw_is_fitted_when_degrees_span_node_counts() -> None:
    truth = StepTruth()
    per_node_w = 150.0
    rng = np.random.default_rng(7)
    ctl = Controller(JobSpec(1, 12, workers_per_node=4))
    t_s = 0.0
    for n in (2, 4, 6, 8):
        for _ in range(5):
            w = truth.window(n, t_s, rng, cv=0.01)
            extra = per_node_w * math.ceil(n / 4)
            ctl.observe(Window(**{**w.__dict__, "power_w": w.power_w + extra,
                                  "energy_j": (w.power_w + extra) * INTERVAL_S}))
            t_s += INTERVAL_S
    by_degree = {p.replicas: p for p in ctl.predictions()}
    true_p5 = truth.power_w(5) + 2 * per_node_w
    assert by_degree[5].power_w == pytest.approx(true_p5, rel=0.05)


@pytest.mark.parametrize(
    ("measured", "degree", "relative_sync_sd"),
    [
        (16, 8, 0.2),  # fewer nodes, below the one measured degree: bounded by it (c >= 0)
        (16, 13, 0.4),  # below, but on as many nodes: placements scatter as much as anywhere
        (8, 12, 0.4),  # above: the slope is open-ended
        (8, 6, 0.4),  # below on the same two nodes
    ],
)
def test_one_measured_degree_bounds_the_sync_of_smaller_placements_only(
    measured: int, degree: int, relative_sync_sd: float
) -> None:
    truth, rng = StepTruth(), np.random.default_rng(2)
    history = History(PolicyConfig())
    for i in range(4):
        history.add(truth.window(measured, i * INTERVAL_S, rng, cv=0.0))
    stats = step_stats(history.columns, np.array([measured]))
    assert stats is not None
    pred = StepModel(stats, np.full(1, 1e-4), truth.per_node).predict(np.array([degree]))
    assert pred.sync_sd_s[0] / pred.sync_s[0] == pytest.approx(relative_sync_sd, rel=1e-3)
