"""Synthetic jobs with known true curves, for the decision engine's tests.

Windows are generated from the truth (optionally with multiplicative Gaussian noise) so that a
test can compute the right answer from the same truth instead of hard-coding it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.decision import Controller, Objective, ObjectiveKind, Quality, Window

INTERVAL_S = 30.0


@dataclass(frozen=True)
class TrueCurves:
    """USL throughput (or a table) and linear power (or a table) of a synthetic job."""

    lam: float = 100.0
    sigma: float = 0.05
    kappa: float = 0.002
    static_w: float = 200.0
    per_worker_w: float = 100.0
    throughput_table: tuple[tuple[int, float], ...] = ()

    def throughput_sps(self, n: int) -> float:
        if self.throughput_table:
            return dict(self.throughput_table)[n]
        return self.lam * n / (1 + self.sigma * (n - 1) + self.kappa * n * (n - 1))

    def power_w(self, n: int) -> float:
        return self.static_w + self.per_worker_w * n

    def objective_per_sample(self, objective: Objective, n: int, degrees: range) -> float:
        """The true objective per sample at n (P_max over ``degrees`` for balanced)."""
        x, p = self.throughput_sps(n), self.power_w(n)
        if objective.kind is ObjectiveKind.ENERGY:
            return p / x
        if objective.kind is ObjectiveKind.TIME:
            return 1.0 / x
        p_max = max(self.power_w(m) for m in degrees)
        return (objective.eta * p + (1 - objective.eta) * p_max) / x

    def best(self, objective: Objective, degrees: range) -> int:
        return min(degrees, key=lambda n: self.objective_per_sample(objective, n, degrees))

    def window(
        self,
        n: int,
        start_s: float,
        *,
        cv: float = 0.0,
        rng: np.random.Generator | None = None,
        quality: Quality = Quality.OK,
    ) -> Window:
        x, p = self.throughput_sps(n), self.power_w(n)
        if cv > 0:
            assert rng is not None
            x *= 1 + cv * rng.standard_normal()
            p *= 1 + cv * rng.standard_normal()
        return Window(
            start_s, start_s + INTERVAL_S, n, x, p, p * INTERVAL_S, x * INTERVAL_S,
            source="simulated", quality=quality,
        )

    def feed(
        self,
        ctl: Controller,
        degrees: list[int],
        per_degree: int,
        *,
        start_s: float = 0.0,
        cv: float = 0.0,
        seed: int = 0,
    ) -> float:
        """Observe ``per_degree`` windows at each degree in turn; returns the end time."""
        rng = np.random.default_rng(seed)
        t_s = start_s
        for n in degrees:
            for _ in range(per_degree):
                ctl.observe(self.window(n, t_s, cv=cv, rng=rng))
                t_s += INTERVAL_S
        return t_s


STEP = TrueCurves(
    throughput_table=tuple(
        (n, 400.0 * n if n <= 8 else 400.0 * 8 * 0.75 + 300.0 * (n - 8)) for n in range(1, 17)
    ),
    static_w=500.0,
    per_worker_w=300.0,
)
