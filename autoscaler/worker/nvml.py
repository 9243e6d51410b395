"""NVIDIA GPU energy through NVML, for the GPUs this process can see.

Preferred: the cumulative energy counter ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the
driver loaded; Volta and newer). Fallback on older GPUs: ``nvmlDeviceGetPowerUsage`` (mW) polled in
a daemon thread and integrated (trapezoid) — still a measurement, still ``source="nvml"``.

Which GPUs: those named by ``CUDA_VISIBLE_DEVICES`` — indices, or UUIDs / UUID prefixes
(``GPU-3f2a``, ``MIG-...``) as CUDA accepts them; CUDA stops at the first entry it cannot parse,
and so do we. NVML numbers devices in PCI bus order; CUDA does too only with
``CUDA_DEVICE_ORDER=PCI_BUS_ID`` (set it, or use UUIDs, on mixed-GPU machines). Device ids are
the GPU UUIDs, so two workers sharing a GPU are counted once by the controller.

``pynvml`` is imported lazily: on a machine without the NVIDIA driver, ``open`` returns a
``NullSource`` saying why ("NVML: library not found" / "NVML: no GPU").
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from types import ModuleType
from typing import Any

from autoscaler.worker.metrics import EnergySource
from autoscaler.worker.power import DeviceEnergy, NullSource, PowerSource, PowerSourceError

DEFAULT_POLL_INTERVAL_S = 0.1


def parse_visible_devices(value: str | None) -> list[str] | None:
    """``CUDA_VISIBLE_DEVICES`` → the entries in order, ``None`` when unset (all GPUs visible),
    ``[]`` when set but hiding every GPU (empty, ``-1``, ``NoDevFiles``)."""
    if value is None:
        return None
    entries: list[str] = []
    for raw in value.split(","):
        item = raw.strip()
        if item.isdigit() or item.startswith(("GPU-", "MIG-")):
            entries.append(item)
        else:
            break  # CUDA ignores this entry and all after it (e.g. "-1")
    return entries


def _load_pynvml() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecated "pynvml" shim warns on import
        import pynvml
    module: ModuleType = pynvml
    return module


class NvmlSource:
    """Cumulative joules per visible GPU since open. Build it with ``NvmlSource.open()``."""

    def __init__(
        self,
        nvml: ModuleType,
        handles: list[tuple[str, Any]],
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> None:
        self._nvml = nvml
        self._lock = threading.Lock()
        self._counter: dict[str, tuple[Any, int]] = {}  # uuid -> (handle, mJ at open)
        self._polled: dict[str, Any] = {}  # uuid -> handle, power integrated by the thread
        self._polled_j: dict[str, float] = {}
        for uuid, handle in handles:
            try:
                self._counter[uuid] = (
                    handle,
                    int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle)),
                )
            except nvml.NVMLError:
                self._polled[uuid] = handle
                self._polled_j[uuid] = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self._polled:
            self._thread = threading.Thread(
                target=self._poll, args=(poll_interval_s,), name="ea-nvml-power", daemon=True
            )
            self._thread.start()

    @classmethod
    def open(
        cls,
        visible_devices: str | None = None,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> PowerSource:
        try:
            nvml = _load_pynvml()
        except ImportError:
            return NullSource("NVML", "NVML: library not found (pip install nvidia-ml-py)")
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as e:
            code = getattr(e, "value", None)
            if code == nvml.NVML_ERROR_LIBRARY_NOT_FOUND:
                why = "library not found (libnvidia-ml.so: no NVIDIA driver installed)"
            elif code == nvml.NVML_ERROR_DRIVER_NOT_LOADED:
                why = "NVIDIA driver not loaded"
            else:
                why = f"initialisation failed: {e}"
            return NullSource("NVML", f"NVML: {why}")
        try:
            handles = _visible_handles(nvml, parse_visible_devices(visible_devices))
        except nvml.NVMLError as e:
            nvml.nvmlShutdown()
            return NullSource("NVML", f"NVML: cannot enumerate GPUs: {e}")
        if not handles:
            nvml.nvmlShutdown()
            hidden = " visible (CUDA_VISIBLE_DEVICES hides them)" if visible_devices else ""
            return NullSource("NVML", f"NVML: no GPU{hidden}")
        return cls(nvml, handles, poll_interval_s)

    @property
    def name(self) -> str:
        return "NVML"

    @property
    def available(self) -> bool:
        return True

    @property
    def reason(self) -> str:
        parts = [f"{u} (energy counter)" for u in self._counter]
        parts += [f"{u} (power polled, integrated)" for u in self._polled]
        return "NVML GPUs: " + ", ".join(parts)

    def _power_w(self, handle: Any) -> float | None:
        try:
            return float(self._nvml.nvmlDeviceGetPowerUsage(handle)) / 1000.0
        except self._nvml.NVMLError:
            return None

    def read(self) -> list[DeviceEnergy]:
        out: list[DeviceEnergy] = []
        for uuid, (handle, start_mj) in self._counter.items():
            try:
                now_mj = int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
            except self._nvml.NVMLError as e:
                raise PowerSourceError(f"NVML: cannot read energy of {uuid}: {e}") from e
            out.append(
                DeviceEnergy(
                    uuid, EnergySource.NVML, (now_mj - start_mj) / 1000.0, self._power_w(handle)
                )
            )
        with self._lock:
            polled = dict(self._polled_j)
        for uuid, energy_j in polled.items():
            out.append(
                DeviceEnergy(uuid, EnergySource.NVML, energy_j, self._power_w(self._polled[uuid]))
            )
        return out

    def _poll(self, interval_s: float) -> None:
        last: dict[str, tuple[float, float]] = {}  # uuid -> (monotonic s, W)
        while not self._stop.is_set():
            for uuid, handle in self._polled.items():
                power_w = self._power_w(handle)
                now_s = time.monotonic()
                if power_w is None:
                    last.pop(uuid, None)  # a gap: do not integrate across it
                    continue
                if uuid in last:
                    then_s, then_w = last[uuid]
                    with self._lock:
                        self._polled_j[uuid] += 0.5 * (power_w + then_w) * (now_s - then_s)
                last[uuid] = (now_s, power_w)
            self._stop.wait(interval_s)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with contextlib.suppress(self._nvml.NVMLError):
            self._nvml.nvmlShutdown()


def _uuid(nvml: ModuleType, handle: Any) -> str:
    raw = nvml.nvmlDeviceGetUUID(handle)
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _visible_handles(nvml: ModuleType, entries: list[str] | None) -> list[tuple[str, Any]]:
    count = int(nvml.nvmlDeviceGetCount())
    every = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    all_handles = [(_uuid(nvml, h), h) for h in every]
    if entries is None:
        return all_handles
    chosen: list[tuple[str, Any]] = []
    for entry in entries:
        if entry.isdigit():
            if int(entry) >= count:
                break  # CUDA stops at an invalid ordinal
            chosen.append(all_handles[int(entry)])
            continue
        matches = [(u, h) for u, h in all_handles if u.startswith(entry)]
        if len(matches) != 1:
            break  # unknown or ambiguous prefix: CUDA stops here too
        chosen.append(matches[0])
    return chosen
