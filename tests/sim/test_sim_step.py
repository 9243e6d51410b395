"""Issue 10, item 5: the ``step:`` workload form, nodes and per-node power, and windows that
carry the compute/sync split as a worker's reporter would. Old scenarios score exactly as before."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import BASE, edit
from test_sim_engine import Scripted, run

from autoscaler.decision.types import Quality
from autoscaler.sim.compare import simulate
from autoscaler.sim.scenario import ScenarioError, load_scenario, parse_scenario
from autoscaler.sim.workload import Workload

REPO = Path(__file__).resolve().parents[2]

# compute_s by per-worker batch; sync_s by n (a node boundary between 2 and 3 workers).
COMPUTE = {"table": {8: 0.11, 16: 0.19, 64: 0.62}}
SYNC = {"table": {1: 0.0, 2: 0.03, 3: 0.21, 4: 0.26}}


def step_data(batch: dict[str, float], **workload: Any) -> dict[str, Any]:
    data = edit(BASE, "workload.throughput", ...)
    data = edit(data, "workload.step", {"batch": batch, "compute_s": COMPUTE, "sync_s": SYNC})
    data = edit(data, "job.max_replicas", 4)
    for key, value in workload.items():
        data = edit(data, f"workload.{key}", value)
    return data


def load(data: dict[str, Any]) -> Workload:
    return Workload(parse_scenario(data, label="step.yaml"))


def test_per_worker_batch_throughput_is_n_b_over_compute_plus_sync() -> None:
    x = load(step_data({"per_worker": 16})).segments[0].throughput
    for n, sync in [(1, 0.0), (2, 0.03), (3, 0.21), (4, 0.26)]:
        assert x(n) == pytest.approx(n * 16 / (0.19 + sync), rel=1e-12)


def test_global_batch_shrinks_the_per_worker_batch_and_interpolates_compute() -> None:
    seg = load(step_data({"global": 64})).segments[0]
    assert seg.step is not None
    # b = 64, 32, 21.33, 16: compute 0.62, linear between 16 and 64, 0.19 at 16.
    for n in (1, 2, 3, 4):
        b = 64 / n
        compute = 0.19 + (0.62 - 0.19) * (b - 16) / (64 - 16)
        sync = SYNC["table"][n]
        assert seg.step.batch_at(n) == pytest.approx(b)
        assert seg.throughput(n) == pytest.approx(n * b / (compute + sync), rel=1e-12)


def test_compute_extrapolates_linearly_beyond_the_table_with_a_floor() -> None:
    seg = load(step_data({"per_worker": 16})).segments[0]
    assert seg.step is not None
    compute = seg.step.compute
    assert compute(128) == pytest.approx(0.62 + (0.62 - 0.19) / 48 * 64)  # from 16 and 64
    assert compute(4) == pytest.approx(0.11 - (0.19 - 0.11) / 8 * 4)  # from 8 and 16
    assert compute(0.001) == pytest.approx(0.11 - 0.01 * 7.999)  # still positive
    steep = step_data({"per_worker": 16}, **{"step.compute_s": {"table": {10: 0.1, 20: 0.3}}})
    seg = load(steep).segments[0]
    assert seg.step is not None
    assert seg.step.compute(1) == pytest.approx(0.1 * 0.01)  # clamped at 1 % of the smallest


def test_single_compute_point_means_compute_proportional_to_batch() -> None:
    data = step_data({"global": 64}, **{"step.compute_s": {"table": {16: 0.2}}})
    seg = load(data).segments[0]
    assert seg.step is not None
    assert seg.step.compute(32) == pytest.approx(0.4) and seg.step.compute(8) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("power", "per_node", "expected"),
    [
        # 4 workers per node: nodes(n) = ceil(n / 4) -> 1, 1, 1, 1 for n <= 4; 2 at 5.
        ({"static_w": 10, "per_worker_w": 100, "per_node_w": 50}, 4, [160, 260, 360, 460, 610]),
        ({"static_w": 10, "per_worker_w": 100, "per_node_w": 50}, 2, [160, 260, 410, 510, 660]),
        ({"static_w": 10, "per_worker_w": 100, "per_node_w": 50}, None, [160, 260, 360, 460, 560]),
        ({"static_w": 10, "per_worker_w": 100}, 2, [110, 210, 310, 410, 510]),
    ],
)
def test_per_node_power_is_charged_per_allocated_node(
    power: dict[str, float], per_node: int | None, expected: list[float]
) -> None:
    data = edit(BASE, "workload.power", {"linear": power})
    data = edit(data, "workload.throughput", {"usl": {"t1_sps": 100, "sigma": 0, "kappa": 0}})
    data = edit(data, "job.max_replicas", 5)
    if per_node is not None:
        data = edit(data, "workload.workers_per_node", per_node)
    workload = load(data)
    assert [workload.segments[0].power(n) for n in range(1, 6)] == pytest.approx(expected)


def test_only_per_node_power_is_a_power_draw() -> None:
    data = edit(
        BASE, "workload.power", {"linear": {"static_w": 0, "per_worker_w": 0, "per_node_w": 5}}
    )
    assert load(data).segments[0].power(3) == 5.0


def test_a_phase_may_switch_to_the_step_form() -> None:
    data = edit(BASE, "job.max_replicas", 4)
    data = edit(data, "workload.throughput.table", {1: 100.0, 4: 400.0})
    phase = {
        "at_fraction": 0.5,
        "step": {"batch": {"per_worker": 16}, "compute_s": COMPUTE, "sync_s": SYNC},
    }
    data = edit(data, "workload.phases", [phase])
    first, second = load(data).segments
    assert first.step is None and first.throughput(2) == 200.0
    assert second.step is not None and second.throughput(2) == pytest.approx(32 / 0.22)


BAD: list[tuple[dict[str, Any], str]] = [
    (edit(step_data({"per_worker": 16}), "workload.throughput", {"table": {1: 1.0, 4: 4.0}}),
     "workload: give exactly one of throughput, step"),
    (edit(step_data({"per_worker": 16}), "workload.step", ...),
     "workload: give exactly one of throughput, step"),
    (step_data({"per_worker": 16, "global": 64}), "workload.step.batch: give exactly one of"),
    (step_data({}), "workload.step.batch: give exactly one of"),
    (step_data({"per_worker": 0}), "workload.step.batch.per_worker"),
    (step_data({"global": 2}), "workload.step.batch.global: 2 gives less than one sample"),
    (step_data({"per_worker": 16}, **{"step.sync_s": {"table": {1: 0.0, 3: 0.1}}}),
     "workload.step.sync_s.table: lists n 1..3 but job allows 1..4"),
    (step_data({"per_worker": 16}, **{"step.sync_s": {"table": {1: 0.0, 4: -0.1}}}),
     "workload.step.sync_s.table"),
    (step_data({"per_worker": 16}, **{"step.compute_s": {"table": {8: 0.0}}}),
     "workload.step.compute_s.table"),
    (step_data({"per_worker": 16}, **{"step.compute_s": {"table": {"big": 0.1}}}),
     "workload.step.compute_s.table: key 'big': must be a per-worker batch size"),
    (step_data({"per_worker": 16}, **{"step.compute_s": {"table": {8: float("inf")}}}),
     "workload.step.compute_s.table"),
    (step_data({"per_worker": 16}, **{"step.compute": COMPUTE}), "workload.step.compute"),
    (step_data({"per_worker": 16}, workers_per_node=0), "workload.workers_per_node"),
    (step_data({"per_worker": 16}, workers_per_node=2.5), "workload.workers_per_node"),
    (edit(BASE, "workload.power.linear.per_node_w", -1), "workload.power.linear.per_node_w"),
    (edit(BASE, "workload.phases", [{"at_fraction": 0.5, "throughput": {"table": {1: 1, 3: 3}},
                                     "step": {"batch": {"per_worker": 1}, "compute_s": COMPUTE,
                                              "sync_s": SYNC}}]),
     "workload.phases.0: give at most one of throughput, step"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "expected"), BAD)
def test_bad_step_contract_is_one_line_naming_the_field(
    data: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, label="bad.yaml")
    message = str(info.value)
    assert message.startswith(f"bad.yaml: {expected}"), message
    assert "\n" not in message


def test_windows_carry_the_split_without_noise() -> None:
    s = parse_scenario(step_data({"global": 64}, workers_per_node=2), label="s.yaml")
    policy = Scripted(plan={2: 3})
    run(s, policy, start=2)
    ok = [w for w in policy.windows if w.quality is Quality.OK]
    at2 = next(w for w in ok if w.replicas == 2)
    compute2 = 0.19 + 0.43 * (32 - 16) / 48
    assert at2.batch_per_worker == pytest.approx(32)
    assert at2.step_s == pytest.approx(compute2 + 0.03)
    assert at2.sync_s == pytest.approx(0.03) and at2.compute_s == pytest.approx(compute2)
    assert at2.nodes == 1
    at3 = next(w for w in ok if w.replicas == 3)
    assert at3.nodes == 2 and at3.sync_s == pytest.approx(0.21)
    for w in ok:
        assert w.step_s is not None and w.batch_per_worker is not None
        assert w.throughput_sps == pytest.approx(w.replicas * w.batch_per_worker / w.step_s)


def test_noise_is_applied_to_both_parts_alike_keeping_throughput_n_b_over_step() -> None:
    data = step_data({"per_worker": 16}, noise={"throughput_cv": 0.1, "power_cv": 0.05})
    s = parse_scenario(data, label="s.yaml")
    policy = Scripted()
    run(s, policy, start=3)
    true_step, true_sync = 0.19 + 0.21, 0.21
    steps = [w.step_s for w in policy.windows if w.step_s is not None]
    assert len(set(steps)) == len(steps) > 10  # every window has its own noise
    for w in policy.windows:
        assert w.step_s is not None and w.sync_s is not None
        assert w.throughput_sps == pytest.approx(3 * 16 / w.step_s, rel=1e-9)
        assert w.sync_s / w.step_s == pytest.approx(true_sync / true_step, rel=1e-9)
        assert w.batch_per_worker == 16


def test_warmup_window_reports_the_steps_run_not_the_downtime() -> None:
    s = parse_scenario(step_data({"per_worker": 16}, resize_downtime_s=10), label="s.yaml")
    policy = Scripted(plan={0: 2})
    run(s, policy, start=1)
    warm = policy.windows[1]
    assert warm.quality is Quality.WARMUP and warm.replicas == 2
    assert warm.step_s == pytest.approx(0.19 + 0.03)  # the steps it ran, at their true time
    assert warm.throughput_sps < 2 * 16 / warm.step_s  # downtime lowered the window's rate


def test_throughput_workload_windows_carry_nodes_only() -> None:
    s = parse_scenario(edit(BASE, "workload.workers_per_node", 2), label="s.yaml")
    policy = Scripted()
    run(s, policy, start=3)
    for w in policy.windows:
        assert (w.step_s, w.sync_s, w.batch_per_worker) == (None, None, None)
        assert w.nodes == 2
    plain = Scripted()
    run(parse_scenario(BASE, label="s.yaml"), plain, start=3)
    assert {w.nodes for w in plain.windows} == {1}


def test_oracle_and_baselines_see_the_same_curve_as_an_equivalent_table() -> None:
    step = step_data({"global": 64}, workers_per_node=2)
    step = edit(step, "workload.power.linear.per_node_w", 80)
    workload = load(step)
    table = {n: workload.segments[0].throughput(n) for n in range(1, 5)}
    power = {n: workload.segments[0].power(n) for n in range(1, 5)}
    same = edit(edit(step, "workload.step", ...), "workload.throughput", {"table": table})
    same = edit(same, "workload.power", {"table": power})
    a = simulate(parse_scenario(step, label="a.yaml"), "sweep")
    b = simulate(parse_scenario(same, label="b.yaml"), "sweep")
    assert a.oracle.plan.degrees == b.oracle.plan.degrees
    assert a.oracle.plan.energy_j == pytest.approx(b.oracle.plan.energy_j, rel=1e-12)
    for name, scored in a.baselines.items():
        assert scored.run.energy_j == pytest.approx(b.baselines[name].run.energy_j, rel=1e-12)


# Baselines and oracle of existing scenarios, recorded before the extension (they do not depend
# on the decision engine, which changes on its own): (energy_j, time_s, resizes) per baseline.
Golden = tuple[dict[str, tuple[float, float, int]], tuple[float, float, tuple[int, ...]]]
GOLDEN: dict[str, Golden] = {
    "autoscaler/sim/scenarios/interior-optimum.yaml": (
        {
            "static-initial": (61679999.99999953, 41119.99999999969, 0),
            "static-max": (64410000.00000002, 11300.000000000004, 0),
            "throughput-max": (59169822.00011314, 12201.925882375124, 16),
            "sweep": (47418321.11069312, 14265.551851725188, 16),
        },
        (43920000.0, 16266.666666666668, (6,)),
    ),
    "benchmarks/scenarios/drift-phases.yaml": (
        {
            "static-initial": (37396825.766233705, 16986.929870129843, 0),
            "static-max": (92991268.57142866, 14429.714285714297, 0),
            "throughput-max": (85671340.16928285, 14766.931523735673, 16),
            "sweep": (40982319.81142217, 15226.633254759245, 16),
        },
        (34654871.68831169, 13659.584415584417, (5, 11, 3)),
    ),
    "benchmarks/scenarios/budget-binding.yaml": (
        {
            "static-initial": (30634999.999999974, 13924.999999999989, 0),
            "static-max": (42218750.00000019, 6031.250000000028, 0),
            "throughput-max": (41694488.173977226, 7053.710329390489, 16),
            "sweep": (34008272.293539, 8835.861129878684, 16),
        },
        (34444363.63636364, 7007.272727272728, (11, 10)),
    ),
}  # fmt: skip


@pytest.mark.parametrize("relpath", sorted(GOLDEN))
def test_existing_scenario_scores_exactly_as_before_the_extension(relpath: str) -> None:
    baselines, (oracle_e, oracle_t, oracle_degrees) = GOLDEN[relpath]
    report = simulate(load_scenario(REPO / relpath), "sweep")
    plan = report.oracle.plan
    assert (plan.energy_j, plan.time_s, plan.degrees) == (oracle_e, oracle_t, oracle_degrees)
    for name, expected in baselines.items():
        run_ = report.baselines[name].run
        assert (run_.energy_j, run_.time_s, run_.resizes) == expected, name


def test_every_bundled_scenario_still_loads() -> None:
    paths = [
        *REPO.glob("autoscaler/sim/scenarios/*.yaml"),
        *REPO.glob("benchmarks/scenarios/*.yaml"),
    ]
    assert len(paths) >= 17
    for path in paths:
        s = load_scenario(path)
        assert s.workload.step is None and s.workload.workers_per_node is None
        assert math.isfinite(s.workload.total_samples)
