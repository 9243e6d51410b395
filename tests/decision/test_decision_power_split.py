"""Per-worker power that falls while a worker waits on the network (decision.power_split).

Truths are tables of (degree, compute share) with known busy/waiting draws, so each expected
power is computed from the same numbers the fit sees.
"""

from __future__ import annotations

import numpy as np
import pytest

from autoscaler.decision import PolicyConfig
from autoscaler.decision.fitting import fit_power
from autoscaler.decision.models import Curve
from autoscaler.decision.power_split import (
    MIN_SHARE_SPREAD,
    busy_share,
    fit_power_split,
    measured_busy_share,
)
from autoscaler.decision.step_model import StepModel, StepStats

CFG = PolicyConfig()
# Compute share by degree: sync grows with n and jumps across the node boundary at 4/5.
SHARES = {1: 1.0, 2: 0.9, 3: 0.85, 4: 0.8, 5: 0.55, 6: 0.5, 8: 0.45, 12: 0.4, 16: 0.35}


def truth_w(n: int, static_w: float, busy_w: float, wait_w: float, node_w: float = 0.0,
            per_node: int = 4) -> float:
    u = SHARES[n]
    return static_w + n * (busy_w * u + wait_w * (1 - u)) + node_w * -(-n // per_node)


def share_grid(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The true share at listed degrees, interpolated between (what a step model would say)."""
    keys = np.array(sorted(SHARES), dtype=float)
    vals = np.array([SHARES[int(k)] for k in keys])
    return np.interp(grid, keys, vals), np.zeros(grid.size)


def fit(measured: tuple[int, ...], static_w: float, busy_w: float, wait_w: float,
        node_w: float = 0.0, noise: float = 0.0, seed: int = 0) -> Curve:
    rng = np.random.default_rng(seed)
    n = np.array(measured, dtype=np.int64)
    p = np.array([truth_w(int(m), static_w, busy_w, wait_w, node_w) for m in n])
    p = p * (1 + noise * rng.standard_normal(n.size))
    se = np.maximum(p * max(noise, 1e-3), 1e-6)
    grid = np.arange(1, 17)
    share = np.array([SHARES[int(m)] for m in n])
    nodes = (lambda m: np.ceil(m / 4)) if node_w else None
    return fit_power_split(n, p, se, grid, CFG, share, share_grid(grid.astype(float)), nodes)


@pytest.mark.parametrize(
    ("measured", "static_w", "busy_w", "wait_w"),
    [
        ((2, 4, 8, 16), 0.0, 70.0, 30.0),
        ((1, 4, 6, 12), 50.0, 250.0, 90.0),
        ((1, 2, 4, 8, 16), 10.0, 100.0, 0.0),
    ],
)
def test_busy_and_waiting_draw_recovered_from_exact_windows(
    measured: tuple[int, ...], static_w: float, busy_w: float, wait_w: float
) -> None:
    curve = fit(measured, static_w, busy_w, wait_w)
    assert curve.params["busy_w"] == pytest.approx(busy_w, rel=1e-6, abs=1e-6)
    assert curve.params["wait_w"] == pytest.approx(wait_w, rel=1e-6, abs=1e-6)
    assert curve.params["static_w"] == pytest.approx(static_w, rel=1e-6, abs=1e-6)
    for m in (3, 5, 6, 12):  # unmeasured degrees too: the share there comes from the grid
        assert curve.at(m)[0] == pytest.approx(truth_w(m, static_w, busy_w, wait_w), rel=1e-6)


@pytest.mark.parametrize(
    ("measured", "shares_alike", "why"),
    [
        ((4, 8), False, "fewer measured degrees than coefficients"),
        ((5, 6, 8), True, "shares too alike to tell busy from waiting draw"),
    ],
)
def test_falls_back_to_todays_fit_when_not_identified(
    measured: tuple[int, ...], shares_alike: bool, why: str
) -> None:
    n = np.array(measured, dtype=np.int64)
    p = np.array([truth_w(int(m), 20.0, 80.0, 40.0) for m in n])
    se = p * 0.01
    grid = np.arange(1, 17)
    share = np.array([SHARES[int(m)] for m in n])
    if shares_alike:
        share = np.full(n.size, 0.5) + np.linspace(0, MIN_SHARE_SPREAD / 2, n.size)
    got = fit_power_split(n, p, se, grid, CFG, share, share_grid(grid.astype(float)))
    want = fit_power(n, p, se, grid, CFG)
    assert "busy_w" not in got.params, why
    np.testing.assert_allclose(got.mean, want.mean)
    np.testing.assert_allclose(got.sd, want.sd)


def test_without_the_split_it_is_todays_fit() -> None:
    n = np.array([2, 4, 8, 16])
    p = np.array([truth_w(int(m), 0.0, 70.0, 30.0) for m in n])
    grid = np.arange(1, 17)
    got = fit_power_split(n, p, p * 0.01, grid, CFG, None, None)
    want = fit_power(n, p, p * 0.01, grid, CFG)
    np.testing.assert_allclose(got.mean, want.mean)


@pytest.mark.parametrize(
    ("busy_w", "wait_w", "noise"),
    [
        (300.0, 300.0, 0.0),  # no difference at all
        (30.0, 70.0, 0.0),  # waiting would fit as the larger draw: outside the model's bounds
        (100.0, 100.0, 0.02),  # no difference, noisy windows: noise must not invent one
        (100.0, 95.0, 0.02),  # a difference far inside the noise
    ],
)
def test_a_difference_the_data_do_not_show_is_not_used(
    busy_w: float, wait_w: float, noise: float
) -> None:
    """Falls back to today's fit (no ``busy_w``) rather than chase noise with a parameter."""
    for seed in range(5):
        curve = fit((2, 4, 8, 16), 50.0, busy_w, wait_w, noise=noise, seed=seed)
        assert "busy_w" not in curve.params
        assert curve.params["per_worker_w"] >= 0


def test_per_node_draw_fitted_beside_the_split() -> None:
    curve = fit((1, 2, 4, 8, 12, 16), 0.0, 70.0, 30.0, node_w=100.0)
    assert curve.params["per_node_w"] == pytest.approx(100.0, rel=1e-6)
    assert curve.params["busy_w"] == pytest.approx(70.0, rel=1e-6)
    assert curve.at(6)[0] == pytest.approx(truth_w(6, 0.0, 70.0, 30.0, node_w=100.0), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_noisy_windows_band_covers_the_truth(seed: int) -> None:
    curve = fit((2, 4, 8, 16), 40.0, 90.0, 35.0, noise=0.02, seed=seed)
    assert "busy_w" in curve.params  # a difference this large shows through 2 % noise
    for m in (1, 3, 5, 6, 12):
        mean, sd = curve.at(m)
        assert abs(mean - truth_w(m, 40.0, 90.0, 35.0)) <= 3 * sd


def test_a_degree_that_waits_more_draws_less_per_worker() -> None:
    """Across the node boundary the share of waiting jumps: per-worker power falls with it,
    which today's linear model (one per-worker draw) cannot say."""
    curve = fit((2, 4, 8, 16), 0.0, 70.0, 30.0)
    per_worker = {m: curve.at(m)[0] / m for m in (4, 5)}
    assert per_worker[5] < per_worker[4]
    assert per_worker[4] == pytest.approx(70.0 * 0.8 + 30.0 * 0.2, rel=1e-6)


def test_shares_from_the_step_model() -> None:
    stats = StepStats(
        replicas=np.array([2, 4, 8]), nodes=np.array([1, 1, 2]), batch=np.full(3, 32.0),
        compute_s=np.array([0.1, 0.1, 0.1]), sync_s=np.array([0.01, 0.02, 0.1]),
    )
    np.testing.assert_allclose(measured_busy_share(stats), [0.1 / 0.11, 0.1 / 0.12, 0.5])
    model = StepModel(stats, np.full(3, 0.01), 4, "per-worker")
    mean, sd = busy_share(model, np.arange(1, 9))
    assert mean[0] == pytest.approx(1.0)  # one worker never waits
    assert np.all((mean >= 0) & (mean <= 1)) and np.all(sd >= 0)
    assert mean[4] < mean[3]  # 5 workers span two nodes: more waiting than 4


def test_the_controller_predicts_power_with_the_waiting_draw() -> None:
    """Through the controller: windows with the step split at 1, 2, 4 and 8 workers (one
    node of 8), a busy worker drawing 300 W and a waiting one 60 W; the prediction at the
    unmeasured 6 follows the waiting draw, where a straight line through the data does not."""
    from autoscaler.decision import Controller, JobSpec, Window

    compute_s, sync = 0.1, {1: 0.0, 2: 0.02, 4: 0.05, 6: 0.08, 8: 0.11}
    ctl = Controller(JobSpec(1, 8, workers_per_node=8))

    def power(n: int) -> float:
        u = compute_s / (compute_s + sync[n])
        return 200.0 + n * (300.0 * u + 60.0 * (1 - u))

    t = 0.0
    for n in (1, 2, 4, 8):
        step = compute_s + sync[n]
        for _ in range(6):
            x = n * 32 / step
            ctl.observe(Window(t, t + 30, n, x, power(n), power(n) * 30, x * 30, "nvml",
                               step_s=step, sync_s=sync[n], batch_per_worker=32, nodes=1))
            t += 30
    predicted = {p.replicas: p.power_w for p in ctl.predictions()}
    linear = fit_power(np.array([1, 2, 4, 8]), np.array([power(n) for n in (1, 2, 4, 8)]),
                       np.full(4, 1.0), np.arange(1, 9), CFG)
    truth = power(6)
    assert abs(predicted[6] - truth) < 0.5 * abs(float(linear.mean[5]) - truth)
    assert predicted[6] == pytest.approx(truth, rel=0.03)
