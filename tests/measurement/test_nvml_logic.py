"""NvmlSource's own logic (mJ → J, the power-polling fallback, which GPUs CUDA_VISIBLE_DEVICES
selects) over a scripted stand-in for the NVML library. The real library is exercised by the
GPU-less failure path in test_power_sources.py and, on a GPU machine, by
benchmarks/nvml_energy_check.py."""

from __future__ import annotations

import time
import types
from typing import Any

import pytest

from autoscaler.worker import EnergySource, NvmlSource
from autoscaler.worker.nvml import _visible_handles


class FakeNvmlError(Exception):
    pass


def fake_nvml(energy_mj: dict[str, int | None], power_mw: dict[str, int]) -> Any:
    """Devices in index order; ``energy_mj[uuid] = None`` means no energy counter (pre-Volta)."""
    uuids = list(energy_mj)
    lib: Any = types.ModuleType("fake_pynvml")
    lib.NVMLError = FakeNvmlError
    lib.nvmlDeviceGetCount = lambda: len(uuids)
    lib.nvmlDeviceGetHandleByIndex = lambda i: uuids[i]
    lib.nvmlDeviceGetUUID = lambda h: h

    def energy(h: str) -> int:
        value = energy_mj[h]
        if value is None:
            raise FakeNvmlError("Not Supported")
        return value

    lib.nvmlDeviceGetTotalEnergyConsumption = energy
    lib.nvmlDeviceGetPowerUsage = lambda h: power_mw[h]
    lib.nvmlShutdown = lambda: None
    return lib


@pytest.mark.parametrize(
    ("visible", "chosen"),
    [
        (None, ["GPU-aaaa", "GPU-bbbb", "GPU-cccc"]),
        ("2,0", ["GPU-cccc", "GPU-aaaa"]),
        ("GPU-bb", ["GPU-bbbb"]),
        ("1,7,0", ["GPU-bbbb"]),  # ordinal 7 does not exist: CUDA stops there
        ("GPU-zz,0", []),  # unknown UUID prefix: CUDA stops there
    ],
)
def test_visible_devices_select_gpus_by_index_or_uuid_prefix(
    visible: str | None, chosen: list[str]
) -> None:
    from autoscaler.worker.nvml import parse_visible_devices

    lib = fake_nvml({"GPU-aaaa": 0, "GPU-bbbb": 0, "GPU-cccc": 0}, {})
    assert [u for u, _ in _visible_handles(lib, parse_visible_devices(visible))] == chosen


def test_energy_counter_millijoules_become_joules_since_open() -> None:
    energy = {"GPU-a": 5_000_000}
    lib = fake_nvml(energy, {"GPU-a": 250_000})
    src = NvmlSource(lib, [("GPU-a", "GPU-a")])
    energy["GPU-a"] += 12_500
    (r,) = src.read()
    assert (r.device, r.source, r.energy_j, r.power_w) == ("GPU-a", EnergySource.NVML, 12.5, 250.0)
    src.close()


def test_gpus_without_a_counter_integrate_polled_power() -> None:
    lib = fake_nvml({"GPU-old": None}, {"GPU-old": 100_000})  # 100 W, constant
    start = time.monotonic()  # before the polling thread's first sample
    src = NvmlSource(lib, [("GPU-old", "GPU-old")], poll_interval_s=0.01)
    time.sleep(0.3)
    (r,) = src.read()
    elapsed = time.monotonic() - start
    src.close()
    assert r.source is EnergySource.NVML
    assert "power polled" in src.reason
    assert 0.5 * 100 * elapsed < r.energy_j <= 100 * elapsed
