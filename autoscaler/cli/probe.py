"""``energy-autoscaler probe [--json]``: what can this machine measure?

For each source (NVML, RAPL, estimate): available or not and why, and — for those that work — a
short reading (cumulative energy before/after ``--duration-s`` while the probe keeps one core busy,
so the CPU-side sources have something to see). Every figure carries its source label. Exit 0
when at least one source gave a reading (the estimate always does on Linux), else 1.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from typing import Any

from autoscaler.cli.errors import UserError
from autoscaler.runtime.local.static_power import static_power_setting
from autoscaler.worker.config import ReporterConfig, ReporterConfigError
from autoscaler.worker.discover import probe_sources
from autoscaler.worker.power import DeviceEnergy, PowerSource, PowerSourceError

HELP = "show what this machine can measure (NVML, RAPL, estimate)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--duration-s", type=float, default=1.0, help="length of the reading (default 1 s)"
    )
    parser.add_argument(
        "--powercap-root",
        default=None,
        help="powercap tree for RAPL (default $EA_POWERCAP_ROOT or /sys/class/powercap)",
    )
    parser.add_argument(
        "--static-power",
        metavar="POWER",
        default=None,
        help="the host's static (idle) power that local/sweep would charge to a job, e.g. 30W "
        "(default $EA_STATIC_POWER or none): shown, not measured",
    )
    parser.add_argument(
        "--watts-per-core",
        type=float,
        default=None,
        help="watts per busy core for the estimate (default $EA_WATTS_PER_CORE or 10)",
    )


def _spin(duration_s: float) -> None:
    end = time.perf_counter() + duration_s
    x = 0
    while time.perf_counter() < end:
        x += 1


def _by_device(readings: list[DeviceEnergy]) -> dict[tuple[str, str], DeviceEnergy]:
    return {(r.device, r.source.value): r for r in readings}


def _probe(src: PowerSource, before: list[DeviceEnergy] | None, elapsed_s: float) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": src.name,
        "available": src.available,
        "reason": src.reason,
        "readings": [],
    }
    if not src.available or before is None:
        return entry
    try:
        after = src.read()
    except PowerSourceError as e:
        entry.update(available=False, reason=str(e))
        return entry
    start = _by_device(before)
    for key, r in _by_device(after).items():
        if key not in start:
            continue
        energy_j = r.energy_j - start[key].energy_j
        entry["readings"].append(
            {
                "device": r.device,
                "source": r.source.value,
                "energy_j": round(energy_j, 6),
                "power_w": round(energy_j / elapsed_s, 3) if elapsed_s > 0 else None,
                "interval_s": round(elapsed_s, 3),
            }
        )
    return entry


def run(args: argparse.Namespace) -> int:
    if not args.duration_s > 0:
        raise UserError(f"--duration-s must be positive, got {args.duration_s}")
    try:
        config = ReporterConfig.from_env()
    except ReporterConfigError as e:
        raise UserError(str(e)) from e
    if args.powercap_root:
        config = replace(config, powercap_root=args.powercap_root)
    if args.watts_per_core is not None:
        if not args.watts_per_core > 0:
            raise UserError(f"--watts-per-core must be positive, got {args.watts_per_core}")
        config = replace(config, watts_per_core=args.watts_per_core)
    try:
        static_w = static_power_setting(args.static_power)
    except ValueError as e:
        raise UserError(f"--static-power: {e}") from None
    sources = probe_sources(config)
    try:
        before: list[list[DeviceEnergy] | None] = []
        for src in sources:
            try:
                before.append(src.read() if src.available else None)
            except PowerSourceError:
                before.append(None)
        t0 = time.perf_counter()
        _spin(args.duration_s)
        elapsed_s = time.perf_counter() - t0
        entries = [_probe(s, b, elapsed_s) for s, b in zip(sources, before, strict=True)]
    finally:
        for src in sources:
            src.close()
    ok = any(e["readings"] for e in entries)
    static = static_entry(static_w)
    if args.json:
        print(json.dumps({"ok": ok, "sources": entries, "static_power": static}, indent=2,
                         ensure_ascii=False))  # fmt: skip
    else:
        _print_text(entries)
        state = "set" if static["watts"] else "not set"
        print(f"{'static':<9} {state:<12} {static['reason']}")
    return 0 if ok else 1


def static_entry(static_w: float) -> dict[str, Any]:
    """What ``local`` and ``sweep`` would add for the host's idle draw: part of the estimate."""
    if static_w > 0:
        reason = (
            f"{static_w:g} W of host static power charged once per job by local/sweep, as part "
            "of the estimate (labelled estimate(static ...)); a setting, not a reading"
        )
    else:
        reason = (
            "no host static power: the CPU-time estimate then favours the fewest workers by "
            "construction; measure the idle draw (wall meter, or RAPL at idle) and set "
            "--static-power or EA_STATIC_POWER (docs/local.md)"
        )
    return {"watts": static_w, "source": "estimate", "reason": reason}


def _print_text(entries: list[dict[str, Any]]) -> None:
    for e in entries:
        state = "available" if e["available"] else "unavailable"
        print(f"{e['name']:<9} {state:<12} {e['reason']}")
        for r in e["readings"]:
            print(
                f"{'':<9} {r['device']}: {r['power_w']:.2f} W, {r['energy_j']:.3f} J "
                f"over {r['interval_s']:.2f} s  [source={r['source']}]"
            )
