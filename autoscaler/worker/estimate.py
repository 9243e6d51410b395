"""Energy *estimated* from this process's CPU time × a configured watts-per-core.

This is a model, not a measurement: its series carry ``source="estimate"`` everywhere, and the
controller's window label says so (``estimate`` or ``rapl+estimate``). It exists so that a
laptop or a VM without RAPL access still gets a usable energy-per-sample curve whose *shape* over
the number of workers is meaningful: a worker that spins waiting for a collective burns CPU time,
one that sleeps does not.

CPU time is ``time.process_time()`` (all threads of the process, e.g. intra-op pools and the
data-loading threads) plus the CPU time of child processes that have been waited for
(``os.times()``; DataLoader worker processes count once they exit).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

from autoscaler.worker.metrics import EnergySource
from autoscaler.worker.power import DeviceEnergy

DEFAULT_WATTS_PER_CORE = 10.0


def process_cpu_time_s() -> float:
    """CPU seconds used by this process (all threads) and its reaped children."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


class CpuTimeEstimate:
    """``energy_j = (cpu_time_s - cpu_time_at_open_s) × watts_per_core``.

    ``cpu_time`` is a parameter so tests drive it; ``host``/``pid`` only build the device id
    (``host/pid-N``): unique per process, because estimated joules are per process and must be
    summed across workers, never de-duplicated like a shared package counter.
    """

    def __init__(
        self,
        watts_per_core: float = DEFAULT_WATTS_PER_CORE,
        *,
        cpu_time: Callable[[], float] = process_cpu_time_s,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        if not watts_per_core > 0 or watts_per_core != watts_per_core:
            raise ValueError(f"watts per core must be a positive number, got {watts_per_core!r}")
        self._watts_per_core = float(watts_per_core)
        self._cpu_time = cpu_time
        self._start_s = cpu_time()
        self._device = (
            f"{host or socket.gethostname()}/pid-{pid if pid is not None else os.getpid()}"
        )

    @property
    def name(self) -> str:
        return "estimate"

    @property
    def available(self) -> bool:
        return True

    @property
    def reason(self) -> str:
        return (
            f"process CPU time × {self._watts_per_core:g} W per core "
            "(an estimate, not a measurement; set EA_WATTS_PER_CORE)"
        )

    @property
    def watts_per_core(self) -> float:
        return self._watts_per_core

    def read(self) -> list[DeviceEnergy]:
        used_s = max(0.0, self._cpu_time() - self._start_s)
        return [DeviceEnergy(self._device, EnergySource.ESTIMATE, used_s * self._watts_per_core)]

    def close(self) -> None:
        return None
