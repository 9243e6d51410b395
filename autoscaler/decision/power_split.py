"""Power per worker that falls while the worker waits on the network.

A GPU computing draws more than one blocked in an all-reduce. When the windows carry the
step's split (``step_s``, ``sync_s``), a worker's draw is

    p_busy·u(n) + p_wait·(1 − u(n)),    u(n) = compute share of the step at degree n,

so the job's power is P(n) = P0 + n·(p_wait + (p_busy − p_wait)·u(n)) [+ q·nodes(n)]. It is
fitted as a non-negative linear least squares in (P0, p_wait, d = p_busy − p_wait [, q]):
columns 1, n, n·u(n) [, nodes(n)]. Writing p_busy = p_wait + d with d ≥ 0 keeps the physics
(waiting never draws more than computing) inside the solver's bounds, and d = 0 is exactly
today's linear model, so nothing is lost when the data show no difference.

Identifiability: the n and n·u columns separate only when the compute share differs between
measured degrees (a job whose share is the same everywhere cannot tell busy from waiting
draw). Below ``MIN_SHARE_SPREAD`` of spread in u, with fewer measured degrees than
coefficients, or when the fitted difference d is not ``SPLIT_Z`` standard errors above zero
(the data do not show it), the caller gets :func:`autoscaler.decision.fitting.fit_power`
unchanged: a measured difference is used, an assumed one is not.

At an unmeasured degree u(m) is the step model's prediction (:func:`busy_share`); its
uncertainty adds (d·m)²·Var(u(m)) to the band. Pure numpy, no I/O.

Use (the controller's power fit, where ``split`` and the step ``model`` are at hand)::

    share = grid_share = None
    if split is not None:
        share, grid_share = measured_busy_share(split), busy_share(model, grid)
    pw = fit_power_split(stats.replicas, stats.power_w, stats.power_se, grid, cfg,
                         share, grid_share, nodes=...)   # what fit_power gets today
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from autoscaler.decision.config import PolicyConfig
from autoscaler.decision.fitting import extended_grid, finish_curve, fit_power, robust_linear_fit
from autoscaler.decision.models import Curve
from autoscaler.decision.step_model import StepModel, StepStats

MIN_SHARE_SPREAD = 0.05  # compute shares must differ this much across measured degrees
SPLIT_Z = 2.0  # busy − waiting draw must exceed this many standard errors to be kept


def measured_busy_share(stats: StepStats) -> np.ndarray:
    """Compute share of the step, compute / (compute + sync), at each measured degree."""
    step = np.maximum(stats.compute_s + stats.sync_s, 1e-12)
    share: np.ndarray = np.clip(stats.compute_s / step, 0.0, 1.0)
    return share


def busy_share(model: StepModel, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted compute share (mean, sd) at every degree of ``grid`` from the step model."""
    pred = model.predict(grid.astype(float))
    step = np.maximum(pred.step_s, 1e-12)
    share = np.clip(1.0 - pred.sync_s / step, 0.0, 1.0)
    return share, pred.sync_sd_s / step


def fit_power_split(
    n: np.ndarray, p: np.ndarray, se: np.ndarray, grid: np.ndarray, cfg: PolicyConfig,
    share: np.ndarray | None, share_grid: tuple[np.ndarray, np.ndarray] | None,
    nodes: Callable[[np.ndarray], np.ndarray] | None = None, known_static_w: float = 0.0,
) -> Curve:
    """Power with a busy and a waiting per-worker draw, or today's fit where that is not
    identified (no split, too few degrees, shares too alike).

    ``n``, ``p``, ``se``: measured degrees (sorted), their mean power and standard errors;
    ``share``: the compute share measured at each of them; ``share_grid``: (mean, sd) of the
    compute share at every degree of ``grid`` (measured ones included); ``known_static_w``: a
    known draw that does not grow with n, for the one-degree prior (:func:`fit_power`).
    """
    k = n.astype(float)
    with_nodes = nodes is not None and k.size >= 3 and np.unique(nodes(k)).size >= 2
    width = 4 if with_nodes else 3
    if (share is None or share_grid is None or k.size < width
            or float(np.ptp(share)) < MIN_SHARE_SPREAD):
        return fit_power(n, p, se, grid, cfg, nodes=nodes, known_static_w=known_static_w)
    columns = [np.ones_like(k), k, k * share]
    if with_nodes:
        assert nodes is not None
        columns.append(nodes(k).astype(float))
    coef, cov, fitted = robust_linear_fit(np.column_stack(columns), p, se / p)
    if coef[2] < SPLIT_Z * math.sqrt(max(float(cov[2, 2]), 0.0)):
        # The data do not show waiting drawing less than computing beyond their noise: one
        # more free parameter would only widen the band and chase noise (a spurious split
        # moved a realistic-suite run to a degree its own measurements called worse).
        return fit_power(n, p, se, grid, cfg, nodes=nodes, known_static_w=known_static_w)
    ext = extended_grid(grid, k)
    u_mean, u_sd = _share_on(ext, grid, share_grid, k, share)
    d = [np.ones_like(ext), ext, ext * u_mean]
    if with_nodes:
        assert nodes is not None
        d.append(nodes(ext).astype(float))
    design = np.column_stack(d)
    mean = design @ coef
    var = np.einsum("ij,jk,ik->i", design, cov, design) + (coef[2] * ext * u_sd) ** 2
    params = {"static_w": float(coef[0]), "wait_w": float(coef[1]),
              "busy_w": float(coef[1] + coef[2]),
              "per_worker_w": float(coef[1] + coef[2] * np.mean(u_mean))}  # at the mean share
    if with_nodes:
        params["per_node_w"] = float(coef[3])
    return finish_curve("linear", params, 0, width, ext, mean, var, grid, k, p, fitted, se, cfg)


def _share_on(
    ext: np.ndarray, grid: np.ndarray, share_grid: tuple[np.ndarray, np.ndarray],
    measured: np.ndarray, measured_share: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The compute share on the extended grid: the step model's on ``grid``, the measured one
    at measured degrees (a measurement beats a model), the nearest edge's beyond ``grid``."""
    g = grid.astype(float)
    mean = np.interp(ext, g, share_grid[0])
    sd = np.interp(ext, g, share_grid[1])
    at = np.searchsorted(ext, measured)
    mean[at], sd[at] = measured_share, 0.0
    return mean, sd


__all__ = ["MIN_SHARE_SPREAD", "SPLIT_Z", "busy_share", "fit_power_split", "measured_busy_share"]
