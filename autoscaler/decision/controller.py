"""The per-job controller: observe windows, decide, checkpoint what was learned.

Stateful but pure: it holds the job's fittable measurement history and the time of the last
resize, and every answer is a function of that state and the arguments (``now_s`` included —
it never reads a clock). Fits are cached per history version, so deciding twice without a new
window costs no refit.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from autoscaler.decision.config import PolicyConfig
from autoscaler.decision.constraints import evaluate_constraints
from autoscaler.decision.fitting import fit_throughput
from autoscaler.decision.history import DegreeStats, History, window_is_fittable
from autoscaler.decision.mix import plan_mixes
from autoscaler.decision.models import Curve, anchored
from autoscaler.decision.objectives import PriceContext, evaluate
from autoscaler.decision.policy import run_post_fit, run_pre_fit
from autoscaler.decision.power_split import busy_share, fit_power_split, measured_busy_share
from autoscaler.decision.situation import Evidence, Situation
from autoscaler.decision.state import STATE_VERSION, dump_state, load_state
from autoscaler.decision.step_model import (
    StepModel,
    fit_step_throughput,
    nodes_of,
    step_stats,
    workers_per_node,
)
from autoscaler.decision.types import (
    UNTRUSTED_QUALITIES,
    Decision,
    DegreePrediction,
    JobSpec,
    Progress,
    Quality,
    Window,
)


class Controller:
    """Decides the degree of one job. See :mod:`autoscaler.decision.policy` for the pipeline."""

    def __init__(self, spec: JobSpec, config: PolicyConfig | None = None) -> None:
        self._spec = spec
        self._cfg = config or PolicyConfig()
        self._history = History(self._cfg)
        self._newest: Window | None = None
        self._last_resize_s: float | None = None
        self._last_resize_replicas: int | None = None
        self._discarded: dict[str, int] = {}
        self._fit_key: tuple[int, int] | None = None
        self._fit: tuple[Curve, Curve] | None = None
        self._fit_stats: DegreeStats | None = None
        self._predictions: tuple[DegreePrediction, ...] | None = None
        self._per_node: int | None = spec.workers_per_node

    # --- inputs -----------------------------------------------------------------------
    @property
    def spec(self) -> JobSpec:
        return self._spec

    @property
    def config(self) -> PolicyConfig:
        return self._cfg

    def update_spec(self, spec: JobSpec) -> None:
        """Replace bounds/objective/constraints (e.g. the job's annotations changed)."""
        self._spec = spec

    def set_resize_cost(self, downtime_s: float) -> None:
        """What a resize costs here, as measured (seconds without training): it replaces the
        configured guess wherever the policy weighs a resize. Fits do not depend on it."""
        if downtime_s != self._cfg.resize_downtime_s:
            self._cfg = dataclasses.replace(self._cfg, resize_downtime_s=downtime_s)

    def observe(self, window: Window) -> None:
        """Record a window; only steady-state OK windows enter the fit."""
        if self._newest is None or window.end_s >= self._newest.end_s:
            self._newest = window
        if not window_is_fittable(window):
            ok = window.quality is Quality.OK
            self._count_discarded("invalid" if ok else window.quality.value)
            return
        if self._in_warmup(window):
            self._count_discarded("warmup")
            return
        self._history.add(window)

    def note_resize(self, replicas: int, now_s: float) -> None:
        """The caller resized to ``replicas`` at ``now_s``: the next windows are warm-up."""
        self._last_resize_s = now_s
        self._last_resize_replicas = replicas

    # --- outputs ----------------------------------------------------------------------
    def decide(self, now_s: float, progress: Progress) -> Decision:
        current = progress.current_replicas
        evidence = self._evidence(now_s, current)
        verdict = run_pre_fit(evidence)
        predictions = self.predictions() if self._history.windows else ()
        if verdict is None:
            verdict = run_post_fit(self._situation(evidence, progress, now_s))
        by_degree = {p.replicas: p for p in predictions}
        return Decision(
            now_s=now_s, current=current, replicas=verdict.replicas, reason=verdict.reason,
            message=verdict.message, feasible=verdict.feasible,
            predicted=by_degree.get(verdict.replicas), saving_pct=verdict.saving_pct,
            predictions=predictions,
        )

    def predictions(self) -> tuple[DegreePrediction, ...]:
        """Fitted throughput, power and J/sample at every degree in [min, max] (empty: no data)."""
        fit = self._curves()
        if fit is None:
            return ()
        if self._predictions is None:
            self._predictions = self._build_predictions(*fit)
        return self._predictions

    def _build_predictions(self, thr: Curve, pw: Curve) -> tuple[DegreePrediction, ...]:
        measured = {int(n) for n in self._measured_degrees()}
        out = []
        for i, n in enumerate(thr.grid):
            x, p = float(thr.mean[i]), float(pw.mean[i])
            e = p / x if x > 0 else math.inf
            rel = math.hypot(float(thr.sd[i]) / x, float(pw.sd[i]) / p) if x > 0 and p > 0 else 0.0
            out.append(DegreePrediction(int(n), x, p, e, e * rel, int(n) in measured,
                                        float(thr.sd[i]), float(pw.sd[i])))
        return tuple(out)

    # --- state ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """JSON-able learned state, versioned (``"version": 1``)."""
        return dump_state(
            windows=self._history.windows, newest=self._newest,
            last_resize_s=self._last_resize_s, last_resize_replicas=self._last_resize_replicas,
            drift_at_s=self._history.drift_at_s, discarded=self._discarded,
        )

    @classmethod
    def from_state(
        cls, spec: JobSpec, state: dict[str, Any], config: PolicyConfig | None = None
    ) -> Controller:
        """Rebuild from :meth:`to_state` output; ValueError on an unknown version."""
        loaded = load_state(state)
        ctl = cls(spec, config)
        ctl._history.restore(loaded.windows, loaded.drift_at_s)
        ctl._newest = loaded.newest
        ctl._last_resize_s = loaded.last_resize_s
        ctl._last_resize_replicas = loaded.last_resize_replicas
        ctl._discarded = dict(loaded.discarded)
        return ctl

    # --- internals --------------------------------------------------------------------
    def _count_discarded(self, why: str) -> None:
        self._discarded[why] = self._discarded.get(why, 0) + 1

    def _warmup_end_s(self) -> float | None:
        if self._last_resize_s is None:
            return None
        return self._last_resize_s + max(self._cfg.warmup_s, self._cfg.resize_downtime_s)

    def _in_warmup(self, window: Window) -> bool:
        end = self._warmup_end_s()
        return end is not None and window.start_s < end

    def _measured_degrees(self) -> np.ndarray:
        stats = self._fit_stats if self._fit is not None else self._history.stats()
        return np.zeros(0, dtype=np.int64) if stats is None else stats.replicas

    def _evidence(self, now_s: float, current: int) -> Evidence:
        newest = self._newest
        problem: str | None = None
        if newest is not None:
            age_s = now_s - newest.end_s
            if newest.quality in UNTRUSTED_QUALITIES:
                problem = f"newest window is {newest.quality.value}: {newest.note or 'no detail'}"
            elif age_s > self._cfg.stale_after_s:
                problem = f"newest window ended {age_s:.0f} s ago (> {self._cfg.stale_after_s:g} s)"
        return Evidence(
            spec=self._spec, cfg=self._cfg, now_s=now_s, current=current,
            fitted_windows=len(self._history.windows), newest_problem=problem,
            warmup_message=self._warmup_message(now_s, current),
        )

    def _warmup_message(self, now_s: float, current: int) -> str | None:
        """Why the current degree is not measured well enough to act on, or None."""
        end = self._warmup_end_s()
        if end is not None and now_s < end:
            return f"resized at {self._last_resize_s:g} s; warm-up until {end:g} s"
        need = self._cfg.min_windows_per_degree
        since = end if end is not None and self._last_resize_replicas == current else -math.inf
        fresh = self._history.count_at(current, since)
        total = self._history.count_at(current, -math.inf)
        if (fresh >= 1 and total >= need) or not self._history.windows:
            return None
        return f"measuring {current}: {total} of {need} steady-state windows ({fresh} since resize)"

    def _curves(self) -> tuple[Curve, Curve] | None:
        """Fitted curves; refitted only when the per-degree means moved enough to matter."""
        stats = self._history.stats()
        if stats is None:
            return None
        grid_key = (self._spec.min_replicas, self._spec.max_replicas)
        if self._fit is not None and grid_key == self._fit_key and self._close(stats):
            return self._fit
        grid = np.arange(self._spec.min_replicas, self._spec.max_replicas + 1)
        split = step_stats(self._history.columns, stats.replicas)
        per_node = self._spec.workers_per_node
        if split is not None and per_node is None:
            per_node = workers_per_node(split.replicas, split.nodes)
        self._per_node = per_node
        model = None if split is None else StepModel(
            split, stats.throughput_se / stats.throughput_sps, per_node, self._spec.batch_regime)
        thr = self._fit_throughput(stats, grid, model)
        # Per-worker draw that falls while waiting on the network, where the split shows it
        # (else the linear fit: see decision/power_split.py).
        share = None if split is None else measured_busy_share(split)
        grid_share = None if model is None else busy_share(model, grid)
        pw = fit_power_split(stats.replicas, stats.power_w, stats.power_se, grid, self._cfg,
                             share, grid_share, known_static_w=self._spec.static_power_w,
                             nodes=None if per_node is None else (lambda m: nodes_of(m, per_node)))
        pw = anchored(pw, stats.replicas, stats.power_w, stats.power_se)
        self._fit_key, self._fit, self._fit_stats = grid_key, (thr, pw), stats
        self._predictions = None
        return self._fit

    def _fit_throughput(self, stats: DegreeStats, grid: np.ndarray,
                        model: StepModel | None) -> Curve:
        """The step model where every measured degree reports the step's split, else USL (or
        the table); either way measured degrees keep their measurement."""
        if model is None:
            thr = fit_throughput(stats.replicas, stats.throughput_sps, stats.throughput_se, grid,
                                 self._cfg)
            return anchored(thr, stats.replicas, stats.throughput_sps, stats.throughput_se)
        return fit_step_throughput(model, grid, stats.replicas, stats.throughput_sps,
                                   stats.throughput_se)

    def _close(self, stats: DegreeStats) -> bool:
        """Every degree's means within ``refit_tolerance_se`` standard errors of the last fit's.

        New windows that move no mean by more than a fraction of its standard error cannot
        change the fit beyond its own uncertainty, so the cached fit stands.
        """
        old = self._fit_stats
        if old is None or not np.array_equal(old.replicas, stats.replicas):
            return False
        tol = self._cfg.refit_tolerance_se
        return bool(
            np.all(np.abs(stats.throughput_sps - old.throughput_sps) <= tol * stats.throughput_se)
            and np.all(np.abs(stats.power_w - old.power_w) <= tol * stats.power_se)
        )

    def _situation(self, ev: Evidence, progress: Progress, now_s: float) -> Situation:
        curves = self._curves()
        assert curves is not None  # validity stage passed: there are windows
        thr, pw = curves
        measured_set = self._measured_degrees()
        measured = np.isin(thr.grid, measured_set)
        constraints = evaluate_constraints(self._spec, progress, now_s, thr, pw, self._cfg,
                                           measured=measured)
        x_cur = thr.at(ev.current)[0]
        left = constraints.remaining_samples
        known = left is not None
        if left is None:
            left = self._cfg.default_horizon_s * x_cur
        prices = None
        if self._spec.prices is not None:
            prices = PriceContext(self._spec.prices, now_s, left, constraints.allowed,
                                  self._cfg.resize_downtime_s)
        objective = evaluate(constraints.fallback or self._spec.objective, thr, pw, prices)
        lo, hi = (measured_set.min(), measured_set.max()) if measured_set.size else (0, 0)
        extrapolated = (thr.grid < lo) | (thr.grid > hi)
        stats = self._fit_stats
        fresh = measured if stats is None else np.isin(thr.grid, stats.fresh_replicas)
        per_node = self._per_node
        boundary = np.zeros(thr.grid.size, dtype=bool)
        if per_node is not None:
            boundary = thr.grid % per_node == 0
        durations = [w.duration_s for w in self._history.windows[-20:]]
        interval_s = float(np.median(durations))
        objective, constraints = plan_mixes(
            objective, constraints, current=ev.current, throughput_sps=thr.mean,
            remaining_samples=left, resize_downtime_s=self._cfg.resize_downtime_s,
            interval_s=interval_s, min_stint_s=self._cfg.dwell_s(interval_s))
        return Situation(
            evidence=ev, objective=objective, constraints=constraints, measured=measured,
            extrapolated=extrapolated, fresh=fresh, boundary=boundary,
            identified=measured_set.size >= 2, remaining_samples=left, remaining_known=known,
            current_throughput_sps=x_cur, throughput_sps=thr.mean,
            interval_s=interval_s,
        )


__all__ = ["STATE_VERSION", "Controller"]
