"""One simulation: run the chosen policy and every baseline, solve the oracle, score regrets.

Regret is ``(run − oracle) / oracle`` of the objective value (see :mod:`autoscaler.sim.oracle`);
``energy_regret`` is the same on joules. A run meets its constraints when it finished by the
deadline (``time_s <= deadline_s``), within the budget (``energy_j <= energy_budget_j``) and
never above the power cap (``peak_power_w <= max_power_w``). With prices, every run is priced at
the true, time-varying prices (``cost``, ``carbon_g``).
"""

from __future__ import annotations

from dataclasses import dataclass

from autoscaler.decision.prices import Prices
from autoscaler.decision.types import JobSpec
from autoscaler.sim.baselines import BASELINE_NAMES, StaticPolicy, SweepPolicy
from autoscaler.sim.engine import Policy, RunResult, run_policy
from autoscaler.sim.oracle import OracleResult, solve
from autoscaler.sim.scenario import Scenario
from autoscaler.sim.workload import Workload

OURS = "energy-autoscaler"
POLICY_NAMES = (OURS, *BASELINE_NAMES)


@dataclass(frozen=True)
class Scored:
    """A run with its score against the oracle."""

    run: RunResult
    objective_regret: float
    energy_regret: float
    constraints_met: bool


@dataclass(frozen=True)
class SimulationReport:
    scenario: str
    policy: str
    ours: Scored
    oracle: OracleResult
    baselines: dict[str, Scored]


def job_spec(scenario: Scenario) -> JobSpec:
    """The JobSpec a policy gets: the simulation starts at t = 0, so the deadline is absolute.

    What the job's owner and platform know is passed on: the placement (workers per node) and,
    for a ``step`` workload, whether the global or the per-worker batch is fixed. The curves
    themselves are not: those the policy must measure.
    """
    job = scenario.job
    step = scenario.workload.step
    regime = None
    if step is not None:
        regime = "per-worker" if step.batch.per_worker is not None else "global"
    return JobSpec(
        workers_per_node=scenario.workload.workers_per_node,
        batch_regime=regime,
        min_replicas=job.min_replicas,
        max_replicas=job.max_replicas,
        objective=job.objective_parsed,
        energy_budget_j=job.energy_budget_j,
        deadline_s=job.deadline_s,
        total_samples=scenario.workload.total_samples,
        max_power_w=job.max_power_w,
        prices=scenario_prices(scenario),
    )


def scenario_prices(scenario: Scenario) -> Prices | None:
    return None if scenario.prices is None else scenario.prices.to_prices()


def make_policy(name: str, scenario: Scenario) -> tuple[Policy, int]:
    """The policy called ``name`` and the degree its job starts at."""
    spec = job_spec(scenario)
    downtime_s = scenario.workload.resize_downtime_s
    initial = scenario.job.initial_replicas
    if name == OURS:
        # Imported here: the decision engine pulls in scipy, which the CLI loads only on use.
        from autoscaler.decision import Controller, PolicyConfig

        return Controller(spec, PolicyConfig(resize_downtime_s=downtime_s)), initial
    if name == "static-initial":
        return StaticPolicy(), initial
    if name == "static-max":
        return StaticPolicy(), spec.max_replicas
    if name == "throughput-max":
        return SweepPolicy(spec, resize_downtime_s=downtime_s, throughput_only=True), initial
    if name == "sweep":
        return SweepPolicy(spec, resize_downtime_s=downtime_s), initial
    raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")


def run_named(scenario: Scenario, workload: Workload, name: str) -> RunResult:
    policy, start = make_policy(name, scenario)
    job = scenario.job
    return run_policy(
        workload,
        policy,
        name=name,
        start_replicas=start,
        min_replicas=job.min_replicas,
        max_replicas=job.max_replicas,
        interval_s=scenario.controller.interval_s,
        seed=scenario.seed,
        prices=scenario_prices(scenario),
        spec=job_spec(scenario),
    )


def solve_oracle(scenario: Scenario, workload: Workload) -> OracleResult:
    job = scenario.job
    return solve(
        workload,
        min_replicas=job.min_replicas,
        max_replicas=job.max_replicas,
        objective=job.objective_parsed,
        deadline_s=job.deadline_s,
        energy_budget_j=job.energy_budget_j,
        prices=scenario_prices(scenario),
        power_cap_w=job.max_power_w,
    )


def score(scenario: Scenario, oracle: OracleResult, run: RunResult) -> Scored:
    best = oracle.value(oracle.plan.energy_j, oracle.plan.time_s, oracle.cost, oracle.carbon_g)
    ours = oracle.value(run.energy_j, run.time_s, run.cost, run.carbon_g)
    job = scenario.job
    met = (
        (job.deadline_s is None or run.time_s <= job.deadline_s)
        and (job.energy_budget_j is None or run.energy_j <= job.energy_budget_j)
        and (job.max_power_w is None or run.peak_power_w <= job.max_power_w * (1 + 1e-9))
    )
    return Scored(
        run=run,
        objective_regret=(ours - best) / best,
        energy_regret=(run.energy_j - oracle.plan.energy_j) / oracle.plan.energy_j,
        constraints_met=met,
    )


def simulate(scenario: Scenario, policy: str = OURS) -> SimulationReport:
    """Run ``policy`` as "ours", every baseline, and the oracle on ``scenario``."""
    if policy not in POLICY_NAMES:
        raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICY_NAMES)}")
    workload = Workload(scenario)
    oracle = solve_oracle(scenario, workload)
    runs = {name: run_named(scenario, workload, name) for name in BASELINE_NAMES}
    ours = runs[policy] if policy in runs else run_named(scenario, workload, policy)
    return SimulationReport(
        scenario=scenario.name,
        policy=policy,
        ours=score(scenario, oracle, ours),
        oracle=oracle,
        baselines={name: score(scenario, oracle, run) for name, run in runs.items()},
    )
