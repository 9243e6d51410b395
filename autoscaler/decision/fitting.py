"""Online fits of throughput(n) and power(n) from per-degree means, with uncertainty.

Identifiability decides what is fitted: one measured degree cannot tell contention from
coherency cost, nor static from per-worker power, so those parameters are pinned (σ = κ = 0,
P0 = 0: linear scaling, proportional power — a neutral prior under which every degree has the
same energy per sample) and the band around unmeasured degrees is wide. Two degrees fit λ and σ
(κ = 0) and both power terms; three or more fit everything.

Both models are fitted as *linear* least squares with non-negative coefficients, which is
exact, needs no starting point and costs a few small matrix operations — the fit runs for every
job whose per-degree means moved, so it must be cheap (an operator decides for a thousand jobs
per pass). Power is linear in (P0, p) already. The USL linearises:

    n / X(n) = a + b·(n−1) + c·n(n−1),   a = 1/λ, b = σ/λ, c = κ/λ

so a, b, c ≥ 0 is σ, κ ≥ 0. Each degree's n/X is weighted by its standard error, n/X times the
relative standard error of the mean X; after the first solve the weights use the fitted n/X,
which makes every residual, to first order, the same number of standard errors as the miss in
X itself. Robustness: Huber re-weighting (at most two extra solves, only when a degree misses
by more than ``_HUBER_K`` standard errors), so one odd degree does not drag the curve. The
band comes from the covariance of (a, b, c) — Var(n/X(m)) = dᵀ·Cov·d, d = (1, m−1, m(m−1)) —
carried to X(m) = m / (dᵀ·coef) by the delta method, plus a model-error term that grows with
the relative distance to the measurements and with every pinned parameter.
When the smooth model misses the measurements by more than their noise allows, the table model
(see :func:`autoscaler.decision.models.table_curve`) replaces it: the data decide.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy.special import chdtri

from autoscaler.decision.config import PolicyConfig
from autoscaler.decision.models import (
    Curve,
    relative_distance,
    table_curve,
    usl_throughput_sps,
)

_HUBER_K = 2.0  # residual (standard errors) beyond which a degree's weight is cut
_REWEIGHTS = 2  # Huber re-weighting solves after the first, at most
_USL_MAX = 1.0  # upper bound of σ and κ (a degree past it is not a scaling job)


def _solve(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    try:
        z: np.ndarray = np.linalg.solve(g, h)
    except np.linalg.LinAlgError:
        z, *_ = np.linalg.lstsq(g, h, rcond=None)
    return z


def nnls_normal(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """min ‖A·z − y‖² subject to z ≥ 0, given G = AᵀA and h = Aᵀy (at most three columns).

    The constrained optimum is the unconstrained optimum on its own support, so trying every
    support (at most seven) and keeping the best feasible one is exact — and cheaper than a
    general solver for so few columns. Columns are scaled to unit norm first (n(n−1) dwarfs 1).
    """
    scale = np.sqrt(np.diag(g))
    scale = np.where(scale > 0, scale, 1.0)
    gs, hs = g / np.outer(scale, scale), h / scale
    z = _solve(gs, hs)
    if z.min() >= 0.0:
        out: np.ndarray = z / scale
        return out
    k = hs.size
    best, best_cost = np.zeros(k), 0.0  # cost of z = 0, relative to ‖y‖²
    for mask in range(1, (1 << k) - 1):
        idx = [i for i in range(k) if mask >> i & 1]
        sub = _solve(gs[np.ix_(idx, idx)], hs[idx])
        cost = -float(hs[idx] @ sub)  # ‖A z − y‖² − ‖y‖² at the support's optimum
        if sub.min() >= 0.0 and cost < best_cost:
            best, best_cost = np.zeros(k), cost
            best[idx] = sub
    result: np.ndarray = best / scale
    return result


def robust_linear_fit(
    design: np.ndarray,
    y: np.ndarray,
    rel_se: np.ndarray,
    solve: Callable[[np.ndarray, np.ndarray], np.ndarray] = nnls_normal,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-negative weighted linear fit with Huber re-weighting: (coef, covariance, fitted y).

    The standard error of ``y`` is ``rel_se`` times its value — the observed one for the first
    solve, the fitted one afterwards (noise scales with the level, not with one noisy draw).
    ``solve(G, h)`` solves the normal equations under the model's constraints. The covariance
    uses plain (not Huber) weights and ignores the constraints (a bound met by the data is no
    certainty), inflated by the reduced chi-square when the scatter exceeds the stated noise.
    """
    se = np.abs(y) * rel_se
    robust = np.ones_like(y)
    coef = np.zeros(design.shape[1])
    for attempt in range(_REWEIGHTS + 1):
        w = robust / (se * se)
        coef = solve((design.T * w) @ design, (design.T * w) @ y)
        fitted = design @ coef
        se = np.maximum(np.abs(fitted), 1e-300) * rel_se
        r = np.abs(y - fitted) / se
        if attempt == _REWEIGHTS or r.max() <= _HUBER_K:
            break
        robust = np.where(r > _HUBER_K, _HUBER_K / np.maximum(r, 1e-12), 1.0)
    w = 1.0 / (se * se)
    g = (design.T * w) @ design
    dof = y.size - design.shape[1]
    chi2 = float(r @ r)
    try:
        cov: np.ndarray = np.linalg.inv(g)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(g)
    cov *= max(1.0, chi2 / dof) if dof > 0 else 1.0
    return coef, cov, fitted


