"""Stage 7: which trial first (Weitzman's reservation value) and whether (value vs cost).

Situations are built by hand from tables of per-degree objective means and bands, so that each
expected choice can be worked out from the same numbers.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import ndtr

from autoscaler.decision import JobSpec, PolicyConfig
from autoscaler.decision.constraints import ConstraintOutcome, evaluate_constraints
from autoscaler.decision.exploration import (
    ONE_NODE_SLACK,
    expected_excess,
    one_node_floor,
    reservation_value,
    stage_exploration,
)
from autoscaler.decision.models import Curve
from autoscaler.decision.objectives import ObjectiveCurve
from autoscaler.decision.situation import Evidence, Situation
from autoscaler.decision.types import Progress, Reason


def _psi(u: float) -> float:
    return u * float(ndtr(u)) + math.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)


@pytest.mark.parametrize("price", [1e-12, 1e-6, 1e-3, 0.05, 0.39, 1.0, 7.0, 30.0])
def test_reservation_value_solves_its_equation(price: float) -> None:
    mean, sd = np.array([2.0, 0.5]), np.array([0.3, 0.01])
    r = reservation_value(mean, sd, price * sd)
    for i in range(2):
        u = brentq(lambda v: _psi(v) - price, -38.0, 40.0, xtol=1e-14)
        assert (r[i] - mean[i]) / sd[i] == pytest.approx(u, abs=1e-9)
        # Definition: the expected improvement below r pays exactly the price.
        got = float(expected_excess(np.array([(r[i] - mean[i]) / sd[i]]), sd[i : i + 1])[0])
        assert got == pytest.approx(price * sd[i], rel=1e-7)


def situation(per_sample: list[float], sd: list[float], current: int, left: float,
              margin: float = 0.0, measured_too: tuple[int, ...] = (),
              per_node: int | None = None, ratio: float = 0.0) -> Situation:
    """Degrees 1..len(per_sample); the current one (and ``measured_too``) measured; a
    time-like objective (rate 1 per second, so a trial's cost is its seconds; throughput
    1/per_sample)."""
    grid = np.arange(1, len(per_sample) + 1)
    spec = JobSpec(1, int(grid[-1]))
    cfg = PolicyConfig(resize_downtime_s=30.0, explore_margin=margin, explore_ratio=ratio)
    ev = Evidence(spec, cfg, 0.0, current, 10, None, None)
    obj = ObjectiveCurve(grid, np.array(per_sample), np.array(sd), np.ones(grid.size), "s")
    allowed = np.ones(grid.size, dtype=bool)
    measured = np.isin(grid, (current, *measured_too))
    boundary = np.zeros(grid.size, dtype=bool) if per_node is None else grid % per_node == 0
    return Situation(
        evidence=ev, objective=obj,
        constraints=ConstraintOutcome(allowed, True, None, "unconstrained", plausible=allowed),
        measured=measured, extrapolated=~measured, fresh=measured,
        boundary=boundary, identified=False, remaining_samples=left,
        remaining_known=True, current_throughput_sps=1.0 / per_sample[current - 1],
        throughput_sps=1.0 / np.array(per_sample), interval_s=30.0,
    )


# (per-sample means, bands, remaining samples, the trial Pandora's rule opens first)
ORDER = [
    # 2: surely a little better (3 % ± 1 %); 3: worse on average (+25 %) but wide (± 20 %).
    # The largest expected gain is 2's; the lowest reservation value is 3's: with this much
    # work left, a 1-in-10 chance of a much better degree is worth its trial first (2 stays
    # worth measuring afterwards, 3 might not be).
    ([1.0, 0.97, 1.25], [0.0, 0.01, 0.2], 1e5, 3),
    # Little work left: a trial costs more per sample, every reservation value rises, the
    # wide one's most; the sure small gain comes first.
    ([1.0, 0.95, 1.1], [0.0, 0.005, 0.2], 1333.0, 2),
]


@pytest.mark.parametrize(("means", "sds", "left", "first"), ORDER)
def test_the_trial_with_the_lowest_reservation_value_comes_first(
    means: list[float], sds: list[float], left: float, first: int
) -> None:
    s = situation(means, sds, current=1, left=left)
    verdict = stage_exploration(s, target=1)
    assert verdict is not None and verdict.reason is Reason.EXPLORE
    assert verdict.replicas == first


def test_nothing_is_explored_when_no_trial_is_worth_its_cost() -> None:
    s = situation([1.0, 1.2, 1.3], [0.0, 0.01, 0.01], current=1, left=1e5, margin=3.0)
    assert stage_exploration(s, target=1) is None


def test_the_margin_decides_whether_not_which() -> None:
    """With a margin, the same wide trial is still the first one tried (the previous rule,
    the largest gain − cost·(1 + margin), let the margin flip the order)."""
    means, sds = [1.0, 0.97, 1.25], [0.0, 0.01, 0.2]
    for margin in (0.0, 1.0, 3.0):
        verdict = stage_exploration(situation(means, sds, current=1, left=1e5, margin=margin),
                                    target=1)
        assert verdict is not None and verdict.replicas == 3


# (throughput by degree 1..8, measured, workers per node, expected floor per degree or None)
FLOORS = [
    # 1 measured at 10/s: on the first node (1..4) n workers give at most 10·n·(1 + slack).
    ([10, 15, 20, 25, 30, 35, 40, 45], (1,), 4, {2: 20, 3: 30, 4: 40}),
    # the best per-worker rate below m bounds m (2 at 9/s each beats 1 at 8/s).
    ([8, 18, 20, 25, 30, 35, 40, 45], (1, 2), 4, {2: 16, 3: 27, 4: 36}),
    # nothing measured below: no bound; across nodes never (sync may drop from 2 to 3 nodes).
    ([10, 15, 20, 25, 30, 35, 40, 45], (3,), 4, {4: 4 * 20 / 3}),
    # placement unknown (no whole-node degrees): no bound anywhere.
    ([10, 15, 20, 25, 30, 35, 40, 45], (1,), None, {}),
    # one whole-node degree in range is ambiguous (4 per node? 8?): no bound.
    ([10, 15, 20, 25, 30, 35, 40, 45], (1,), 8, {}),
]


@pytest.mark.parametrize(("x", "measured", "per_node", "caps"), FLOORS)
def test_one_node_floor_is_the_objective_at_linear_scaling_from_below(
    x: list[float], measured: tuple[int, ...], per_node: int | None, caps: dict[int, float]
) -> None:
    per_sample = [1.0 / v for v in x]
    s = situation(per_sample, [0.1] * len(x), current=measured[0], left=1e5,
                  measured_too=measured[1:], per_node=per_node)
    floor = one_node_floor(s)
    for m in range(1, len(x) + 1):
        if m in caps:
            assert floor[m - 1] == pytest.approx(1.0 / (caps[m] * (1 + ONE_NODE_SLACK)))
        else:
            assert floor[m - 1] == -np.inf


def test_a_one_node_degree_that_cannot_win_even_at_linear_scaling_is_not_tried() -> None:
    """1 and 16 measured (1 at 25/s, 16 at 180/s); 4, which fills the first node, is predicted
    at 90/s with a wide band (± 60/s, up to 210/s at 2σ), but even 4 × 25/s (+10 %) is slower
    than 16: no trial. With the placement unknown nothing bounds it, and 4 is tried."""
    x = [25.0] + [40.0 + 10 * i for i in range(1, 15)] + [180.0]
    x[3] = 90.0
    per_sample = [1.0 / v for v in x]
    sd = [0.0] * 16
    sd[3] = per_sample[3] * 60.0 / 90.0
    for per_node, tried in ((4, False), (None, True)):
        s = situation(per_sample, sd, current=16, left=1e6, margin=3.0, measured_too=(1,),
                      per_node=per_node)
        verdict = stage_exploration(s, target=16)
        assert (verdict is not None and verdict.replicas == 4) is tried


# --- which degrees a constraint leaves open to a trial ------------------------------------------


def _constrained(plausible: list[bool], reachable: list[bool] | None, *, per_node: int | None,
                 cap: float | None = None, ratio: float = 0.0) -> Situation:
    """Degrees 1..8 at 4 measured; every other degree surely far better (a trial is worth it
    wherever it is open), 8 the best; only the constraint outcome says where a trial may go."""
    means = [0.5, 0.5, 0.5, 1.0, 0.5, 0.5, 0.5, 0.4]
    s = situation(means, [0.1] * 4 + [0.1] * 4, current=4, left=1e6, per_node=per_node,
                  ratio=ratio)
    s.constraints.allowed[:] = np.array(plausible)
    out = ConstraintOutcome(
        np.array(plausible), True, None, "constrained", plausible=np.array(plausible),
        reachable=None if reachable is None else np.array(reachable))
    spec = JobSpec(1, 8, max_power_w=cap)
    return dataclasses.replace(
        s, constraints=out, evidence=dataclasses.replace(s.evidence, spec=spec))


def test_a_whole_node_degree_whose_band_reaches_the_deadline_may_be_tried() -> None:
    """deepspeech2 (cost, deadline): 12 workers on 3 whole nodes is fast enough, but the fit
    through 13..15 (4 nodes) put its mean just short of the deadline, so it was never tried
    and the job ran 13 (+18 %). A whole-node degree is where the fit is least sure."""
    plausible = [False, False, False, True, False, False, False, False]
    reachable = [False, False, False, True, False, False, True, True]
    verdict = stage_exploration(_constrained(plausible, reachable, per_node=4), target=4)
    assert verdict is not None and verdict.replicas == 8  # 7 reaches too, but is not a boundary
    # Without a known placement nothing is a boundary: the mean decides, nothing is open.
    assert stage_exploration(_constrained(plausible, reachable, per_node=None), target=4) is None
    # Nor where the band does not reach the deadline.
    assert stage_exploration(_constrained(plausible, [False, False, False, True] + [False] * 4,
                                          per_node=4), target=4) is None


def test_under_a_cap_the_widest_degree_under_it_is_a_neighbour_at_any_distance() -> None:
    """cifar10 (time, 1300 W cap): from 4 the nearest degrees and the whole-node ones (8;
    12 and 16 over the cap) were all a trial could reach, never 10, the fastest under the
    cap (+10.1 %)."""
    plausible = [True] * 6 + [False, False]  # the cap leaves 1..6
    means = [1.0, 0.9, 0.9, 1.0, 0.9, 0.5, 0.4, 0.4]
    # Near 4 (ratio 1.25): 4..5. The cap's edges, 1 and 6, only where a cap is set.
    for cap, opened in ((1300.0, 6), (None, 5)):
        s = _constrained(plausible, None, per_node=None, cap=cap, ratio=1.25)
        s = dataclasses.replace(s, objective=dataclasses.replace(
            s.objective, per_sample=np.array(means)))
        verdict = stage_exploration(s, target=4)
        assert verdict is not None and verdict.replicas == opened, cap


def test_reachable_is_the_deadline_at_its_optimistic_band() -> None:
    # 25,000 samples in 1,000 s: 25/s needed; 2 is predicted at 20 ± 5 (reaches at −1σ),
    # 1 at 10 ± 1 (does not); 3 at 30 meets it at the mean.
    grid = np.arange(1, 4)
    thr = Curve("table", grid, np.array([10.0, 20.0, 30.0]), np.array([1.0, 5.0, 0.0]))
    pw = Curve("table", grid, np.array([100.0, 200.0, 300.0]), np.zeros(3))
    spec = JobSpec(1, 3, deadline_s=1000.0, total_samples=25_000.0)
    out = evaluate_constraints(spec, Progress(3), 0.0, thr, pw, PolicyConfig())
    assert out.plausible is not None and out.plausible.tolist() == [False, False, True]
    assert out.reachable is not None and out.reachable.tolist() == [False, True, True]
    # A budget is judged at its mean only: a trial spends what it tests.
    spec = JobSpec(1, 3, energy_budget_j=1e9, deadline_s=1000.0, total_samples=25_000.0)
    out = evaluate_constraints(spec, Progress(3), 0.0, thr, pw, PolicyConfig())
    assert out.reachable is not None and out.reachable.tolist() == [False, True, True]
