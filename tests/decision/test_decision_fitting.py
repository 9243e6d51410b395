"""Fits: parameters recovered from noisy windows, identifiability pinning, the table model."""

from __future__ import annotations

import numpy as np
import pytest
from decision_helpers import STEP, TrueCurves

from autoscaler.decision import Controller, JobSpec, PolicyConfig, Window
from autoscaler.decision.fitting import fit_power, fit_throughput
from autoscaler.decision.history import History

CFG = PolicyConfig()


def _stats(curves: TrueCurves, degrees: list[int], per_degree: int, cv: float, seed: int = 0):
    history = History(CFG)
    rng = np.random.default_rng(seed)
    t_s = 0.0
    for n in degrees:
        for _ in range(per_degree):
            history.add(curves.window(n, t_s, cv=cv, rng=rng))
            t_s += 30.0
    stats = history.stats()
    assert stats is not None
    return stats


@pytest.mark.parametrize(
    "curves",
    [
        TrueCurves(lam=100, sigma=0.05, kappa=0.002),
        TrueCurves(lam=420, sigma=0.03, kappa=0.0),
        TrueCurves(lam=250, sigma=0.01, kappa=0.008),
    ],
)
def test_usl_fit_recovers_known_parameters_from_noisy_windows(curves: TrueCurves) -> None:
    stats = _stats(curves, list(range(1, 11)), per_degree=12, cv=0.03, seed=3)
    grid = np.arange(1, 17)
    fit = fit_throughput(stats.replicas, stats.throughput_sps, stats.throughput_se, grid, CFG)
    assert fit.kind == "usl"
    assert fit.params["lam"] == pytest.approx(curves.lam, rel=0.05)
    truth = np.array([curves.throughput_sps(int(n)) for n in grid])
    assert np.max(np.abs(fit.mean / truth - 1)) < 0.05
    # the one-sigma band covers the truth at most degrees, and is never absurdly wide
    inside = np.abs(fit.mean - truth) <= 3 * fit.sd
    assert inside.mean() >= 0.8
    assert np.all(fit.sd / fit.mean < 0.5)


def test_power_fit_recovers_static_and_per_worker_power() -> None:
    curves = TrueCurves(static_w=700, per_worker_w=350)
    stats = _stats(curves, [2, 4, 6, 8], per_degree=10, cv=0.03, seed=1)
    fit = fit_power(stats.replicas, stats.power_w, stats.power_se, np.arange(1, 17), CFG)
    assert fit.params["static_w"] == pytest.approx(700, rel=0.1)
    assert fit.params["per_worker_w"] == pytest.approx(350, rel=0.05)


@pytest.mark.parametrize(
    ("degrees", "pinned_usl", "static_pinned"),
    [
        ([4], (), True),  # one degree: a power-law prior, proportional power
        ([4, 6], ("kappa",), False),  # two: contention fitted, coherency pinned at 0
    ],
)
def test_parameters_the_data_cannot_identify_are_pinned(
    degrees: list[int], pinned_usl: tuple[str, ...], static_pinned: bool
) -> None:
    curves = TrueCurves(lam=100, sigma=0.05, kappa=0.004, static_w=300)
    stats = _stats(curves, degrees, per_degree=5, cv=0.02)
    grid = np.arange(1, 13)
    thr = fit_throughput(stats.replicas, stats.throughput_sps, stats.throughput_se, grid, CFG)
    pw = fit_power(stats.replicas, stats.power_w, stats.power_se, grid, CFG)
    for name in pinned_usl:
        assert thr.params[name] == 0.0
    assert thr.kind == ("prior" if len(degrees) == 1 else "usl")
    assert (pw.params["static_w"] == 0.0) is static_pinned
    if len(degrees) == 2:
        assert thr.params["sigma"] > 0.0


def test_band_widens_away_from_measurements_and_with_fewer_degrees() -> None:
    curves = TrueCurves()
    grid = np.arange(1, 17)
    one = _stats(curves, [4], per_degree=6, cv=0.02)
    three = _stats(curves, [3, 4, 5], per_degree=6, cv=0.02)
    fit_one = fit_throughput(one.replicas, one.throughput_sps, one.throughput_se, grid, CFG)
    fit_three = fit_throughput(
        three.replicas, three.throughput_sps, three.throughput_se, grid, CFG
    )
    rel_one = fit_one.sd / fit_one.mean
    rel_three = fit_three.sd / fit_three.mean
    # farther from degree 4, wider; fewer measured degrees, wider at the same place
    assert rel_one[12 - 1] > rel_one[6 - 1] > rel_one[4 - 1]
    assert rel_one[12 - 1] > rel_three[12 - 1]


