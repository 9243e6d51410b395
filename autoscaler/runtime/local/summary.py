"""What a local run can honestly claim at its end: was a degree chosen, what did it save, how
the job scales at the margin, and the closing text. Pure: reads and returns plain dicts.

- **Chosen or still measuring.** A job that ends right after an ``Explore`` move, or before its
  final degree has the engine's minimum of steady windows, ended *while measuring*: nothing was
  chosen, and the summary and the plot say so instead of calling the last degree "chosen".
- **Counterfactual savings**: measured J/sample × the samples done, at the chosen degree vs
  staying at the start degree and vs running at the maximum; time likewise from measured
  samples/s. Each only where that degree was measured ("not measured" otherwise): a fitted
  curve is not evidence of a saving.
- **Marginal efficiency** (:mod:`autoscaler.runtime.local.scaling`): extra samples/s per extra W
  from degree to degree, and the turning point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoscaler.runtime.local.scaling import Point, Step, describe_step, steps, turning_point
from autoscaler.runtime.local.static_power import source_label


def run_status(
    final: int,
    last_reason: str | None,
    last_target: int | None,
    windows_at_final: int,
    min_windows: int,
) -> dict[str, Any] | None:
    """None when ``final`` was chosen; else why the job ended while it was still measured."""
    if last_reason == "Explore" and last_target == final:
        why = "the last decision was Explore"
    elif windows_at_final < min_windows:
        why = f"{windows_at_final} of {min_windows} steady windows"
    else:
        return None
    return {"replicas": final, "why": why, "windows": windows_at_final, "needed": min_windows}


def counterfactuals(
    measured: dict[str, dict[str, Any]], chosen: int, start: int, maximum: int, samples: float
) -> dict[str, Any]:
    """Savings at ``chosen`` had all ``samples`` run at the start degree / at the maximum.
    Positive ``saved_j``/``saved_s``: the chosen degree used less energy / time."""
    here = measured.get(str(chosen))
    out: dict[str, Any] = {"chosen": chosen, "samples": samples}
    for label, n in (("vs_start", start), ("vs_max", maximum)):
        other = measured.get(str(n))
        entry: dict[str, Any] = {"replicas": n}
        if n == chosen:
            entry["same_degree"] = True
        elif here is None or other is None or samples <= 0:
            entry["measured"] = False
        else:
            e_here = here["energy_per_sample_j"] * samples
            e_other = other["energy_per_sample_j"] * samples
            t_here = samples / here["throughput_sps"]
            t_other = samples / other["throughput_sps"]
            entry.update(
                measured=True,
                energy_j=e_here, other_energy_j=e_other, saved_j=e_other - e_here,
                saved_pct=100.0 * (1.0 - e_here / e_other) if e_other > 0 else None,
                time_s=t_here, other_time_s=t_other, saved_s=t_other - t_here,
            )  # fmt: skip
        out[label] = entry
    return out


def marginal_view(measured: dict[str, dict[str, Any]]) -> dict[str, Any]:
    points = [
        Point(int(n), m["throughput_sps"], m["power_w"])
        for n, m in measured.items()
        if m.get("throughput_sps") and m.get("power_w") is not None
    ]
    return {"steps": [s.as_dict() for s in steps(points)], "turning_point": turning_point(points)}


def energy_text(joules: float) -> str:
    a = abs(joules)
    if a >= 3.6e6:
        return f"{joules / 3.6e6:.3g} kWh"
    if a >= 1e3:
        return f"{joules / 1e3:.3g} kJ"
    return f"{joules:.3g} J"


def _saving_text(entry: dict[str, Any], what: str) -> str:
    n = entry["replicas"]
    if entry.get("same_degree"):
        return f"{what} {n}: same degree"
    if not entry.get("measured"):
        return f"{what} {n}: not measured"
    saved, secs = entry["saved_j"], entry["saved_s"]
    energy = f"{energy_text(saved)} saved" if saved >= 0 else f"{energy_text(-saved)} more"
    pct = f" ({abs(entry['saved_pct']):.1f}%)" if entry.get("saved_pct") is not None else ""
    time = f"{secs:.0f} s faster" if secs >= 0 else f"{-secs:.0f} s slower"
    return f"{what} {n}: {energy}{pct}, {time}"


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Every closing line but the outcome, the latency and the file names (report.py)."""
    static_w = float(report.get("static_power_w") or 0.0)
    e = report["energy_per_sample"]
    source = source_label(e["source"], static_w)
    lines: list[str] = []
    dry = bool(report["settings"].get("dry_run"))
    chosen, start = report["chosen_replicas"], report["start_replicas"]
    measuring = report.get("ended_while_measuring")
    if measuring:
        lines.append(
            f"no degree chosen: the job ended while {measuring['replicas']} worker(s) was still "
            f"being measured ({measuring['why']}; started at {start})"
        )
    else:
        verb = "recommended" if dry else "chosen"
        lines.append(f"{verb} degree: {chosen} worker(s) (started at {start})")
    if chosen is not None and e["start_j"] and e["chosen_j"]:
        lines.append(
            f"energy per sample: {e['chosen_j'] * 1e3:.3f} mJ at {chosen} "
            f"({e['chosen_basis']}) vs {e['start_j'] * 1e3:.3f} mJ at "
            f"{start} ({e['start_basis']}): {e['change_pct']:+.1f}% [source: {source}]"
        )
    elif chosen is not None:
        lines.append(f"energy per sample: not enough steady-state windows [source: {source}]")
    savings = report.get("savings")
    if savings and not dry:
        lines.append(
            f"savings at {savings['chosen']} worker(s), had all {savings['samples']:,.0f} "
            f"samples run there: {_saving_text(savings['vs_start'], 'vs staying at')}; "
            f"{_saving_text(savings['vs_max'], 'vs the maximum')} [source: {source}]"
        )
    elif measuring:
        lines.append("savings: none claimed, no degree was chosen")
    cheaper = _cheaper_measured(report)
    if cheaper is not None:
        lines.append(cheaper)
    if report["measured"]:
        per_degree = ", ".join(
            f"{n}: {m['energy_per_sample_j'] * 1e3:.3f} mJ @ {m['throughput_sps']:,.0f}/s"
            for n, m in report["measured"].items()
        )
        lines.append(f"measured per degree: {per_degree}")
    marginal = report.get("marginal") or {}
    if marginal.get("steps"):
        text = "; ".join(describe_step(Step(**s)) for s in marginal["steps"])
        tp = marginal.get("turning_point")
        tail = (
            f" -> turning point at {tp} (least J/sample): past it more workers add more energy "
            "than speed"
            if tp is not None
            else " -> no turning point among the degrees measured"
        )
        lines.append(f"marginal efficiency (extra samples/s per extra W): {text}{tail}")
    if "estimate" in e["source"] and static_w <= 0:
        lines.append(
            "note: the CPU-time estimate has no static (idle) power, so its least energy per "
            "sample is at the fewest workers by construction; set --static-power (docs/local.md)"
        )
    return lines


