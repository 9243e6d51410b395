"""The measurement history of one job: which windows may enter the fit, and what they say per
degree.

Only steady-state windows are fitted: a window must be ``Quality.OK`` with positive throughput
and power, and must not start inside the warm-up after a resize (rendezvous, restart and cache
warm-up make those windows describe the resize, not the degree). When the measurements at the
current degree move away from their own past (a phase change of the job), everything measured
before the change *at that degree* is forgotten. Windows at other degrees are kept but marked
stale: they still inform the fit, with their standard errors widened (``stale_se_factor``), and
count as unmeasured, so the policy may re-measure them; the first fresh window at a stale degree
replaces its old ones. Forgetting them outright let one noisy degree erase what was measured
at the others, and the engine then held at the noisy one on the word of a fit without them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, stdtrit

from autoscaler.decision.config import PolicyConfig
from autoscaler.decision.types import Quality, Window


@dataclass(frozen=True)
class DegreeStats:
    """Per-degree summaries of the fitted windows, as arrays sorted by degree.

    ``*_se`` are standard errors of the means (per-window noise pooled over degrees, divided by
    sqrt(count)), so the fit can weight a degree measured ten times above one measured once.
    """

    replicas: np.ndarray  # int degrees
    throughput_sps: np.ndarray
    throughput_se: np.ndarray
    power_w: np.ndarray
    power_se: np.ndarray
    count: np.ndarray
    throughput_cv: float
    power_cv: float
    stale: np.ndarray | None = None  # bool per degree: measured before the last drift only

    @property
    def fresh_replicas(self) -> np.ndarray:
        """Degrees measured since the last drift (what counts as measured)."""
        if self.stale is None:
            return self.replicas
        out: np.ndarray = self.replicas[~self.stale]
        return out

    @property
    def degrees(self) -> int:
        return int(self.replicas.size)


# The columns kept beside the windows (the step's split is NaN where a window lacks it).
COLUMNS = ("replicas", "throughput_sps", "power_w", "start_s", "step_s", "sync_s",
           "batch_per_worker", "nodes")


def _row(w: Window) -> np.ndarray:
    def num(v: float | int | None) -> float:
        return math.nan if v is None else float(v)

    return np.array([w.replicas, w.throughput_sps, w.power_w, w.start_s, num(w.step_s),
                     num(w.sync_s), num(w.batch_per_worker), num(w.nodes)])


def window_is_fittable(window: Window) -> bool:
    """A window may be fitted: OK quality, at least one replica, and finite, positive figures."""
    figures = (window.throughput_sps, window.power_w, window.start_s, window.end_s)
    return (
        window.quality is Quality.OK
        and window.replicas >= 1
        and all(math.isfinite(x) for x in figures)
        and window.throughput_sps > 0
        and window.power_w > 0
        and window.end_s > window.start_s
    )


class History:
    """Fittable windows, oldest first, with drift detection at the degree being measured.

    Columns (degree, throughput, power, start) are kept as arrays next to the windows so that
    summaries cost a few vector operations, and summaries are cached per ``version``.
    """

    def __init__(self, config: PolicyConfig) -> None:
        self._config = config
        self.windows: list[Window] = []
        self.version = 0  # bumps whenever the fittable set changes (fit cache key)
        self.drift_at_s: float | None = None
        self._cols = np.zeros((0, len(COLUMNS)))
        self._stats: tuple[int, DegreeStats | None] = (-1, None)

    def add(self, window: Window) -> bool:
        """Add a fittable window; returns True when it caused a drift reset."""
        if self.drift_at_s is not None and window.start_s >= self.drift_at_s:
            self._drop_stale_at(window.replicas)
        self.windows.append(window)
        row = _row(window)[None, :]
        self._cols = np.concatenate((self._cols, row))
        self._trim(window.replicas)
        self.version += 1
        return self._forget_on_drift(window.replicas)

    def _trim(self, replicas: int) -> None:
        """Keep at most ``history_per_degree`` windows per degree, dropping the oldest at the
        degree just measured: a long stay at one degree must not push out what was learned
        about the others."""
        same = np.flatnonzero(self._cols[:, 0] == replicas)
        excess = same.size - self._config.history_per_degree
        if excess <= 0:
            return
        for i in reversed(same[:excess].tolist()):
            del self.windows[i]
        self._cols = np.delete(self._cols, same[:excess], axis=0)

    def _drop_stale_at(self, replicas: int) -> None:
        """A fresh window at a stale degree: its windows from before the drift go."""
        assert self.drift_at_s is not None
        old = (self._cols[:, 0] == replicas) & (self._cols[:, 3] < self.drift_at_s)
        if not old.any():
            return
        self.windows = [w for w, o in zip(self.windows, old, strict=True) if not o]
        self._cols = self._cols[~old]

    def restore(self, windows: list[Window], drift_at_s: float | None) -> None:
        self.windows = list(windows)
        self._cols = np.array([_row(w) for w in windows], dtype=float).reshape(-1, len(COLUMNS))
        self.drift_at_s = drift_at_s
        self.version += 1

    @property
    def columns(self) -> np.ndarray:
        """One row per window, :data:`COLUMNS` (read-only view; NaN: not reported)."""
        view = self._cols.view()
        view.setflags(write=False)
        return view

    def count_at(self, replicas: int, since_s: float) -> int:
        c = self._cols
        return int(np.count_nonzero((c[:, 0] == replicas) & (c[:, 3] >= since_s)))

    def stats(self) -> DegreeStats | None:
        """Per-degree means and standard errors, or None without any window."""
        if self._stats[0] == self.version:
            return self._stats[1]
        result = self._compute_stats() if self.windows else None
        self._stats = (self.version, result)
        return result

    def _compute_stats(self) -> DegreeStats:
        # Degrees are small non-negative ints: bincount groups them without np.unique's sort,
        # and a per-degree lookup table maps each window to its degree's mean.
        n, x, p = self._cols[:, 0].astype(np.int64), self._cols[:, 1], self._cols[:, 2]
        per_degree = np.bincount(n)
        degrees = np.flatnonzero(per_degree)
        count = per_degree[degrees]
        safe = np.maximum(per_degree, 1)
        x_by_degree = np.bincount(n, weights=x) / safe
        p_by_degree = np.bincount(n, weights=p) / safe
        dof = int(n.size - degrees.size)
        x_cv = self._pooled_cv(x / x_by_degree[n] - 1.0, dof)
        p_cv = self._pooled_cv(p / p_by_degree[n] - 1.0, dof)
        x_mean, p_mean = x_by_degree[degrees], p_by_degree[degrees]
        root = np.sqrt(count)
        stale = np.zeros(degrees.size, dtype=bool)
        if self.drift_at_s is not None:
            before = np.bincount(n, weights=(self._cols[:, 3] < self.drift_at_s).astype(float))
            stale = before[degrees] > 0
        # A stale degree's mean may have moved by any amount the drift moved the job: its
        # standard error is at least stale_cv of the mean, so exploration may look again.
        floor = np.where(stale, self._config.stale_cv, 0.0)
        x_rel = np.maximum(x_cv / root * np.where(stale, self._config.stale_se_factor, 1.0), floor)
        p_rel = np.maximum(p_cv / root * np.where(stale, self._config.stale_se_factor, 1.0), floor)
        return DegreeStats(
            replicas=degrees,
            throughput_sps=x_mean,
            throughput_se=x_mean * x_rel,
            power_w=p_mean,
            power_se=p_mean * p_rel,
            count=count,
            throughput_cv=x_cv,
            power_cv=p_cv,
            stale=stale,
        )

    def _pooled_cv(self, rel: np.ndarray, dof: int) -> float:
        """Relative per-window noise pooled over degrees (``rel``: each window's relative
        deviation from its degree's mean); the prior until two windows agree."""
        if dof < 1:
            return self._config.prior_cv
        cv = math.sqrt(float(np.dot(rel, rel)) / dof)
        # Few windows give a noisy noise estimate: do not trust one below the prior early on.
        weight = dof / (dof + 4.0)
        blended = weight * cv + (1.0 - weight) * self._config.prior_cv
        return max(blended, self._config.min_cv)

    def _forget_on_drift(self, replicas: int) -> bool:
        """Forget everything before a level shift in the recent run at ``replicas``."""
        same = self._cols[self._cols[:, 0] == replicas]
        if not self._moved(same[:, 1:3]):
            return False
        cut_s = float(same[_change_point(same[:, 1:3]), 3])
        keep = (self._cols[:, 3] >= cut_s) | (self._cols[:, 0] != replicas)
        self.windows = [w for w, k in zip(self.windows, keep, strict=True) if k]
        self._cols = self._cols[keep]
        self.drift_at_s = cut_s
        self.version += 1
        return True

    def _moved(self, values: np.ndarray) -> bool:
        """Did the last r rows (r in ``drift_recent_windows``) leave the level of the rows
        before them, in throughput or power? Two-sample test on the means, noise pooled within
        both groups (a level shift between them does not inflate it), all sizes at once."""
        cfg = self._config
        k = values.shape[0]
        recent = np.array([r for r in cfg.drift_recent_windows if k - r >= 3], dtype=np.int64)
        if recent.size == 0:
            return False
        s1 = np.vstack((np.zeros(2), np.cumsum(values, axis=0)))
        s2 = np.vstack((np.zeros(2), np.cumsum(values * values, axis=0)))
        n_a = (k - recent)[:, None].astype(float)
        n_b = recent[:, None].astype(float)
        sum_a, sum_b = s1[k - recent], s1[k] - s1[k - recent]
        sq_a, sq_b = s2[k - recent], s2[k] - s2[k - recent]
        mean_a, mean_b = sum_a / n_a, sum_b / n_b
        ss = np.maximum(sq_a - sum_a * mean_a, 0.0) + np.maximum(sq_b - sum_b * mean_b, 0.0)
        cv = np.maximum(np.sqrt(ss / (n_a + n_b - 2.0)) / mean_a, cfg.min_cv)
        se = mean_a * cv * np.sqrt(1.0 / n_a + 1.0 / n_b)
        diff = np.abs(mean_b - mean_a)
        # Few windows estimate the noise poorly: use Student's t quantile for the same tail
        # probability as drift_z standard errors, or small groups flag drift on noise alone.
        tail = float(ndtr(-cfg.drift_z))
        limit = stdtrit(n_a + n_b - 2.0, 1.0 - tail)
        return bool(np.any((diff > limit * se) & (diff > cfg.drift_min_rel * mean_a)))


def _change_point(values: np.ndarray) -> int:
    """Index where the rows' level changes: the split minimising the two segments' squared
    deviations (columns scaled to their means). The detection window may straddle the change,
    so cutting at its start would keep windows from before it."""
    rel = values / values.mean(axis=0)
    best_i, best_sse = 1, math.inf
    for i in range(1, rel.shape[0]):
        a, b = rel[:i], rel[i:]
        sse = float(np.sum((a - a.mean(axis=0)) ** 2) + np.sum((b - b.mean(axis=0)) ** 2))
        if sse < best_sse:
            best_i, best_sse = i, sse
    return best_i