def test_table_model_wins_on_a_node_boundary_step_and_usl_on_a_smooth_curve() -> None:
    grid = np.arange(1, 17)
    step = _stats(STEP, list(range(5, 13)), per_degree=6, cv=0.02)
    fit = fit_throughput(step.replicas, step.throughput_sps, step.throughput_se, grid, CFG)
    assert fit.kind == "table"
    for n in (8, 9):  # both sides of the step are where the measurements put them
        assert fit.at(n)[0] == pytest.approx(STEP.throughput_sps(n), rel=0.03)
    smooth = _stats(TrueCurves(), list(range(5, 13)), per_degree=6, cv=0.02)
    fit_smooth = fit_throughput(
        smooth.replicas, smooth.throughput_sps, smooth.throughput_se, grid, CFG
    )
    assert fit_smooth.kind == "usl"


def test_controller_predictions_cover_every_degree_and_mark_the_measured_ones() -> None:
    curves = TrueCurves()
    ctl = Controller(JobSpec(2, 9))
    curves.feed(ctl, [3, 5], per_degree=3)
    predictions = ctl.predictions()
    assert [p.replicas for p in predictions] == list(range(2, 10))
    assert {p.replicas for p in predictions if p.measured} == {3, 5}
    for p in predictions:
        assert p.energy_per_sample_j == pytest.approx(p.power_w / p.throughput_sps)


@pytest.mark.parametrize(
    ("degree", "measured", "expected"),
    [
        (4, [4, 8], 0.0),  # measured
        (6, [4, 8], (6 - 4) * (8 - 6) / 36),  # bracketed: shrinks towards both measurements
        (2, [4, 8], (4 - 2) / 4),  # below the range: relative to the edge
        (12, [4, 8], (12 - 8) / 12),  # above the range: relative to the degree
    ],
)
def test_relative_distance_interpolates_tightly_and_extrapolates_loosely(
    degree: int, measured: list[int], expected: float
) -> None:
    from autoscaler.decision.models import relative_distance

    got = relative_distance(np.array([degree]), np.array(measured))
    assert got[0] == pytest.approx(expected)


def test_refit_happens_only_when_new_windows_move_a_mean_beyond_its_noise() -> None:
    curves = TrueCurves()
    ctl = Controller(JobSpec(1, 12, total_samples=1e9))
    t_s = curves.feed(ctl, [3, 5], per_degree=30, cv=0.03, seed=2)
    first = ctl.predictions()
    ctl.observe(curves.window(5, t_s))  # the truth: moves the mean of 30 noisy windows a little
    assert ctl.predictions() is first
    far = TrueCurves(lam=130)  # a window far from the fitted level does move it
    ctl.observe(far.window(5, t_s + 30))
    assert ctl.predictions() is not first


