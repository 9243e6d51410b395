"""``sweep.png``: the study at a glance, from ``sweep.json``'s dict.

Left: throughput against the degree, with the ideal (linear from the base run). Middle: energy
per sample (its source in the axis label, so an estimate is never read as a meter reading).
Right: speed-up and energy ratio against the base run: past the turning point the energy ratio
grows while the speed-up no longer does. The turning point is a vertical line on every panel.
matplotlib is the optional ``report`` extra, on the Agg backend.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def try_plot_sweep(study: dict[str, Any], path: Path) -> tuple[bool, str]:
    """(written, why not). Never raises: the JSON matters more than its picture."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False, "matplotlib is not installed; install the 'report' extra for sweep.png"
    rows = [r for r in study["rows"] if r.get("speedup") is not None]
    if not rows:
        return False, "no degree was measured"
    try:
        xs = [r["replicas"] for r in rows]
        base = rows[0]
        sources = sorted({r["energy_source"] for r in rows})
        fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
        ideal = [base["throughput_sps"] * n / base["replicas"] for n in xs]
        axes[0].plot(xs, [r["throughput_sps"] for r in rows], "o-", label="measured")
        axes[0].plot(xs, ideal, ":", color="grey", label="ideal (linear)")
        axes[0].set_ylabel("throughput (samples/s, measured)")
        axes[1].plot(xs, [r["energy_per_sample_j"] * 1e3 for r in rows], "o-", color="tab:red")
        axes[1].set_ylabel(f"energy per sample (mJ, {', '.join(sources)})")
        axes[2].plot(xs, [r["speedup"] for r in rows], "o-", label="speed-up")
        axes[2].plot(xs, [r["energy_ratio"] for r in rows], "s-", color="tab:red",
                     label="energy ratio (same work)")  # fmt: skip
        axes[2].axhline(1.0, color="grey", linewidth=0.8)
        axes[2].set_ylabel(f"vs {base['replicas']} worker(s)")
        tp = study.get("turning_point")
        for ax in axes:
            if tp is not None:
                ax.axvline(tp, color="tab:green", linestyle="--", label=f"turning point: {tp}")
            ax.set_xlabel("workers")
            ax.set_xticks(xs)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        axes[2].legend(fontsize=8)
        title = f"energy-autoscaler sweep — {study.get('outcome', '')}"
        title += f"; turning point at {tp} workers" if tp is not None else "; no turning point"
        fig.suptitle(title)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plt.close(fig)
    except Exception as e:  # the JSON matters more than its picture
        log.warning("sweep.png not drawn", exc_info=True)
        return False, f"drawing failed: {type(e).__name__}: {e}"
    return True, ""
