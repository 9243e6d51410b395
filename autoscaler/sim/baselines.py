"""Baseline policies, run through the same engine as ours so that the comparison is fair.

- ``static-initial``: keeps the degree the job was submitted with; never resizes.
- ``static-max``: the usual human choice, "as many as I may have": the job is *launched* at
  ``max_replicas`` (no resize cost) and never resized.
- ``throughput-max``: a throughput-only autoscaler. It has no oracle either: it must find the
  fastest degree by measuring, so it sweeps every degree like ``sweep`` and then keeps the one
  with the highest measured throughput, ignoring power, budget and deadline.
- ``sweep``: the exhaustive method of offline studies. Visits the current degree, then every
  other degree in [min, max] ascending, ``windows_per_degree`` OK windows each (warm-up windows
  after a resize do not count), then keeps the degree best for the job's objective among those
  whose measured rates meet the deadline and budget for the remaining work (falling back, like
  the product, to the fastest degree for a deadline and the least-energy degree for a budget).
  It measures every degree, a power cap notwithstanding (it cannot know a degree's power
  before it runs it), then keeps only degrees measured under the cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autoscaler.decision.constraints import infeasible_fallback
from autoscaler.decision.objectives import balanced_max_power_w, objective_value
from autoscaler.decision.types import (
    Decision,
    JobSpec,
    ObjectiveKind,
    Progress,
    Quality,
    Reason,
    Window,
)
from autoscaler.sim.pricing import priced_rate

COST, CARBON = ObjectiveKind.COST, ObjectiveKind.CARBON

BASELINE_NAMES = ("static-initial", "static-max", "throughput-max", "sweep")


class StaticPolicy:
    """Never resizes."""

    def observe(self, window: Window) -> None:
        del window

    def note_resize(self, replicas: int, now_s: float) -> None:
        del replicas, now_s

    def decide(self, now_s: float, progress: Progress) -> Decision:
        n = progress.current_replicas
        return Decision(now_s, n, n, Reason.HOLD_OPTIMAL, "static baseline: never resizes")


@dataclass
class _Rates:
    throughput_sps: list[float] = field(default_factory=list)
    power_w: list[float] = field(default_factory=list)

    def mean(self) -> tuple[float, float]:
        return (
            sum(self.throughput_sps) / len(self.throughput_sps),
            sum(self.power_w) / len(self.power_w),
        )


class SweepPolicy:
    """Measure every degree, then keep the best; ``throughput_only`` makes it throughput-max."""

    def __init__(
        self,
        spec: JobSpec,
        *,
        resize_downtime_s: float,
        windows_per_degree: int = 3,
        throughput_only: bool = False,
    ) -> None:
        self._spec = spec
        self._downtime_s = resize_downtime_s
        self._per_degree = windows_per_degree
        self._throughput_only = throughput_only
        self._rates: dict[int, _Rates] = {}
        self._todo: list[int] | None = None  # degrees still to visit; None until the first call
        self._settled = False
        self._feasible = True  # whether the kept degree meets the constraints, as measured

    def observe(self, window: Window) -> None:
        if window.quality is Quality.OK and window.throughput_sps > 0:
            r = self._rates.setdefault(window.replicas, _Rates())
            r.throughput_sps.append(window.throughput_sps)
            r.power_w.append(window.power_w)

    def note_resize(self, replicas: int, now_s: float) -> None:
        del replicas, now_s

    def decide(self, now_s: float, progress: Progress) -> Decision:
        n = progress.current_replicas
        if self._todo is None:
            lo, hi = self._spec.min_replicas, self._spec.max_replicas
            self._todo = [d for d in range(lo, hi + 1) if d != n]
        if self._settled:
            return Decision(
                now_s, n, n, Reason.HOLD_OPTIMAL, "sweep done: keeping the best", self._feasible
            )
        if len(self._rates.get(n, _Rates()).throughput_sps) < self._per_degree:
            return Decision(now_s, n, n, Reason.EXPLORE, f"sweep: measuring {n}")
        if self._todo:
            target = self._todo.pop(0)
            return Decision(now_s, n, target, Reason.EXPLORE, f"sweep: next degree {target}")
        self._settled = True
        target, self._feasible = self._best(now_s, progress)
        reason = Reason.RESIZE_BETTER if target != n else Reason.HOLD_OPTIMAL
        message = f"sweep done: best is {target}"
        return Decision(now_s, n, target, reason, message, self._feasible)

    def _best(self, now_s: float, progress: Progress) -> tuple[int, bool]:
        means = {d: r.mean() for d, r in self._rates.items()}
        fastest = max(means, key=lambda d: means[d][0])
        if self._throughput_only:
            return fastest, True
        spec = self._spec
        left = (spec.total_samples or 0.0) - progress.samples_done
        max_power_w = balanced_max_power_w(p for _, p in means.values())

        def score(d: int) -> float:  # the objective per sample: J, s, the mix, money, gCO2
            x, p = means[d]
            if spec.prices is not None and spec.objective.kind in (COST, CARBON):
                # Priced like ours: each price's mean over the remaining work at d.
                return priced_rate(spec.prices, spec.objective.kind, now_s, left / x, d, p) / x
            return objective_value(spec.objective, p / x, 1.0 / x, max_power_w)

        def under_cap(d: int) -> bool:
            return spec.max_power_w is None or means[d][1] <= spec.max_power_w

        def cost(d: int) -> tuple[float, float]:
            x, p = means[d]
            switch_s = self._downtime_s if d != progress.current_replicas else 0.0
            return left / x + switch_s, left * p / x + switch_s * p

        def on_time(d: int) -> bool:
            return spec.deadline_s is None or now_s + cost(d)[0] <= spec.deadline_s

        def in_budget(d: int) -> bool:
            return (
                spec.energy_budget_j is None
                or progress.energy_used_j + cost(d)[1] <= spec.energy_budget_j
            )

        ok = [d for d in means if on_time(d) and in_budget(d) and under_cap(d)]
        if ok:
            return min(ok, key=score), True
        fallback, _, keep_deadline = infeasible_fallback(
            deadline_reachable=any(on_time(d) for d in means),
            budget_reachable=any(in_budget(d) for d in means))
        pool = [d for d in means if on_time(d)] if keep_deadline else list(means)
        return min(pool, key=lambda d: objective_value(fallback, means[d][1] / means[d][0],
                                                       1.0 / means[d][0], max_power_w)), False
