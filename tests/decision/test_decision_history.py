"""Measurement history: drift forgets the drifted degree's past and marks the others stale,
noise does not, retention keeps other degrees."""

from __future__ import annotations

import pytest
from decision_helpers import INTERVAL_S, TrueCurves

from autoscaler.decision import Controller, JobSpec, PolicyConfig, Progress
from autoscaler.decision.history import History

BEFORE = TrueCurves(lam=300, sigma=0.03, kappa=0.004, static_w=800, per_worker_w=300)


@pytest.mark.parametrize(
    "after",
    [
        TrueCurves(lam=200, sigma=0.03, kappa=0.004, static_w=800, per_worker_w=300),  # slower
        TrueCurves(lam=300, sigma=0.03, kappa=0.004, static_w=800, per_worker_w=420),  # hotter
    ],
)
def test_a_phase_change_forgets_the_drifted_degree_and_marks_the_others_stale(
    after: TrueCurves,
) -> None:
    cfg = PolicyConfig()
    history = History(cfg)
    t_s = 0.0
    for n in (2, 6, 4):
        for _ in range(20):
            history.add(BEFORE.window(n, t_s))
            t_s += INTERVAL_S
    change_s = t_s
    for _ in range(6):
        history.add(after.window(4, t_s))
        t_s += INTERVAL_S
    stats = history.stats()
    assert stats is not None
    assert history.drift_at_s == change_s  # the change point, not the detection window's start
    assert stats.replicas.tolist() == [2, 4, 6]  # the others are kept, not forgotten ...
    assert stats.stale is not None and stats.stale.tolist() == [True, False, True]  # ... but stale
    assert stats.fresh_replicas.tolist() == [4]
    assert stats.throughput_sps[1] == pytest.approx(after.throughput_sps(4))
    assert stats.power_w[1] == pytest.approx(after.power_w(4))
    # a stale degree is worth less: its standard error is widened
    fresh_rel = stats.throughput_se[1] / stats.throughput_sps[1]
    assert stats.throughput_se[0] / stats.throughput_sps[0] > 5 * fresh_rel
    # re-measuring a stale degree replaces its old windows
    history.add(after.window(2, t_s))
    stats = history.stats()
    assert stats is not None and stats.stale is not None
    assert stats.stale.tolist() == [False, False, True]
    assert stats.throughput_sps[0] == pytest.approx(after.throughput_sps(2))


@pytest.mark.parametrize("cv", [0.02, 0.06, 0.12])
def test_measurement_noise_alone_does_not_look_like_drift(cv: float) -> None:
    ctl = Controller(JobSpec(1, 8, total_samples=1e12))
    BEFORE.feed(ctl, [3, 5], per_degree=20, cv=cv, seed=7)
    BEFORE.feed(ctl, [4], per_degree=600, cv=cv, seed=8, start_s=1e5)
    assert ctl.to_state()["drift_at_s"] is None


def test_a_long_stay_at_one_degree_keeps_what_was_learned_about_the_others() -> None:
    cfg = PolicyConfig(history_per_degree=50)
    ctl = Controller(JobSpec(1, 8, total_samples=1e12), cfg)
    t_s = BEFORE.feed(ctl, [3, 5], per_degree=5)
    t_s = BEFORE.feed(ctl, [4], per_degree=400, start_s=t_s)
    windows = ctl.to_state()["windows"]
    by_degree = {n: sum(1 for w in windows if w["replicas"] == n) for n in (3, 4, 5)}
    assert by_degree == {3: 5, 4: 50, 5: 5}
    decision = ctl.decide(t_s, Progress(4))
    assert {p.replicas for p in decision.predictions if p.measured} == {3, 4, 5}
