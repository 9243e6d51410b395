"""The cluster path for real: worker processes using the Reporter, scraped by a real Prometheus
server (Debian's binary), queried by PrometheusSource. No fake of Prometheus's HTTP API here."""

from __future__ import annotations

import time

import pytest

from autoscaler.decision.types import Quality
from autoscaler.sources import (
    EnergyBackend,
    JobSelector,
    PrometheusSettings,
    PrometheusSource,
    SourceError,
    compute_window,
)
from autoscaler.worker import metrics as m

from .conftest import PrometheusServer, StartWorker

pytestmark = pytest.mark.slow

WINDOW_S = 4.0


def _wait(prom: PrometheusServer, selector: str, count: int) -> None:
    prom.wait_for_series(f"{m.SAMPLES_TOTAL}{{{selector}}}", count)
    time.sleep(2.5)  # a few scrapes, so both window ends see every worker's counters


def test_windows_for_two_jobs_in_one_pass_match_the_known_rates(
    prometheus_server: PrometheusServer, start_worker: StartWorker
) -> None:
    a = [start_worker("rt-a", 8, 20.0, world_size=2, rank=r) for r in range(2)]
    b = [start_worker("rt-b", 5, 10.0, world_size=1)]
    prometheus_server.set_targets([w.endpoint for w in a + b])
    _wait(prometheus_server, 'ea_job=~"rt-a|rt-b"', 3)
    source = PrometheusSource(prometheus_server.base_url)
    jobs = [JobSelector("a", ea_job="rt-a"), JobSelector("b", ea_job="rt-b")]
    t0 = time.time() - 1.0
    before = source.snapshots(jobs, at_s=t0)
    assert source.requests == 2  # one pass, both jobs: values + timestamps
    time.sleep(WINDOW_S)
    after = source.snapshots(jobs, at_s=t0 + WINDOW_S)
    source.close()

    wa = compute_window(before["a"], after["a"])
    wb = compute_window(before["b"], after["b"])
    assert wa.quality is Quality.OK, wa.note
    assert wb.quality is Quality.OK, wb.note
    assert wa.replicas == 2
    assert wb.replicas == 1
    # counters come from 1 s scrapes: the rate is right within a scrape's worth of samples
    assert wa.throughput_sps == pytest.approx(2 * 8 * 20.0, rel=0.15)
    assert wb.throughput_sps == pytest.approx(5 * 10.0, rel=0.15)
    assert wa.source == "estimate"  # these workers have no RAPL/NVML: said, not hidden
    # the step split through Prometheus: 20 steps/s of 8 samples; no sync measured, no node
    assert wa.step_s == pytest.approx(1 / 20.0, rel=0.15)
    assert wa.batch_per_worker == pytest.approx(8.0, rel=0.05)
    assert wa.sync_s is None and wa.nodes is None
    assert wa.power_w > 0.0


def test_pods_are_matched_by_namespace_and_regex_and_dcgm_or_kepler_energy_joins_them(
    prometheus_server: PrometheusServer, start_worker: StartWorker
) -> None:
    watts = 150.0

    def exporter(pod: str, w: float) -> tuple[str, ...]:
        return ("--dcgm-watts", str(w), "--kepler-pod", pod)

    pods = {
        "trainer-worker-0": start_worker("dc", 8, 20.0, 2, 0, exporter("trainer-worker-0", watts)),
        "trainer-worker-1": start_worker("dc", 8, 20.0, 2, 1, exporter("trainer-worker-1", watts)),
        "other-worker-0": start_worker("dc-other", 8, 20.0, 1, 0, exporter("other-worker-0", 50)),
    }
    prometheus_server.set_target_groups(
        [([w.endpoint], {"pod": pod, "namespace": "ml"}) for pod, w in pods.items()]
    )
    _wait(prometheus_server, 'namespace="ml"', 3)
    settings = PrometheusSettings(energy=EnergyBackend.DCGM)
    source = PrometheusSource(prometheus_server.base_url, settings=settings)
    job = JobSelector("ml/trainer", namespace="ml", pod_regex="trainer-worker-[0-9]+")
    start_s = time.time()
    time.sleep(WINDOW_S + 1.0)  # the end instant must have been scraped, too
    w = source.window(job, start_s, start_s + WINDOW_S)
    assert source.requests == 2 * 3  # two instants x (values, timestamps, DCGM energy)
    source.close()
    assert w.quality is Quality.OK, w.note
    assert w.replicas == 2
    assert w.source == "dcgm"
    assert w.power_w == pytest.approx(2 * watts, rel=0.15)
    assert w.throughput_sps == pytest.approx(2 * 8 * 20.0, rel=0.15)

    kepler = PrometheusSource(
        prometheus_server.base_url, settings=PrometheusSettings(energy=EnergyBackend.KEPLER)
    )
    wk = kepler.window(job, start_s, start_s + WINDOW_S)
    kepler.close()
    assert wk.quality is Quality.OK, wk.note
    assert wk.source == "kepler"
    assert wk.power_w == pytest.approx(2 * watts, rel=0.15)  # package only: core is inside it


def test_a_killed_worker_makes_the_next_window_missing(
    prometheus_server: PrometheusServer, start_worker: StartWorker
) -> None:
    workers = [start_worker("rt-kill", 8, 20.0, world_size=2, rank=r) for r in range(2)]
    prometheus_server.set_targets([w.endpoint for w in workers])
    _wait(prometheus_server, 'ea_job="rt-kill"', 2)
    source = PrometheusSource(prometheus_server.base_url)
    job = JobSelector("k", ea_job="rt-kill")
    before = source.snapshot(job)
    workers[1].stop()
    time.sleep(3.0)  # a failed scrape writes stale markers: the series disappears
    after = source.snapshot(job)
    source.close()
    w = compute_window(before, after)
    assert w.quality is Quality.MISSING, w.note
    assert "workers gone" in w.note


def test_a_bad_query_is_our_error_with_prometheus_text(prometheus_server: PrometheusServer) -> None:
    source = PrometheusSource(prometheus_server.base_url)
    with pytest.raises(SourceError, match="bad_data"):
        source.query("sum(")
    source.close()


def test_an_unreachable_server_is_our_error() -> None:
    from autoscaler.actuators.torchrun_cmd import free_port

    source = PrometheusSource(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SourceError, match="ConnectError"):
        source.query("up")
    source.close()
