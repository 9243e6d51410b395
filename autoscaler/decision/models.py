"""Scaling models of a job: throughput(n) and power(n), and the curves fitted from them.

- Throughput: the Universal Scalability Law, X(n) = λ·n / (1 + σ(n−1) + κ·n(n−1)). σ models
  contention (Amdahl when κ = 0), κ coherency cost (retrograde scaling past a peak).
- Power: P(n) = P0 + p·n. P0 is power charged to the job that does not scale with workers
  (host, network, idle devices); p is per-worker power.
- Table: measured means at measured degrees, linear in between, and the smooth model's shape
  anchored to the nearest measurement outside. It wins when the smooth model cannot follow the
  measurements (a throughput drop where a job crosses a node boundary).

A :class:`Curve` is a model evaluated on every degree of the job's range, with a one-sigma band.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def usl_throughput_sps(n: np.ndarray, lam: float, sigma: float, kappa: float) -> np.ndarray:
    """USL throughput at degrees ``n`` (samples/s)."""
    n = np.asarray(n, dtype=float)
    return lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def linear_power_w(n: np.ndarray, static_w: float, per_worker_w: float) -> np.ndarray:
    """Linear power at degrees ``n`` (W)."""
    return static_w + per_worker_w * np.asarray(n, dtype=float)


@dataclass(frozen=True)
class Curve:
    """A fitted curve on the grid ``min..max``: mean and one-sigma band per degree."""

    kind: str  # "usl", "linear", "table", "prior"
    grid: np.ndarray  # int degrees min..max
    mean: np.ndarray
    sd: np.ndarray
    params: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def at(self, replicas: int) -> tuple[float, float]:
        i = int(replicas - self.grid[0])
        return float(self.mean[i]), float(self.sd[i])


def table_curve(
    grid: np.ndarray,
    measured_n: np.ndarray,
    measured_mean: np.ndarray,
    measured_se: np.ndarray,
    smooth: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-linear curve through the measured means.

    Between measured degrees: linear interpolation (means and standard errors). Outside the
    measured range: the smooth model's prediction scaled by its ratio to the measurement at the
    nearest measured edge, so the step seen in the data carries over without inventing a shape.
    """
    xs = measured_n.astype(float)
    mean = np.interp(grid, xs, measured_mean)
    sd = np.interp(grid, xs, measured_se)
    lo, hi = int(measured_n[0]), int(measured_n[-1])
    smooth_lo = smooth[lo - int(grid[0])]
    smooth_hi = smooth[hi - int(grid[0])]
    below = grid < lo
    above = grid > hi
    if smooth_lo > 0:
        mean[below] = smooth[below] * (measured_mean[0] / smooth_lo)
    if smooth_hi > 0:
        mean[above] = smooth[above] * (measured_mean[-1] / smooth_hi)
    return mean, sd


def relative_distance(grid: np.ndarray, measured_n: np.ndarray) -> np.ndarray:
    """How far each degree is from what was measured, relative to the degree (0 where measured).

    Outside the measured range: |m − edge| / max(m, edge), the error of extrapolating grows
    with the distance. Between measured degrees a < m < b: (m − a)(b − m) / m², the error of
    interpolating shrinks towards both brackets (as in polynomial interpolation).
    """
    m = grid.astype(float)
    lo, hi = float(measured_n.min()), float(measured_n.max())
    sorted_n = np.sort(measured_n).astype(float)
    right = np.searchsorted(sorted_n, m, side="left").clip(0, sorted_n.size - 1)
    left = (np.searchsorted(sorted_n, m, side="right") - 1).clip(0, sorted_n.size - 1)
    inside: np.ndarray = (m - sorted_n[left]) * (sorted_n[right] - m) / (m * m)
    edge = np.clip(m, lo, hi)
    outside = np.abs(m - edge) / np.maximum(m, edge)
    rel: np.ndarray = np.where((m >= lo) & (m <= hi), inside, outside)
    return rel


ANCHOR_Z = 2.0  # a model that misses a measured mean by more than this many SE yields to it


def anchor_measured(
    grid: np.ndarray, mean: np.ndarray, sd: np.ndarray, measured: np.ndarray,
    measured_mean: np.ndarray, measured_se: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A measurement beats a model: at a measured degree whose measurement the model misses by
    more than ``ANCHOR_Z`` standard errors, the measured mean and its standard error replace
    what the model says. Within that, the model — which pools every degree's windows — is the
    better estimate of a noisy degree. Degrees outside ``grid`` are ignored."""
    mean, sd = mean.copy(), sd.copy()
    idx = measured.astype(np.int64) - int(grid[0])
    inside = (idx >= 0) & (idx < grid.size)
    at, obs, se = idx[inside], measured_mean[inside], measured_se[inside]
    contradicts = np.abs(mean[at] - obs) > ANCHOR_Z * np.maximum(se, 1e-12)
    mean[at[contradicts]] = obs[contradicts]
    sd[at[contradicts]] = se[contradicts]
    return mean, sd


def anchored(curve: Curve, measured: np.ndarray, measured_mean: np.ndarray,
             measured_se: np.ndarray) -> Curve:
    """``curve`` with its measured degrees replaced by the measurements."""
    mean, sd = anchor_measured(curve.grid, curve.mean, curve.sd, measured, measured_mean,
                               measured_se)
    return Curve(kind=curve.kind, grid=curve.grid, mean=mean, sd=sd, params=curve.params,
                 note=curve.note)
