"""Power sources: RAPL through a fixture powercap tree (with wrap-around), NVML's real failure
path on this GPU-less machine, the CPU-time estimate, and how the reporter picks among them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from autoscaler.worker import (
    CpuTimeEstimate,
    EnergySource,
    NullSource,
    NvmlSource,
    PowerSource,
    PowerSourceError,
    RaplSource,
    ReporterConfig,
    open_reporter_sources,
)
from autoscaler.worker.nvml import parse_visible_devices

from .conftest import write_rapl_zone


def _set(zone_dir: Path, energy_uj: int) -> None:
    (zone_dir / "energy_uj").write_text(f"{energy_uj}\n")


def _by_device(src: PowerSource) -> dict[str, float]:
    return {r.device: r.energy_j for r in src.read()}


def test_rapl_reads_package_and_dram_but_not_core_or_uncore(tmp_path: Path) -> None:
    write_rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    write_rapl_zone(tmp_path, "intel-rapl:0:0", "core", 1_000_000)
    write_rapl_zone(tmp_path, "intel-rapl:0:1", "dram", 1_000_000)
    write_rapl_zone(tmp_path, "intel-rapl:0:2", "uncore", 1_000_000)
    write_rapl_zone(tmp_path, "intel-rapl:1", "psys", 1_000_000)
    src = RaplSource.open(tmp_path, host="h")
    assert src.available
    assert set(_by_device(src)) == {"h/package-0", "h/package-0/dram"}
    assert all(r.source is EnergySource.RAPL for r in src.read())


def test_rapl_energy_is_joules_since_open(tmp_path: Path) -> None:
    pkg = write_rapl_zone(tmp_path, "intel-rapl:0", "package-0", 5_000_000)
    src = RaplSource.open(tmp_path, host="h")
    assert _by_device(src)["h/package-0"] == 0.0
    _set(pkg, 7_500_000)
    assert _by_device(src)["h/package-0"] == pytest.approx(2.5)


def test_rapl_counter_wrap_around_is_added_not_subtracted(tmp_path: Path) -> None:
    max_uj = 10_000_000
    pkg = write_rapl_zone(tmp_path, "intel-rapl:0", "package-0", 9_000_000, max_uj=max_uj)
    src = RaplSource.open(tmp_path, host="h")
    _set(pkg, 500_000)  # wrapped: 1_000_001 µJ to the top (incl. 0), then 500_000
    assert _by_device(src)["h/package-0"] == pytest.approx((max_uj + 1 - 9_000_000 + 500_000) / 1e6)
    _set(pkg, 2_500_000)
    assert _by_device(src)["h/package-0"] == pytest.approx(
        (max_uj + 1 - 9_000_000 + 2_500_000) / 1e6
    )


def test_rapl_without_powercap_tree_is_a_null_source_with_the_reason(tmp_path: Path) -> None:
    src = RaplSource.open(tmp_path / "absent")
    assert isinstance(src, NullSource)
    assert "no powercap tree" in src.reason
    assert src.read() == []


def test_rapl_tree_without_package_zone_says_so(tmp_path: Path) -> None:
    write_rapl_zone(tmp_path, "intel-rapl:1", "psys", 1)
    src = RaplSource.open(tmp_path)
    assert not src.available
    assert "no package or dram zone" in src.reason


def test_rapl_unreadable_counter_says_permission_denied(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    pkg = write_rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1)
    (pkg / "energy_uj").chmod(0o000)
    src = RaplSource.open(tmp_path)
    assert not src.available
    assert "permission denied" in src.reason


def test_rapl_counter_vanishing_after_open_raises_our_error(tmp_path: Path) -> None:
    pkg = write_rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1)
    src = RaplSource.open(tmp_path)
    (pkg / "energy_uj").unlink()
    with pytest.raises(PowerSourceError, match="cannot read"):
        src.read()


def test_nvml_without_a_driver_is_a_null_source_saying_library_not_found() -> None:
    src = NvmlSource.open()  # the real path on this GPU-less machine: nvmlInit fails
    if src.available:
        pytest.skip("this machine has a working NVML; see benchmarks/nvml_energy_check.py")
    assert isinstance(src, NullSource)
    assert src.reason.startswith("NVML: ")
    assert "library not found" in src.reason or "driver" in src.reason or "no GPU" in src.reason
    assert src.read() == []


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        (None, None),
        ("", []),
        ("-1", []),
        ("NoDevFiles", []),
        ("0,1", ["0", "1"]),
        ("2, 0", ["2", "0"]),
        ("GPU-3f2a,1", ["GPU-3f2a", "1"]),
        ("0,-1,1", ["0"]),  # CUDA stops at the first invalid entry
        ("MIG-abcd", ["MIG-abcd"]),
    ],
)
def test_cuda_visible_devices_is_read_as_cuda_reads_it(
    value: str | None, entries: list[str] | None
) -> None:
    assert parse_visible_devices(value) == entries


def test_estimate_is_cpu_seconds_times_watts_per_core_and_labelled_estimate() -> None:
    cpu_s = [100.0]
    est = CpuTimeEstimate(12.5, cpu_time=lambda: cpu_s[0], host="h", pid=7)
    cpu_s[0] = 102.0
    (reading,) = est.read()
    assert reading.device == "h/pid-7"
    assert reading.source is EnergySource.ESTIMATE
    assert reading.energy_j == pytest.approx(25.0)


def test_estimate_counts_cpu_time_of_this_process_threads() -> None:
    import threading

    est = CpuTimeEstimate(10.0)
    thread_cpu_s: list[float] = []

    def spin() -> None:
        sum(i * i for i in range(1_000_000))
        thread_cpu_s.append(time.thread_time())

    t = threading.Thread(target=spin)
    t.start()
    t.join()
    assert thread_cpu_s[0] > 0.0
    assert est.read()[0].energy_j >= 0.9 * 10.0 * thread_cpu_s[0]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_estimate_rejects_non_positive_watts_per_core(bad: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        CpuTimeEstimate(bad)


def test_reporter_uses_rapl_for_the_cpu_when_readable_and_no_estimate(tmp_path: Path) -> None:
    write_rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1)
    names = [s.name for s in open_reporter_sources(ReporterConfig(powercap_root=str(tmp_path)))]
    assert "RAPL" in names
    assert "estimate" not in names


def test_reporter_falls_back_to_the_estimate_without_rapl(tmp_path: Path) -> None:
    sources = open_reporter_sources(ReporterConfig(powercap_root=str(tmp_path / "none")))
    working = [s.name for s in sources if s.available]
    assert "estimate" in working
    assert "RAPL" not in working
