"""How a simulation is shown: the ``--json`` object (a contract) and a readable summary table."""

from __future__ import annotations

from typing import Any

from autoscaler.sim.compare import Scored, SimulationReport


def to_json(report: SimulationReport) -> dict[str, Any]:
    """The ``--json`` object. Keys are a contract (README, docs/simulator.md); add, never rename."""
    ours = report.ours
    run = ours.run
    plan = report.oracle.plan
    return {
        "scenario": report.scenario,
        "policy": report.policy,
        "energy_j": run.energy_j,
        "time_s": run.time_s,
        "cost": run.cost,
        "carbon_g": run.carbon_g,
        "peak_power_w": run.peak_power_w,
        "resizes": run.resizes,
        "final_replicas": run.final_replicas,
        "feasible": report.oracle.feasible,
        "constraints_met": ours.constraints_met,
        "objective_regret": ours.objective_regret,
        "energy_regret": ours.energy_regret,
        "oracle": {
            "replicas": report.oracle.replicas,
            "energy_j": plan.energy_j,
            "time_s": plan.time_s,
            "cost": report.oracle.cost,
            "carbon_g": report.oracle.carbon_g,
        },
        "baselines": {
            name: {
                "energy_j": s.run.energy_j,
                "time_s": s.run.time_s,
                "cost": s.run.cost,
                "carbon_g": s.run.carbon_g,
                "peak_power_w": s.run.peak_power_w,
                "objective_regret": s.objective_regret,
                "constraints_met": s.constraints_met,
            }
            for name, s in report.baselines.items()
        },
        "trajectory": [
            {
                "t_s": p.t_s,
                "replicas": p.replicas,
                "throughput_sps": p.throughput_sps,
                "power_w": p.power_w,
            }
            for p in run.trajectory
        ],
    }


def _row(name: str, s: Scored, *, ours: bool) -> str:
    run = s.run
    met = "yes" if s.constraints_met else "NO"
    label = f"{name} (ours)" if ours else name
    return (
        f"{label:<28} {run.energy_j / 3.6e6:>10.3f} {run.time_s / 3600:>8.3f} "
        f"{100 * s.objective_regret:>+9.2f}% {100 * s.energy_regret:>+9.2f}% "
        f"{run.resizes:>7d} {run.final_replicas:>6d} {met:>5}"
    )


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def summary_table(report: SimulationReport) -> str:
    """A readable comparison: ours, each baseline and the oracle, one row each."""
    oracle = report.oracle
    plan = oracle.plan
    degrees = "→".join(str(d) for d in plan.degrees)
    head = (
        f"{'policy':<28} {'energy kWh':>10} {'time h':>8} {'obj regret':>10} "
        f"{'E regret':>10} {'resizes':>7} {'final':>6} {'met':>5}"
    )
    lines = [
        f"scenario: {report.scenario}   objective scored: {oracle.objective}   "
        f"feasible: {'yes' if oracle.feasible else 'NO (oracle follows the fallback rule)'}",
        head,
        "-" * len(head),
        _row(report.policy, report.ours, ours=True),
    ]
    lines += [_row(n, s, ours=False) for n, s in report.baselines.items() if n != report.policy]
    lines.append(
        f"{'oracle (' + degrees + ')':<28} {plan.energy_j / 3.6e6:>10.3f} "
        f"{plan.time_s / 3600:>8.3f} {0:>+9.2f}% {0:>+9.2f}%"
    )
    runs = [(report.policy, report.ours)]
    runs += [(n, s) for n, s in report.baselines.items() if n != report.policy]
    priced = [(n, s.run.cost, s.run.carbon_g) for n, s in runs]
    if report.ours.run.cost is not None or report.ours.run.carbon_g is not None:
        priced.append(("oracle", oracle.cost, oracle.carbon_g))
        lines.append("at the scenario's prices: " + "; ".join(
            f"{n} {_money(c)} money, {_money(g)} gCO2" for n, c, g in priced
        ))
    reasons = ", ".join(f"{r}×{c}" for r, c in report.ours.run.reasons.items())
    lines.append(f"decisions of {report.policy}: {reasons or 'none'}")
    if report.ours.run.reported_infeasible:
        lines.append(f"{report.policy} reported the job infeasible at its last decision")
    return "\n".join(lines)
