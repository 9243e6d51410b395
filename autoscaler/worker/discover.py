"""Which power sources exist here: the probe command shows all of them; the reporter picks.

Picking rule (``EA_ENERGY_SOURCES=auto``): every NVML GPU this process can see, plus the CPU side
from RAPL when readable, else the CPU-time estimate — so the CPU is never counted twice (a RAPL
package figure already contains this process's CPU time), and a measurement always wins over the
estimate for the same hardware.
"""

from __future__ import annotations

from autoscaler.worker.config import ReporterConfig
from autoscaler.worker.estimate import CpuTimeEstimate
from autoscaler.worker.nvml import NvmlSource
from autoscaler.worker.power import PowerSource
from autoscaler.worker.rapl import RaplSource


def probe_sources(config: ReporterConfig) -> list[PowerSource]:
    """Open all three kinds (unavailable ones as ``NullSource`` with the reason)."""
    return [
        NvmlSource.open(config.cuda_visible_devices),
        RaplSource.open(config.powercap_root),
        CpuTimeEstimate(config.watts_per_core),
    ]


def open_reporter_sources(config: ReporterConfig) -> list[PowerSource]:
    """The sources a reporter exports, per ``config.energy_sources`` (empty = auto).

    Unavailable sources are kept (as null objects) so their reason can be logged once; they
    read nothing."""
    wanted = set(config.energy_sources)
    chosen: list[PowerSource] = []
    if not wanted or "nvml" in wanted:
        chosen.append(NvmlSource.open(config.cuda_visible_devices))
    rapl: PowerSource | None = None
    if not wanted or "rapl" in wanted:
        rapl = RaplSource.open(config.powercap_root)
        chosen.append(rapl)
    if "estimate" in wanted or (not wanted and (rapl is None or not rapl.available)):
        chosen.append(CpuTimeEstimate(config.watts_per_core))
    return chosen
