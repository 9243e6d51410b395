"""The worker reporter: cheap step(), lazy energy at scrape time, a real /metrics endpoint that
the local-mode ScrapeSource turns into windows."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client import generate_latest

from autoscaler.actuators.torchrun_cmd import free_port
from autoscaler.decision.types import Quality
from autoscaler.sources import ScrapeSource, SourceError, compute_window, parse_worker_metrics
from autoscaler.worker import (
    DeviceEnergy,
    EnergySource,
    PowerSourceError,
    Reporter,
    ReporterConfig,
    ReporterConfigError,
)
from autoscaler.worker import metrics as m


class CountingSource:
    """A PowerSource that counts its reads (to show energy is read at scrape, not per step)."""

    def __init__(self, energy_j: float = 5.0, fail: bool = False) -> None:
        self.reads = 0
        self.energy_j = energy_j
        self.fail = fail

    name = "counting"
    available = True
    reason = "test"

    def read(self) -> list[DeviceEnergy]:
        self.reads += 1
        if self.fail:
            raise PowerSourceError("device fell off the bus")
        return [DeviceEnergy("dev-0", EnergySource.RAPL, self.energy_j, power_w=42.0)]

    def close(self) -> None:
        pass


def _exposition(reporter: Reporter) -> str:
    return generate_latest(reporter.registry).decode()


def test_steps_are_counted_and_energy_is_read_only_at_scrape_time() -> None:
    src = CountingSource()
    reporter = Reporter(ReporterConfig(job="j", rank=3, world_size=4), sources=[src]).start()
    for _ in range(100):
        reporter.step(samples=16)
    assert src.reads == 0
    snap = parse_worker_metrics("w", _exposition(reporter), read_at_s=1.0)
    assert src.reads == 1
    assert snap.samples == 1600
    assert snap.world_size == 4
    assert snap.energy_j == {("dev-0", "rapl"): 5.0}
    text = _exposition(reporter)
    assert f'{m.STEP_SECONDS_COUNT}{{ea_job="j",rank="3"}} 99.0' in text
    assert f'{m.POWER_WATTS}{{device="dev-0",ea_job="j",rank="3",source="rapl"}} 42.0' in text
    reporter.close()


def test_step_time_is_the_wall_time_between_steps() -> None:
    reporter = Reporter(sources=[]).start()
    reporter.step()
    time.sleep(0.05)
    reporter.step()
    text = _exposition(reporter)
    line = next(x for x in text.splitlines() if x.startswith(m.STEP_SECONDS_SUM))
    assert 0.04 < float(line.split()[-1]) < 1.0
    reporter.close()


def test_a_failing_source_drops_its_series_but_keeps_the_rest() -> None:
    reporter = Reporter(sources=[CountingSource(fail=True)]).start()
    reporter.step(8)
    snap = parse_worker_metrics("w", _exposition(reporter), read_at_s=1.0)
    assert snap.samples == 8
    assert snap.energy_j == {}
    reporter.close()


@pytest.mark.parametrize(
    ("env", "port", "job", "rank", "wpc", "sources"),
    [
        ({}, 0, "", 0, 10.0, ()),
        ({"EA_METRICS_PORT": "9400", "LOCAL_RANK": "3"}, 9403, "", 0, 10.0, ()),
        ({"EA_METRICS_PORT": "0", "LOCAL_RANK": "3"}, 0, "", 0, 10.0, ()),
        ({"EA_JOB": "bert", "RANK": "5", "EA_WATTS_PER_CORE": "7.5"}, 0, "bert", 5, 7.5, ()),
        ({"EA_ENERGY_SOURCES": "rapl,estimate"}, 0, "", 0, 10.0, ("rapl", "estimate")),
        ({"EA_ENERGY_SOURCES": "auto"}, 0, "", 0, 10.0, ()),
    ],
)
def test_config_is_read_from_the_environment(
    env: dict[str, str], port: int, job: str, rank: int, wpc: float, sources: tuple[str, ...]
) -> None:
    c = ReporterConfig.from_env(env)
    assert (c.port, c.job, c.rank, c.watts_per_core, c.energy_sources) == (
        port,
        job,
        rank,
        wpc,
        sources,
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"EA_METRICS_PORT": "abc"}, "EA_METRICS_PORT"),
        ({"EA_METRICS_PORT": "70000"}, "EA_METRICS_PORT"),
        ({"RANK": "x"}, "RANK"),
        ({"EA_WATTS_PER_CORE": "lots"}, "EA_WATTS_PER_CORE"),
        ({"EA_WATTS_PER_CORE": "-3"}, "EA_WATTS_PER_CORE"),
        ({"EA_ENERGY_SOURCES": "nvml,magic"}, "EA_ENERGY_SOURCES"),
    ],
)
def test_bad_environment_raises_an_error_naming_the_variable(
    env: dict[str, str], names: str
) -> None:
    with pytest.raises(ReporterConfigError, match=names):
        ReporterConfig.from_env(env)


def test_the_reporter_imports_without_torch() -> None:
    code = "import sys, autoscaler.worker; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_scrape_source_turns_two_real_endpoints_into_a_window() -> None:
    reporters = [
        Reporter(
            ReporterConfig(port=free_port(), addr="127.0.0.1", world_size=2),
            sources=[CountingSource(energy_j=0.0)],
        ).start()
        for _ in range(2)
    ]
    clock = [1000.0]
    source = ScrapeSource([f"127.0.0.1:{r.port}" for r in reporters], clock=lambda: clock[0])
    try:
        before = source.snapshot()
        for r in reporters:
            for _ in range(10):
                r.step(samples=4)
        clock[0] = 1002.0
        after = source.snapshot()
    finally:
        source.close()
        for r in reporters:
            r.close()
    w = compute_window(before, after)
    assert w.replicas == 2
    assert w.samples == 80
    assert w.throughput_sps == pytest.approx(40.0)
    # both reporters export the same device id "dev-0": counted once, and it did not grow
    assert w.energy_j == 0.0
    assert w.quality is Quality.OK, w.note


def test_scrape_source_names_a_dead_endpoint_and_the_window_is_missing() -> None:
    reporter = Reporter(
        ReporterConfig(port=free_port(), addr="127.0.0.1"), sources=[CountingSource()]
    ).start()
    dead = f"127.0.0.1:{free_port()}"
    source = ScrapeSource([f"127.0.0.1:{reporter.port}", dead], timeout_s=1.0)
    try:
        before = source.snapshot()
        reporter.step(4)
        after = source.snapshot()
    finally:
        source.close()
        reporter.close()
    assert len(after.workers) == 1
    assert any(dead in e for e in after.errors)
    w = compute_window(before, after, replicas=2)
    assert w.quality is Quality.MISSING
    assert dead in w.note


def test_scrape_source_raises_when_no_endpoint_answers() -> None:
    source = ScrapeSource([f"127.0.0.1:{free_port()}"], timeout_s=0.5)
    with pytest.raises(SourceError, match="no worker endpoint answered"):
        source.snapshot()
    source.close()


def test_a_non_reporter_endpoint_is_an_error_not_a_worker_with_zero_samples() -> None:
    with pytest.raises(SourceError, match="ea_samples_total"):
        parse_worker_metrics("w", "# TYPE up gauge\nup 1\n", read_at_s=0.0)


def test_a_taken_port_is_a_clear_error_naming_the_variable() -> None:
    first = Reporter(ReporterConfig(port=free_port(), addr="127.0.0.1"), sources=[]).start()
    second = Reporter(ReporterConfig(port=first.port or 0, addr="127.0.0.1"), sources=[])
    with pytest.raises(ReporterConfigError, match="EA_METRICS_PORT"):
        second.start()
    first.close()


def test_closing_the_reporter_frees_its_port() -> None:
    port = free_port()
    reporter = Reporter(ReporterConfig(port=port, addr="127.0.0.1"), sources=[]).start()
    assert reporter.port == port
    assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
    reporter.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1.0)
