"""CPU package and DRAM energy from RAPL through Linux powercap (``/sys/class/powercap``).

Layout (Intel, and AMD since Linux 5.8 under the same ``intel-rapl`` control type)::

    intel-rapl:0/name            "package-0"
    intel-rapl:0/energy_uj       cumulative µJ, wraps at max_energy_range_uj
    intel-rapl:0/max_energy_range_uj
    intel-rapl:0:1/name          "dram"      (sub-zone of package 0; "core"/"uncore" too)

We export ``package-N`` and ``dram`` zones only: ``core`` and ``uncore`` are *inside* the package
figure and would double-count; ``psys`` (platform) overlaps everything. Wrap-around: the counter
restarts from 0 after ``max_energy_range_uj``; we add ``(now - last) mod (max + 1)``, which is
right as long as we read at least once per wrap period (~minutes at full load on big servers,
so the scrape interval — seconds — is far inside it). Since Linux 5.10 ``energy_uj`` is readable
by root only (CVE-2020-8694): then RAPL is unavailable and the reason says so.

The root is a constructor parameter, so tests use a fixture tree instead of patching.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from autoscaler.worker.metrics import EnergySource
from autoscaler.worker.power import DeviceEnergy, NullSource, PowerSource, PowerSourceError

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")
_KEPT_ZONES = ("package-", "dram")


@dataclass
class _Zone:
    label: str  # "package-0", "package-0/dram"
    energy_path: Path
    max_uj: int
    last_uj: int
    total_uj: int = 0


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


class RaplSource:
    """Cumulative joules per RAPL zone since open, wrap-around corrected.

    Use ``RaplSource.open(root)``: it returns a ``NullSource`` with the reason when there is no
    powercap tree, no package zone, or the counters are not readable.
    """

    def __init__(self, zones: list[_Zone], host: str) -> None:
        self._zones = zones
        self._host = host
        self._lock = threading.Lock()  # read() may run in the scrape thread and the probe

    @classmethod
    def open(cls, root: Path | str = DEFAULT_POWERCAP_ROOT, host: str | None = None) -> PowerSource:
        root = Path(root)
        if not root.is_dir():
            return NullSource("RAPL", f"RAPL: no powercap tree at {root} (not Linux, or no RAPL)")
        zones: list[_Zone] = []
        denied: list[str] = []
        for zone_dir in sorted(root.glob("intel-rapl:*")):
            try:
                name = (zone_dir / "name").read_text().strip()
            except OSError:
                continue
            if not name.startswith(_KEPT_ZONES):
                continue
            parent = zone_dir.name.split(":")
            label = name
            if name == "dram" and len(parent) == 3:
                label = f"package-{parent[1]}/dram"
            try:
                zones.append(
                    _Zone(
                        label=label,
                        energy_path=zone_dir / "energy_uj",
                        max_uj=_read_int(zone_dir / "max_energy_range_uj"),
                        last_uj=_read_int(zone_dir / "energy_uj"),
                    )
                )
            except PermissionError:
                denied.append(zone_dir.name)
            except (OSError, ValueError):
                continue
        if not zones:
            if denied:
                return NullSource(
                    "RAPL",
                    f"RAPL: permission denied reading {root}/{denied[0]}/energy_uj "
                    "(root-only since Linux 5.10; grant read access to use it)",
                )
            return NullSource("RAPL", f"RAPL: no package or dram zone under {root}")
        return cls(zones, host or socket.gethostname())

    @property
    def name(self) -> str:
        return "RAPL"

    @property
    def available(self) -> bool:
        return True

    @property
    def reason(self) -> str:
        return "RAPL zones: " + ", ".join(z.label for z in self._zones)

    def read(self) -> list[DeviceEnergy]:
        out: list[DeviceEnergy] = []
        with self._lock:
            for zone in self._zones:
                try:
                    now_uj = _read_int(zone.energy_path)
                except (OSError, ValueError) as e:
                    raise PowerSourceError(f"RAPL: cannot read {zone.energy_path}: {e}") from e
                zone.total_uj += (now_uj - zone.last_uj) % (zone.max_uj + 1)
                zone.last_uj = now_uj
                out.append(
                    DeviceEnergy(
                        f"{self._host}/{zone.label}", EnergySource.RAPL, zone.total_uj / 1e6
                    )
                )
        return out

    def close(self) -> None:
        return None