@lru_cache(maxsize=512)
def _distance(lo: int, hi: int, measured: tuple[int, ...]) -> np.ndarray:
    """Relative distance of every degree lo..hi to the measured ones (shared by both fits)."""
    rel = relative_distance(np.arange(lo, hi + 1), np.array(measured, dtype=np.int64))
    rel.setflags(write=False)
    return rel


@lru_cache(maxsize=64)
def _chi2_limit(dof: int, p: float) -> float:
    return float(chdtri(dof, p))


def _finish(
    kind: str,
    params: dict[str, float],
    pinned: int,
    free: int,
    ext: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    grid: np.ndarray,
    n: np.ndarray,
    y: np.ndarray,
    fitted_y: np.ndarray,
    se: np.ndarray,
    cfg: PolicyConfig,
) -> Curve:
    """Band on the extended grid ``ext``; switch to the table when the model misses the data.

    ``mean``/``var``: the model and the variance of its free parameters at ``ext``;
    ``fitted_y``: the model at the measured degrees ``n``.
    """
    # Model error grows with the relative distance to the measurements (scaling is
    # multiplicative), and with every parameter pinned for lack of data: a pinned κ = 0 is an
    # assumption, and its error is not in the covariance of the free parameters.
    rel_dist = _distance(int(ext[0]), int(ext[-1]), tuple(int(v) for v in n))
    floor = cfg.extrapolation_cv * (1 + pinned) * rel_dist * np.abs(mean)
    # Far from the data, the free parameters' covariance can explode (κ from three close
    # degrees); more data must not make a prediction less certain than the one-degree prior.
    cap = cfg.extrapolation_cv * (pinned + free) * rel_dist * np.abs(mean)
    var = np.where(rel_dist > 0, np.minimum(np.maximum(var, 0.0), cap**2), np.maximum(var, 0.0))
    sd = np.sqrt(var + floor**2)
    note = f"{kind} fit on {n.size} degree(s)"
    miss = np.abs(fitted_y - y)
    dof = n.size - free
    # The smooth model fails when one degree is off by table_z standard errors, or when the
    # misses together are too large for chance (chi-square at table_p); either way at least
    # one must matter (table_min_rel), or noise-level quibbles would swap models.
    z = miss / se
    chi2 = float(z @ z)
    misfit = z.max() > cfg.table_z or (dof > 0 and chi2 > _chi2_limit(dof, cfg.table_p))
    if dof > 0 and misfit and np.any(miss > cfg.table_min_rel * y):
        worst = int(n[np.argmax(z)])
        t_mean, t_sd = table_curve(ext, n.astype(np.int64), y, se, mean)
        t_sd = np.sqrt(t_sd**2 + floor**2)
        note = f"table: {kind} misses the measurement at {worst} beyond its noise"
        kind, mean, sd = "table", t_mean, t_sd
    i0 = int(grid[0] - ext[0])
    keep = slice(i0, i0 + grid.size)
    return Curve(kind=kind, grid=grid, mean=mean[keep], sd=sd[keep], params=params, note=note)


