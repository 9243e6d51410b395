"""What a local run learned, as data: ``report.json``, and the closing text summary.

Pure: the loop fills a :class:`RunRecord`; :func:`build_report` turns it into a JSON-able dict
(the plot in ``plot.py`` and the summary read only that dict, so a report on disk can
be re-plotted). Energy figures always travel with their source label; energy drawn while the
job restarts is not metered by the workers, and the report says so instead of guessing it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autoscaler.actuators.torchrun import ResizeEvent
from autoscaler.decision import PolicyConfig
from autoscaler.decision.ledger import Ledger
from autoscaler.decision.types import Decision, DegreePrediction, Quality, Window
from autoscaler.runtime.local.priced import priced_lines, priced_view
from autoscaler.runtime.local.summary import (
    counterfactuals,
    files_line,
    marginal_view,
    run_status,
    summary_lines,
)


@dataclass
class RunRecord:
    """Everything the loop saw, in order. Times are unix seconds."""

    command: list[str]
    settings: dict[str, Any]
    started_at_s: float
    start_replicas: int
    windows: list[Window] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    resizes: list[ResizeEvent] = field(default_factory=list)
    predictions: tuple[DegreePrediction, ...] = ()
    ended_at_s: float | None = None
    final_replicas: int | None = None
    outcome: str = "running"  # finished | interrupted | failed: <why>
    samples_done: float = 0.0


def _num(x: float | None) -> float | None:
    """JSON has no NaN/inf: they become null."""
    return None if x is None or not math.isfinite(x) else x


def _window(w: Window) -> dict[str, Any]:
    return {
        "start_s": w.start_s, "end_s": w.end_s, "replicas": w.replicas,
        "throughput_sps": _num(w.throughput_sps), "power_w": _num(w.power_w),
        "energy_j": _num(w.energy_j), "samples": _num(w.samples), "source": w.source,
        "quality": w.quality.value, "note": w.note,
        # the step's split as the engine saw it, so that a report replays its decisions
        "step_s": _num(w.step_s), "sync_s": _num(w.sync_s),
        "batch_per_worker": _num(w.batch_per_worker), "nodes": w.nodes,
    }  # fmt: skip


def _prediction(p: DegreePrediction) -> dict[str, Any]:
    return {k: (_num(v) if isinstance(v, float) else v) for k, v in asdict(p).items()}


def _decision(d: Decision) -> dict[str, Any]:
    return {
        "now_s": d.now_s, "current": d.current, "replicas": d.replicas,
        "reason": d.reason.value, "message": d.message, "feasible": d.feasible,
        "saving_pct": _num(d.saving_pct), "resize": d.resize,
    }  # fmt: skip


def measured_by_degree(windows: list[Window]) -> dict[int, dict[str, Any]]:
    """Steady-state (OK) windows pooled per degree: J/sample = Σ energy / Σ samples."""
    pooled: dict[int, dict[str, Any]] = {}
    for w in windows:
        if w.quality is not Quality.OK or not (w.samples > 0 and math.isfinite(w.energy_j)):
            continue
        p = pooled.setdefault(
            w.replicas, {"windows": 0, "duration_s": 0.0, "samples": 0.0, "energy_j": 0.0,
                         "sources": set()},
        )  # fmt: skip
        p["windows"] += 1
        p["duration_s"] += w.duration_s
        p["samples"] += w.samples
        p["energy_j"] += w.energy_j
        p["sources"].add(w.source)
    out: dict[int, dict[str, Any]] = {}
    for n, p in sorted(pooled.items()):
        dur = p["duration_s"]
        out[n] = {
            "replicas": n, "windows": p["windows"], "duration_s": dur,
            "throughput_sps": p["samples"] / dur if dur > 0 else None,
            "power_w": p["energy_j"] / dur if dur > 0 else None,
            "energy_per_sample_j": p["energy_j"] / p["samples"],
            "source": "+".join(sorted(p["sources"])),
        }  # fmt: skip
    return out


def energy_by_source(windows: list[Window]) -> dict[str, float]:
    """Joules the workers reported over the run's windows, per source label, counted by the
    job session's ledger rule (every quality but ``invalid``; each window once): the report's
    total is the one the engine's budget saw."""
    ledger = Ledger()
    for w in windows:
        ledger.count(w)
    return dict(ledger.energy_j)


def _energy_per_sample_at(report: dict[str, Any], n: int) -> tuple[float | None, str]:
    """J/sample at degree ``n``: measured if we have windows there, else the fitted value."""
    measured = report["measured"].get(str(n))
    if measured:
        return measured["energy_per_sample_j"], "measured"
    for p in report["predictions"]:
        if p["replicas"] == n:
            return p["energy_per_sample_j"], "predicted"
    return None, "unknown"


