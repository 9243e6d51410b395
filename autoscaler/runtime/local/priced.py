"""Money and gCO2 of a local run, where prices were given (issue 12), beside its energy.

Pure: reads the report dict that :func:`autoscaler.runtime.local.report.build_report` makes
(the settings, the energy per source, the windows, the measured degrees and the savings) and
returns plain dicts and lines. Every figure derived from joules keeps the joules' source label
(a price times an NVML or RAPL reading is as good as the reading; times a CPU-time estimate it
is an estimate too); the worker price is charged on the windows' wall-clock time and says so.
Prices are the run's flags (``--price-per-kwh``, ``--price-per-worker-hour``,
``--carbon-g-per-kwh``: numbers or daily schedules in ``--price-timezone``); a schedule is
integrated over each window for the totals. Money is in the user's own currency, unnamed.
"""

from __future__ import annotations

import math
from typing import Any

from autoscaler import tariffs
from autoscaler.decision.prices import Rate
from autoscaler.runtime.local.static_power import source_label

J_PER_KWH = 3.6e6
S_PER_HOUR = 3600.0
WALL_CLOCK = "wall clock"


def _rate(settings: dict[str, Any], key: str, start_s: float) -> Rate | None:
    """A price setting: a number, or a daily schedule's text in ``price_timezone``."""
    value = settings.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return tariffs.parse_price(value, str(settings.get("price_timezone") or "UTC"), start_s)
    return Rate.constant(float(value))


def _mean(rate: Rate | None, t0: float, t1: float) -> float | None:
    """The price's mean over the run (its value at t0 for an empty run)."""
    if rate is None:
        return None
    return float(rate.mean_over(t0, max(t1 - t0, 0.0)))


def _over_windows(windows: list[dict[str, Any]], rate: Rate, per_window: str) -> dict[str, float]:
    """Σ over the windows of (energy's mean power, or the workers) × ∫ price dt, per source."""
    out: dict[str, float] = {}
    for w in windows:
        t0, t1 = float(w["start_s"]), float(w["end_s"])
        if t1 <= t0:
            continue
        price_s = float(rate.integral(t0, t1))  # price x seconds
        if per_window == "energy":
            e = w.get("energy_j")
            if e is None or not math.isfinite(e) or e < 0:
                continue
            key, amount = str(w["source"]), e / (t1 - t0) * price_s / J_PER_KWH
        else:
            key, amount = WALL_CLOCK, w["replicas"] * price_s / S_PER_HOUR
        out[key] = out.get(key, 0.0) + amount
    return out


def _per_sample(m: dict[str, Any] | None, n: int, kwh: float | None, worker_h: float | None,
                g_kwh: float | None) -> dict[str, Any] | None:
    """Money and gCO2 per sample at degree ``n`` from its measured J/sample and samples/s."""
    if not m or not m.get("energy_per_sample_j") or not m.get("throughput_sps"):
        return None
    e, x = float(m["energy_per_sample_j"]), float(m["throughput_sps"])
    out: dict[str, Any] = {"replicas": n}
    if kwh is not None or worker_h is not None:
        out["money"] = e * (kwh or 0.0) / J_PER_KWH + n / x * (worker_h or 0.0) / S_PER_HOUR
    if g_kwh is not None:
        out["carbon_g"] = e * g_kwh / J_PER_KWH
    return out


def _saving(entry: dict[str, Any], chosen: int, kwh: float | None, worker_h: float | None,
            g_kwh: float | None) -> dict[str, Any]:
    """A counterfactual of :func:`summary.counterfactuals`, priced."""
    out: dict[str, Any] = {"replicas": entry["replicas"]}
    if entry.get("same_degree"):
        out["same_degree"] = True
        return out
    if not entry.get("measured"):
        out["measured"] = False
        return out
    if kwh is not None or worker_h is not None:
        worker_s = entry["other_time_s"] * entry["replicas"] - entry["time_s"] * chosen
        out["saved_money"] = (entry["saved_j"] * (kwh or 0.0) / J_PER_KWH
                              + worker_s * (worker_h or 0.0) / S_PER_HOUR)
    if g_kwh is not None:
        out["saved_carbon_g"] = entry["saved_j"] * g_kwh / J_PER_KWH
    return out