def _cheaper_measured(report: dict[str, Any]) -> str | None:
    """With the energy objective, say so when another measured degree came out cheaper per
    sample than the chosen one: the engine moves only when the saving is clear of the noise
    (its lower confidence bound), and a reader should not have to find that in the table."""
    objective = report["settings"].get("objective") or {}
    chosen = report["chosen_replicas"]
    measured = report["measured"]
    if objective.get("kind") != "energy" or chosen is None or str(chosen) not in measured:
        return None
    here = measured[str(chosen)]["energy_per_sample_j"]
    n, best = min(measured.items(), key=lambda kv: kv[1]["energy_per_sample_j"])
    if int(n) == chosen or best["energy_per_sample_j"] >= here:
        return None
    return (
        f"note: {n} worker(s) measured cheaper per sample ({best['energy_per_sample_j'] * 1e3:.3f}"
        f" vs {here * 1e3:.3f} mJ), but not clearly enough, over the windows' noise, to pay "
        "for a resize (see the decisions' HoldNotWorthIt)"
    )


def files_line(report_dir: Path, plot: dict[str, Any] | None) -> str:
    """Names only the files that were written."""
    json_path = report_dir / "report.json"
    if plot and plot.get("written"):
        return f"report: {json_path} and {report_dir / 'report.png'}"
    why = (plot or {}).get("why") or "not drawn"
    return f"report: {json_path} (no report.png: {why})"