def build_report(rec: RunRecord) -> dict[str, Any]:
    """The JSON document. Keys are stable: the tests and the plot read them."""
    measured = measured_by_degree(rec.windows)
    final = rec.final_replicas if rec.final_replicas is not None else rec.start_replicas
    chosen: int | None = final
    measuring: dict[str, Any] | None = None
    last = rec.decisions[-1] if rec.decisions else None
    if rec.settings.get("dry_run"):
        if last is not None:
            chosen = last.replicas  # dry-run: the recommendation, not the degree run
    else:
        measuring = run_status(
            final, last.reason.value if last else None, last.replicas if last else None,
            measured.get(final, {}).get("windows", 0), PolicyConfig().min_windows_per_degree,
        )  # fmt: skip
        if measuring is not None:
            chosen = None  # never call a degree still being measured "chosen"
    latencies = [r.latency_s for r in rec.resizes if r.latency_s is not None and r.from_replicas]
    downtimes = [r.downtime_s for r in rec.resizes if r.downtime_s is not None and r.from_replicas]
    sources = sorted({w.source for w in rec.windows if w.source not in ("", "none")})
    report: dict[str, Any] = {
        "version": 1,
        "command": rec.command,
        "settings": rec.settings,
        "started_at_s": rec.started_at_s,
        "ended_at_s": rec.ended_at_s,
        "wall_s": None if rec.ended_at_s is None else rec.ended_at_s - rec.started_at_s,
        "outcome": rec.outcome,
        "start_replicas": rec.start_replicas,
        "chosen_replicas": chosen,
        "final_replicas": final,
        "ended_while_measuring": measuring,
        "static_power_w": float(rec.settings.get("static_power_w") or 0.0),
        "samples_done": rec.samples_done,
        "power_sources": sources,
        "energy_j_by_source": energy_by_source(rec.windows),
        "energy_note": "joules reported by the workers inside measurement windows (invalid ones "
        "not counted); energy drawn while the job restarts and settles after a resize is not in "
        "any window, so it is not counted. source=estimate is CPU time x watts per core.",
        "windows": [_window(w) for w in rec.windows],
        "measured": {str(n): m for n, m in measured.items()},
        "predictions": [_prediction(p) for p in rec.predictions],
        "decisions": [_decision(d) for d in rec.decisions],
        "resizes": [
            {**asdict(r), "latency_s": _num(r.latency_s), "downtime_s": _num(r.downtime_s)}
            for r in rec.resizes
        ],
        "resize_latency_median_s": _median(latencies),
        "resize_downtime_median_s": _median(downtimes),
    }
    start_e, start_how = _energy_per_sample_at(report, rec.start_replicas)
    chosen_e, chosen_how = (
        _energy_per_sample_at(report, chosen) if chosen is not None else (None, "unknown")
    )
    report["energy_per_sample"] = {
        "start_j": start_e, "start_basis": start_how,
        "chosen_j": chosen_e, "chosen_basis": chosen_how,
        "change_pct": None if not (start_e and chosen_e) else 100.0 * (chosen_e / start_e - 1.0),
        "source": "+".join(sources) or "none",
    }  # fmt: skip
    maximum = int(rec.settings.get("max_replicas") or max([final, *measured]))
    report["savings"] = (
        None
        if chosen is None or rec.settings.get("dry_run")
        else counterfactuals(
            report["measured"], chosen, rec.start_replicas, maximum, rec.samples_done
        )
    )
    report["marginal"] = marginal_view(report["measured"])
    report["priced"] = priced_view(report)  # money and gCO2 where prices were given
    return report


def _median(xs: list[float]) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])


def write_report_json(report: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "report.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str) + "\n")
    tmp.replace(path)
    return path


def summary_text(report: dict[str, Any], report_dir: Path) -> str:
    """The closing lines: outcome, chosen degree (or that none was), savings, the marginal
    view, resize latency, and the files that were written (``report["plot"]``)."""
    lines = [
        f"outcome: {report['outcome']}; {report['samples_done']:.0f} samples"
        + (f" in {report['wall_s']:.0f} s" if report["wall_s"] is not None else "")
    ]
    lines += summary_lines(report)
    lines += priced_lines(report)
    if report["resize_latency_median_s"] is not None:
        lines.append(
            f"resize latency (decision -> first step), median: "
            f"{report['resize_latency_median_s']:.1f} s (training paused "
            f"{report['resize_downtime_median_s']:.1f} s) over "
            f"{sum(1 for r in report['resizes'] if r['from_replicas'] and r['latency_s'])} "
            "resize(s)"
        )
    lines.append(files_line(report_dir, report.get("plot")))
    return "\n".join(lines)