def priced_view(report: dict[str, Any]) -> dict[str, Any] | None:
    """The run's money and gCO2 (None: no price was given). Totals integrate each price over
    each window; per-sample figures and savings use each price's mean over the run."""
    settings = report.get("settings") or {}
    t0 = float(report.get("started_at_s") or 0.0)
    t1 = float(report.get("ended_at_s") or t0)
    rates = {k: _rate(settings, k, t0)
             for k in ("price_per_kwh", "price_per_worker_hour", "carbon_g_per_kwh")}
    if all(r is None for r in rates.values()):
        return None
    e_rate, w_rate, g_rate = rates.values()
    kwh, worker_h, g_kwh = (_mean(r, t0, t1) for r in rates.values())
    out: dict[str, Any] = {
        "price_per_kwh": kwh, "price_per_worker_hour": worker_h, "carbon_g_per_kwh": g_kwh,
        "scheduled": sorted(k for k, r in rates.items() if r is not None and not r.is_constant),
    }
    windows = report.get("windows") or []
    if e_rate is not None:
        out["energy_money_by_source"] = _over_windows(windows, e_rate, "energy")
    if w_rate is not None:
        out["worker_money"] = _over_windows(windows, w_rate, "workers")
    if g_rate is not None:
        out["carbon_g_by_source"] = _over_windows(windows, g_rate, "energy")
    measured = report.get("measured") or {}
    chosen, start = report.get("chosen_replicas"), report["start_replicas"]
    out["per_sample"] = {
        "start": _per_sample(measured.get(str(start)), start, kwh, worker_h, g_kwh),
        "chosen": None if chosen is None else _per_sample(measured.get(str(chosen)), chosen,
                                                          kwh, worker_h, g_kwh),
    }
    savings = report.get("savings")
    if savings and chosen is not None:
        out["savings"] = {k: _saving(savings[k], chosen, kwh, worker_h, g_kwh)
                          for k in ("vs_start", "vs_max")}
    return out


def _sources(by_source: dict[str, float], fmt: str, static_w: float = 0.0) -> str:
    return ", ".join(f"{fmt.format(v)} [source: {source_label(s, static_w)}]"
                     for s, v in sorted(by_source.items()))


def priced_lines(report: dict[str, Any]) -> list[str]:
    """Closing lines on money and gCO2 (none without prices)."""
    view = report.get("priced")
    if not view:
        return []
    lines: list[str] = []
    static_w = float(report.get("static_power_w") or 0.0)
    money = [_sources(view.get("energy_money_by_source") or {}, "{:.4g} for energy", static_w),
             _sources(view.get("worker_money") or {}, "{:.4g} for workers")]
    money = [m for m in money if m]
    if money:
        lines.append("cost in the measured windows: " + "; ".join(money))
    if view.get("carbon_g_by_source") is not None:
        lines.append("carbon in the measured windows: "
                     + _sources(view["carbon_g_by_source"], "{:.4g} gCO2", static_w))
    per = view.get("per_sample") or {}
    parts = []
    for label in ("chosen", "start"):
        p = per.get(label)
        if p:
            figures = [f"{p['money']:.4g} money" if "money" in p else "",
                       f"{p['carbon_g']:.4g} gCO2" if "carbon_g" in p else ""]
            parts.append(f"{label} {p['replicas']}: " + ", ".join(f for f in figures if f))
    if parts:
        basis = " at each price's mean over the run" if view.get("scheduled") else ""
        lines.append(f"per sample (measured{basis}): " + "; ".join(parts))
    for key, what in (("vs_start", "vs staying at"), ("vs_max", "vs the maximum")):
        s = (view.get("savings") or {}).get(key)
        if s and ("saved_money" in s or "saved_carbon_g" in s):
            figures = [f"{s['saved_money']:+.4g} money" if "saved_money" in s else "",
                       f"{s['saved_carbon_g']:+.4g} gCO2" if "saved_carbon_g" in s else ""]
            lines.append(f"saved {what} {s['replicas']}: " + ", ".join(f for f in figures if f)
                         + " (negative: more; the energy part has the energy's source)")
    return lines
