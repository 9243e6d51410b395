"""What local mode shows while it runs: a redrawn table on a terminal, one line per decision
otherwise (logs, CI, pipes). Rendering is pure (text from values) so tests read it directly.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import TextIO

from autoscaler.decision.types import Decision, Window
from autoscaler.runtime.local.static_power import source_label

_CLEAR = "\x1b[H\x1b[2J"


@dataclass(frozen=True)
class ViewState:
    elapsed_s: float
    degree: int
    samples_done: float
    total_samples: float | None
    window: Window | None
    decision: Decision | None
    dry_run: bool
    status: str = ""  # e.g. "resizing 1 -> 2"
    static_w: float = 0.0  # the host's static power inside the window's figures (an estimate)


def _fmt(x: float | None, spec: str, scale: float = 1.0) -> str:
    return "-" if x is None or not math.isfinite(x) else format(x * scale, spec)


def _j_per_sample(w: Window) -> float | None:
    return w.energy_j / w.samples if w.samples > 0 and math.isfinite(w.energy_j) else None


def decision_line(s: ViewState) -> str:
    """The plain one-liner per decision (no terminal)."""
    w, d = s.window, s.decision
    parts = [f"t={s.elapsed_s:6.1f}s", f"n={s.degree}"]
    if w is not None:
        parts += [
            f"thr={_fmt(w.throughput_sps, '.0f')}/s",
            f"power={_fmt(w.power_w, '.1f')}W[{source_label(w.source, s.static_w)}]",
            f"J/sample={_fmt(_j_per_sample(w), '.3f', 1e3)}m",
            f"window={w.quality.value}",
        ]
    if d is not None:
        verb = "recommend" if s.dry_run else "decide"
        parts.append(f"{verb}={d.replicas} {d.reason.value}: {d.message}")
    if s.status:
        parts.append(f"({s.status})")
    return " ".join(parts)


def render_table(s: ViewState) -> str:
    """The compact live view for a terminal."""
    w, d = s.window, s.decision
    mode = "dry-run (recommend only)" if s.dry_run else "resizing live"
    progress = f"{s.samples_done:,.0f}"
    if s.total_samples:
        progress += f" / {s.total_samples:,.0f} ({100 * s.samples_done / s.total_samples:.0f}%)"
    lines = [
        f"energy-autoscaler local — {mode} — {s.elapsed_s:.0f} s",
        f"degree {s.degree}   samples {progress}" + (f"   [{s.status}]" if s.status else ""),
    ]
    if w is not None:
        lines.append(
            f"last window: {_fmt(w.throughput_sps, ',.0f')} samples/s   "
            f"{_fmt(w.power_w, '.1f')} W ({source_label(w.source, s.static_w)})   "
            f"{_fmt(_j_per_sample(w), '.3f', 1e3)} mJ/sample   [{w.quality.value}]"
        )
    if d is not None and d.predictions:
        lines.append("")
        lines.append(f"{'workers':>7} {'samples/s':>10} {'power W':>8} {'mJ/sample':>14}  ")
        for p in d.predictions:
            mark = " <- now" if p.replicas == s.degree else ""
            mark += " * target" if p.replicas == d.replicas and d.resize else ""
            lines.append(
                f"{p.replicas:>7} {_fmt(p.throughput_sps, ',.0f'):>10} "
                f"{_fmt(p.power_w, '.1f'):>8} "
                f"{_fmt(p.energy_per_sample_j, '.3f', 1e3):>7}±"
                f"{_fmt(p.energy_per_sample_sd_j, '<6.3f', 1e3)} "
                f"{'measured' if p.measured else 'fitted':<8}{mark}"
            )
    if d is not None:
        verb = "recommendation" if s.dry_run else "decision"
        lines += ["", f"{verb}: {d.replicas} worker(s) — {d.reason.value}", f"  {d.message}"]
    lines.append("")
    lines.append("Ctrl-C stops the job cleanly (final checkpoint) and writes the report.")
    return "\n".join(lines)


class LiveView:
    """Redraws on a terminal; prints one line per decision elsewhere."""

    def __init__(self, out: TextIO | None = None, live: bool | None = None) -> None:
        self._out = out or sys.stdout
        self.live = self._out.isatty() if live is None else live

    def show(self, state: ViewState, *, new_decision: bool) -> None:
        if self.live:
            self._out.write(_CLEAR + render_table(state) + "\n")
            self._out.flush()
        elif new_decision:
            self._out.write(decision_line(state) + "\n")
            self._out.flush()

    def note(self, text: str) -> None:
        """A one-off message (resize, error); on a terminal it shows until the next redraw."""
        self._out.write(text + "\n")
        self._out.flush()