@pytest.mark.parametrize(
    ("field", "value"),
    [("margin", -0.1), ("min_windows_per_degree", 0), ("drift_recent_windows", ())],
)
def test_policy_config_refuses_nonsense(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        PolicyConfig(**{field: value})  # type: ignore[arg-type]


def _random_problem(seed: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = np.arange(1.0, 9.0)
    design = np.column_stack((np.ones_like(n), n - 1, n * (n - 1)))[:, :columns]
    # targets with negative trends force some coefficients onto their bound
    y = design @ rng.normal(0.0, 1.0, columns) + rng.normal(0.0, 0.5, n.size)
    return design, y


@pytest.mark.parametrize(("seed", "columns"), [(s, c) for s in range(8) for c in (1, 2, 3)])
def test_non_negative_fit_over_normal_equations_is_the_exact_nnls_optimum(
    seed: int, columns: int
) -> None:
    from scipy.optimize import nnls

    from autoscaler.decision.fitting import nnls_normal

    design, y = _random_problem(seed, columns)
    got = nnls_normal(design.T @ design, design.T @ y)
    want, _norm = nnls(design, y)
    assert np.all(got >= 0.0)
    cost = float(np.sum((design @ got - y) ** 2))
    assert cost == pytest.approx(float(np.sum((design @ want - y) ** 2)), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_linearised_usl_fit_lands_on_the_nonlinear_least_squares_optimum(seed: int) -> None:
    from scipy.optimize import least_squares

    curves = TrueCurves(lam=100, sigma=0.04, kappa=0.003)
    stats = _stats(curves, list(range(1, 11)), per_degree=8, cv=0.03, seed=seed)
    n, x, se = stats.replicas.astype(float), stats.throughput_sps, stats.throughput_se
    fit = fit_throughput(stats.replicas, x, se, np.arange(1, 11), CFG)

    def residuals(t: np.ndarray) -> np.ndarray:
        out: np.ndarray = (t[0] * n / (1 + t[1] * (n - 1) + t[2] * n * (n - 1)) - x) / se
        return out

    ref = least_squares(residuals, [90.0, 0.05, 0.001], bounds=([0, 0, 0], [np.inf, 1, 1])).x
    assert fit.params["lam"] == pytest.approx(ref[0], rel=0.01)
    # curves agree far more tightly than their own noise
    ref_x = ref[0] * n / (1 + ref[1] * (n - 1) + ref[2] * n * (n - 1))
    assert np.max(np.abs(fit.mean - ref_x) / se) < 0.2


def test_one_odd_degree_is_down_weighted_instead_of_dragging_the_fit() -> None:
    from autoscaler.decision.fitting import robust_linear_fit

    truth = TrueCurves(lam=100, sigma=0.05, kappa=0.002)
    n = np.arange(1.0, 11.0)
    x = np.array([truth.throughput_sps(int(m)) for m in n])
    x[6] *= 0.85  # one degree 15 % low, many standard errors off
    rel_se = np.full(n.size, 0.01)
    design = np.column_stack((np.ones_like(n), n - 1, n * (n - 1)))
    coef, _cov, _fitted = robust_linear_fit(design, n / x, rel_se)
    w = 1.0 / (n / x * rel_se) ** 2
    plain = np.linalg.solve((design.T * w) @ design, (design.T * w) @ (n / x))
    target = np.array([1 / truth.lam, truth.sigma / truth.lam, truth.kappa / truth.lam])
    robust_err = np.abs(design @ coef - design @ target).max()
    plain_err = np.abs(design @ plain - design @ target).max()
    assert robust_err < 0.5 * plain_err


def test_superlinear_measurements_fit_no_negative_contention() -> None:
    n = np.array([2, 4, 6])
    x = np.array([200.0, 420.0, 650.0])  # better than linear: σ < 0 would fit, but is no USL
    se = 0.01 * x
    fit = fit_throughput(n, x, se, np.arange(1, 9), CFG)
    assert fit.params["sigma"] >= 0.0
    assert fit.params["kappa"] >= 0.0
    assert np.all(np.isfinite(fit.mean)) and np.all(fit.sd > 0)


def test_retrograde_pair_fits_on_the_contention_bound_not_beyond_the_data() -> None:
    # two degrees, the larger slower: with κ pinned, only σ > 1 would follow; σ stops at 1
    # (flat throughput) and λ is fitted under that bound, between the two measurements
    n = np.array([12, 16])
    x = np.array([400.0, 360.0])
    fit = fit_throughput(n, x, 0.01 * x, np.arange(1, 17), CFG)
    assert fit.params["sigma"] == pytest.approx(1.0)
    for degree in (12, 16):
        assert 360.0 <= fit.at(degree)[0] <= 400.0


@pytest.mark.parametrize(
    ("static_w", "expected_at_2", "expected_at_4"),
    [
        (0.0, 80.0, 160.0),  # nothing known: P1·n
        (30.0, 50.0, 70.0),  # local mode's --static-power 30W, charged once: 30 + 10·n
        (40.0, 80.0, 160.0),  # not below the measured 40 W: contradicts the data, ignored
    ],
)
def test_one_degree_power_prior_charges_a_known_static_draw_once(
    static_w: float, expected_at_2: float, expected_at_4: float
) -> None:
    n, p, se = np.array([1]), np.array([40.0]), np.array([0.2])
    fit = fit_power(n, p, se, np.arange(1, 5), CFG, known_static_w=static_w)
    assert fit.mean[1] == pytest.approx(expected_at_2)
    assert fit.mean[3] == pytest.approx(expected_at_4)
    assert fit.mean[0] == pytest.approx(40.0)


def test_the_controller_passes_the_jobs_static_draw_to_the_power_prior() -> None:
    def power_at_2(static_w: float) -> float:
        ctl = Controller(JobSpec(1, 4, static_power_w=static_w))
        for i in range(4):
            ctl.observe(Window(start_s=30.0 * i, end_s=30.0 * (i + 1), replicas=1,
                               throughput_sps=100.0, power_w=40.0, energy_j=1200.0,
                               samples=3000.0, source="estimate"))  # fmt: skip
        return next(p.power_w for p in ctl.predictions() if p.replicas == 2)

    assert power_at_2(0.0) == pytest.approx(80.0, rel=0.01)
    assert power_at_2(30.0) == pytest.approx(50.0, rel=0.01)
    with pytest.raises(ValueError, match="static_power_w"):
        JobSpec(1, 4, static_power_w=-1.0)