def _extended(grid: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The grid widened to every measured degree (a table edge may lie outside the bounds)."""
    lo, hi = int(min(grid[0], n[0])), int(max(grid[-1], n[-1]))
    return np.arange(lo, hi + 1, dtype=float)


def _usl_design(m: np.ndarray) -> np.ndarray:
    return np.column_stack((np.ones_like(m), m - 1.0, m * (m - 1.0)))


def _usl_solve(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """(a, b[, c]) ≥ 0 with σ = b/a ≤ 1: when the data want more contention than that (a
    retrograde pair of degrees with κ pinned), re-solve exactly on the bound b = a."""
    coef = nnls_normal(g, h)
    if coef.size < 2 or coef[1] <= _USL_MAX * coef[0]:
        return coef
    t = np.zeros((coef.size, coef.size - 1))  # full = t @ reduced, reduced = (a[, c])
    t[0, 0], t[1, 0] = 1.0, _USL_MAX
    if coef.size == 3:
        t[2, 1] = 1.0
    full: np.ndarray = t @ nnls_normal(t.T @ g @ t, t.T @ h)
    return full


def fit_throughput(
    n: np.ndarray, x: np.ndarray, se: np.ndarray, grid: np.ndarray, cfg: PolicyConfig
) -> Curve:
    """USL fit of per-degree mean throughput (pinning what the degrees cannot identify).

    ``n`` sorted ascending and distinct (as :class:`~autoscaler.decision.history.DegreeStats`).
    """
    n = n.astype(float)
    if n.size == 1:
        return _one_degree(n, x, se, grid, cfg)
    free = min(n.size, 3)
    coef, cov, _fitted = robust_linear_fit(_usl_design(n)[:, :free], n / x, se / x, _usl_solve)
    full = np.zeros(3)
    full[:free] = coef
    if full[0] <= 0.0:  # a = 1/λ: zero only if every degree scaled "infinitely"; be neutral
        full[0] = float(np.mean(n / x))
    full[2] = min(full[2], _USL_MAX * full[0])  # κ ≤ 1 (σ ≤ 1 is solved for exactly)
    lam, sigma, kappa = (float(v) for v in (1.0 / full[0], full[1] / full[0], full[2] / full[0]))
    ext = _extended(grid, n)
    d = _usl_design(ext)
    mean = usl_throughput_sps(ext, lam, sigma, kappa)
    # delta method: dX/d(m/X) = −X²/m
    var = np.einsum("ij,jk,ik->i", d[:, :free], cov, d[:, :free]) * (mean * mean / ext) ** 2
    params = {"lam": lam, "sigma": sigma, "kappa": kappa}
    fitted_x = usl_throughput_sps(n, lam, sigma, kappa)  # after the bound and fallback above
    return _finish("usl", params, 3 - free, free, ext, mean, var, grid, n, x, fitted_x, se, cfg)


def _one_degree(
    n: np.ndarray, x: np.ndarray, se: np.ndarray, grid: np.ndarray, cfg: PolicyConfig
) -> Curve:
    """One measured degree says nothing about the shape: X(m) = X(n)·(m/n)^α with α uncertain.

    α = 1 is linear scaling, 0 no gain, below 0 a job slower with more workers (all-reduce
    bound). The prior α ~ N(``prior_scaling_exponent``, ``prior_scaling_sd``) keeps all three
    inside the band, so a job submitted at its maximum can see that fewer workers might be
    faster — a linear λ-only fit would say "surely slower" and never look down.
    """
    ext = _extended(grid, n)
    ratio = np.log(ext / n[0])
    mean = x[0] * np.exp(cfg.prior_scaling_exponent * ratio)
    rel = np.hypot(cfg.prior_scaling_sd * ratio, se[0] / x[0])
    i0 = int(grid[0] - ext[0])
    keep = slice(i0, i0 + grid.size)
    params = {"lam": float(x[0] / n[0]), "alpha": cfg.prior_scaling_exponent}
    return Curve(kind="prior", grid=grid, mean=mean[keep], sd=(mean * rel)[keep], params=params,
                 note=f"one degree measured ({int(n[0])}): power-law prior")


def fit_power(
    n: np.ndarray, p: np.ndarray, se: np.ndarray, grid: np.ndarray, cfg: PolicyConfig,
    nodes: Callable[[np.ndarray], np.ndarray] | None = None, known_static_w: float = 0.0,
) -> Curve:
    """Linear power fit of per-degree mean power (P0 pinned with one degree: to the known
    ``known_static_w`` where the caller knows one below the measured power, else to 0).

    With ``nodes`` (degree -> nodes spanned) and measured degrees on at least two node counts
    among three or more degrees, a per-node term is fitted too: P(n) = P0 + p·n + q·nodes(n),
    the host and idle devices each allocated node keeps drawing.
    """
    n = n.astype(float)
    both = n.size >= 2
    columns = [np.ones_like(n), n] if both else [n]
    per_node = nodes is not None and n.size >= 3 and np.unique(nodes(n)).size >= 2
    if per_node:
        assert nodes is not None
        columns.append(nodes(n).astype(float))
    design = np.column_stack(columns)
    known = known_static_w if not both and 0.0 < known_static_w < float(p[0]) else 0.0
    coef, cov, fitted = robust_linear_fit(design, p - known, se / (p - known))
    fitted = fitted + known
    static_w, per_worker_w = (float(coef[0]), float(coef[1])) if both else (known, float(coef[0]))
    ext = _extended(grid, n)
    if both:
        d = np.column_stack([np.ones_like(ext), ext] + ([nodes(ext)] if per_node and nodes
                                                         else []))
    else:
        d = ext[:, None]
    mean = d @ coef + known
    var = np.einsum("ij,jk,ik->i", d, cov, d)
    params = {"static_w": static_w, "per_worker_w": per_worker_w}
    if per_node:
        params["per_node_w"] = float(coef[2])
    pinned, free = (0, design.shape[1]) if both else (1, 1)
    return _finish("linear", params, pinned, free, ext, mean, var, grid, n, p, fitted, se, cfg)


# Shared with other power models (autoscaler.decision.power_split).
finish_curve = _finish
extended_grid = _extended
