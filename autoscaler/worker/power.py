"""The seam between the reporter and power hardware: one small Protocol, a null object, errors.

Vendor implementations (``nvml.py``, ``rapl.py``, ``estimate.py``) each *open* into either a
working source or a ``NullSource`` that carries the reason it is unavailable ("NVML: library not
found"). Callers therefore never branch on exceptions at start-up, and the reason is said once,
clearly, by whoever shows it (the probe command, the reporter's log line).

All sources report *cumulative* joules since they were opened (a counter, never a rate), so the
reporter can export them as a Prometheus counter read lazily at scrape time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from autoscaler.errors import AutoscalerError
from autoscaler.worker.metrics import EnergySource


class PowerSourceError(AutoscalerError):
    """A source that opened fine failed to read (driver gone, file vanished, permission lost)."""


@dataclass(frozen=True)
class DeviceEnergy:
    """One device's energy since its source was opened.

    ``device`` is a globally unique physical id (GPU UUID, ``host/package-0``, ``host/pid-N``) so
    the controller can count a device shared by several workers once. ``power_w`` is the
    instantaneous draw when the hardware reports one (informational; energy is what counts).
    """

    device: str
    source: EnergySource
    energy_j: float
    power_w: float | None = None


@runtime_checkable
class PowerSource(Protocol):
    """A place joules come from. ``name`` is the human name shown by ``probe`` (NVML, RAPL,
    estimate); ``reason`` says why it is unavailable, or what it measures when it is available."""

    @property
    def name(self) -> str: ...

    @property
    def available(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    def read(self) -> list[DeviceEnergy]:
        """Cumulative energy per device since open. Raises ``PowerSourceError``."""
        ...

    def close(self) -> None: ...


class NullSource:
    """The null object: a source that is not there, and says why. Reads nothing."""

    def __init__(self, name: str, reason: str) -> None:
        self._name = name
        self._reason = reason

    @property
    def name(self) -> str:
        return self._name

    @property
    def available(self) -> bool:
        return False

    @property
    def reason(self) -> str:
        return self._reason

    def read(self) -> list[DeviceEnergy]:
        return []

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"NullSource({self._name!r}, {self._reason!r})"
