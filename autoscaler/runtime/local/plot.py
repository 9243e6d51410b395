"""``report.png``: throughput, power and J/sample against the degree, from ``report.json``.

Measured points are every steady-state window (small dots) and their pooled mean per degree
(large markers); the line is the engine's fitted curve (with its one-sigma band on J/sample);
the chosen degree is a vertical line. The power axis names its source, so an estimate is
never read as a meter reading. matplotlib is an optional extra (``report``) and runs on the
Agg backend: no display needed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from autoscaler.runtime.local.static_power import source_label

log = logging.getLogger(__name__)


class PlotUnavailable(Exception):
    """matplotlib is not installed (``pip install 'energy-autoscaler[report]'``)."""


def plot_report(report: dict[str, Any], path: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise PlotUnavailable(
            "matplotlib is not installed; install the 'report' extra for report.png"
        ) from e

    source = source_label(report["energy_per_sample"]["source"], report.get("static_power_w") or 0)
    ok = [w for w in report["windows"] if w["quality"] == "ok" and w["samples"]]
    preds = report["predictions"]
    measured = report["measured"]
    chosen = report["chosen_replicas"]
    measuring = report.get("ended_while_measuring")
    if chosen is not None:
        verb = "recommended" if report["settings"].get("dry_run") else "chosen"
        mark, mark_label, title = chosen, f"{verb}: {chosen}", f"{verb} degree {chosen}"
    else:
        mark = measuring["replicas"] if measuring else report.get("final_replicas")
        mark_label = f"still measuring: {mark}"
        title = f"ended while measuring {mark} workers: no degree chosen"
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    panels = [
        ("throughput_sps", "throughput (samples/s)", 1.0),
        ("power_w", f"power (W, {source})", 1.0),
        ("energy_per_sample_j", f"energy per sample (mJ, {source})", 1e3),
    ]
    for ax, (key, label, scale) in zip(axes, panels, strict=True):
        if key == "energy_per_sample_j":
            xs = [w["replicas"] for w in ok if w["energy_j"] is not None]
            ys = [w["energy_j"] / w["samples"] * scale for w in ok if w["energy_j"] is not None]
        else:
            xs = [w["replicas"] for w in ok if w[key] is not None]
            ys = [w[key] * scale for w in ok if w[key] is not None]
        ax.scatter(xs, ys, s=12, alpha=0.4, color="tab:blue", label="windows")
        mx = [int(n) for n in measured if measured[n][key] is not None]
        my = [measured[str(n)][key] * scale for n in mx]
        ax.scatter(
            mx, my, s=60, color="tab:blue", edgecolor="black", zorder=3, label="measured (pooled)"
        )
        if preds:
            px = [p["replicas"] for p in preds if p[key] is not None]
            py = [p[key] * scale for p in preds if p[key] is not None]
            ax.plot(px, py, color="tab:orange", label="fitted")
            if key == "energy_per_sample_j":
                sd = [
                    (p["energy_per_sample_sd_j"] or 0.0) * scale
                    for p in preds
                    if p[key] is not None
                ]
                ax.fill_between(
                    px,
                    [y - s for y, s in zip(py, sd, strict=True)],
                    [y + s for y, s in zip(py, sd, strict=True)],
                    color="tab:orange",
                    alpha=0.2,
                    label="±1 sd",
                )
        if mark is not None:
            ax.axvline(mark, color="tab:green" if chosen is not None else "tab:red",
                       linestyle="--", label=mark_label)  # fmt: skip
        ax.set_xlabel("workers")
        ax.set_ylabel(label)
        lo, hi = report["settings"].get("min_replicas", 1), report["settings"].get("max_replicas")
        if hi:
            ax.set_xticks(list(range(int(lo), int(hi) + 1)))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    turning = (report.get("marginal") or {}).get("turning_point")
    if turning is not None:
        title += f"; turning point at {turning}"
    fig.suptitle(f"energy-autoscaler local — {report['outcome']}, {title}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def try_plot(report: dict[str, Any], path: Path) -> dict[str, Any]:
    """Draw ``report.png`` if possible; say what happened (``report["plot"]``) so that the
    closing line names only files that exist. A broken plot never costs the report itself."""
    try:
        plot_report(report, path)
    except PlotUnavailable as e:
        return {"written": False, "why": str(e)}
    except Exception as e:  # the JSON report matters more than its picture
        log.warning("report.png not drawn", exc_info=True)
        return {"written": False, "why": f"drawing failed: {type(e).__name__}: {e}"}
    return {"written": True, "path": path.name}
