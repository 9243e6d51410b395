"""``sweep``'s results as data and as a table: the offline scaling study, from measured rows.

Pure. A row is one degree's pooled steady-state windows (seconds, samples, joules, source).
Against the base run (one worker when swept, else the fewest): **speed-up** = X(n)/X(base),
**energy ratio** = (J/sample at n)/(J/sample at base) — the energy of the same work —,
**parallel efficiency** = speed-up × base / n, and the **marginal efficiency** of the worker(s)
added since the previous degree, Δthroughput/Δpower (extra samples/s per extra W), next to the
previous degree's average (samples/s per W). Where the marginal falls below the average, the
energy per sample rises: the extra workers add more energy than speed. The **turning point**
is the degree of least energy per sample with larger degrees beyond it
(:mod:`autoscaler.runtime.local.scaling`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from autoscaler.runtime.local.scaling import Point, Step, steps, turning_point
from autoscaler.runtime.local.static_power import source_label


@dataclass(frozen=True)
class DegreeRun:
    """What one degree measured: pooled OK windows (``windows`` of them, ``dropped`` not OK)."""

    replicas: int
    duration_s: float
    samples: float
    energy_j: float
    source: str
    windows: int
    dropped: int = 0
    note: str = ""

    @property
    def throughput_sps(self) -> float:
        return self.samples / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else math.nan

    @property
    def energy_per_sample_j(self) -> float:
        return self.energy_j / self.samples if self.samples > 0 else math.nan

    @property
    def usable(self) -> bool:
        return self.windows > 0 and self.samples > 0 and math.isfinite(self.energy_j)


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def analyse(runs: list[DegreeRun], static_w: float = 0.0) -> dict[str, Any]:
    """The study as a JSON-able dict: ``rows`` (one per degree), ``steps``, ``turning_point``."""
    usable = sorted((r for r in runs if r.usable), key=lambda r: r.replicas)
    base = usable[0] if usable else None
    points = [Point(r.replicas, r.throughput_sps, r.power_w) for r in usable]
    all_steps = steps(points)
    step_to = {s.to_replicas: s for s in all_steps}
    rows: list[dict[str, Any]] = []
    for r in sorted(runs, key=lambda r: r.replicas):
        row: dict[str, Any] = {
            **asdict(r),
            "throughput_sps": _finite(r.throughput_sps),
            "power_w": _finite(r.power_w),
            "energy_per_sample_j": _finite(r.energy_per_sample_j),
            "time_source": "measured (wall clock)",
            "energy_source": source_label(r.source, static_w),
        }
        if base is not None and r.usable:
            speedup = r.throughput_sps / base.throughput_sps
            base_jps = base.energy_per_sample_j
            row.update(
                speedup=speedup,
                energy_ratio=r.energy_per_sample_j / base_jps if base_jps > 0 else None,
                parallel_efficiency=speedup * base.replicas / r.replicas,
            )
        s = step_to.get(r.replicas) if r.usable else None
        row["marginal"] = s.as_dict() if s is not None else None
        rows.append(row)
    tp = turning_point(points)
    return {
        "base_replicas": base.replicas if base else None,
        "static_power_w": static_w,
        "rows": rows,
        "steps": [s.as_dict() for s in all_steps],
        "turning_point": tp,
    }


def _f(x: float | None, spec: str, scale: float = 1.0) -> str:
    return "-" if x is None or not math.isfinite(x) else format(x * scale, spec)


def _marginal_cell(m: dict[str, Any] | None) -> str:
    if m is None:
        return "-"
    s = Step(**m)
    if s.marginal_sps_per_w is not None:
        text = f"{s.marginal_sps_per_w:,.0f}"
    else:
        text = "free" if s.d_throughput_sps > 0 else "no gain"
    return text + ("  <avg" if s.adds_more_energy_than_speed else "")


def table_text(study: dict[str, Any]) -> str:
    """The table ``sweep`` prints (and the README shows)."""
    base = study["base_replicas"]
    head = (
        f"{'workers':>7} {'time s':>7} {'samples':>11} {'samples/s':>10} {'energy J':>9} "
        f"{'mJ/sample':>9} {'speed-up':>8} {'energy x':>8} {'par.eff':>7} "
        f"{'marginal /s per W':>18} {'avg /s per W':>12}"
    )
    lines = [head]
    tp = study["turning_point"]
    for r in study["rows"]:
        avg = (
            r["throughput_sps"] / r["power_w"]
            if r["throughput_sps"] and r["power_w"] and r["power_w"] > 0
            else None
        )
        line = (
            f"{r['replicas']:>7} {_f(r['duration_s'], '.1f'):>7} {_f(r['samples'], ',.0f'):>11} "
            f"{_f(r['throughput_sps'], ',.0f'):>10} {_f(r['energy_j'], ',.0f'):>9} "
            f"{_f(r['energy_per_sample_j'], '.3f', 1e3):>9} "
            f"{_f(r.get('speedup'), '.2f'):>8} {_f(r.get('energy_ratio'), '.2f'):>8} "
            f"{_f(r.get('parallel_efficiency'), '.0%'):>7} "
            f"{_marginal_cell(r['marginal']):>18} {_f(avg, ',.0f'):>12}"
        )
        if r["replicas"] == tp:
            line += "  <- turning point"
        if not r["windows"]:
            line += f"  (not measured: {r['note'] or 'no steady window'})"
        lines.append(line)
    sources = sorted({r["energy_source"] for r in study["rows"] if r["windows"]})
    lines.append(
        f"time: measured (wall clock); energy and mJ/sample: {', '.join(sources) or 'none'}; "
        f"speed-up, energy x (energy of the same work) and par.eff against {base} worker(s); "
        "marginal: extra samples/s per extra W since the previous degree (<avg: below the "
        "previous degree's average, so the energy per sample rose)"
    )
    if tp is not None:
        lines.append(
            f"turning point: {tp} worker(s), the least energy per sample; past it more "
            "workers add more energy than speed"
        )
    elif len(study["steps"]) > 0:
        lines.append(
            "turning point: none among the degrees swept (the largest is the cheapest per sample)"
        )
    return "\n".join(lines)
