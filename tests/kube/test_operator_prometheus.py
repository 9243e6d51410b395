"""The operator's Prometheus measurer over the measurement layer's batched source: a scripted
Prometheus HTTP API (httpx.MockTransport) serving our worker metrics for every job's pods."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest

from autoscaler.decision.types import Quality
from autoscaler.runtime.operator.measure import MeasurerError, MeasureTarget
from autoscaler.runtime.operator.prometheus import PrometheusMeasurer
from autoscaler.runtime.operator.settings import OperatorSettings, SourceSettings
from autoscaler.sources.prometheus import PrometheusSource
from autoscaler.worker import metrics as m

RATE_SPS, POWER_W = 50.0, 300.0  # per worker


class ScriptedPrometheus:
    """Answers instant queries with counters that grow linearly in time for each pod."""

    def __init__(self, pods: dict[str, list[str]]) -> None:
        self.pods = pods  # namespace -> pod names
        self.queries: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        query, t = form["query"], float(form["time"])
        self.queries.append(query)
        result = []
        for ns, pods in self.pods.items():
            for pod in pods:
                base = {"namespace": ns, "pod": pod}
                if "timestamp(" in query:
                    result.append({"metric": base, "value": [t, str(t)]})
                    continue
                size = sum(1 for p in pods if p.rsplit("-", 2)[0] == pod.rsplit("-", 2)[0])
                for name, value, extra in (
                    (m.SAMPLES_TOTAL, RATE_SPS * t, {}),
                    (m.ENERGY_JOULES_TOTAL, POWER_W * t, {"device": f"{pod}/gpu0",
                                                          "source": "nvml"}),
                    (m.WORLD_SIZE, size, {}),
                    (m.START_TIME, 1.0, {}),
                ):
                    result.append({"metric": {"__name__": name, **base, **extra},
                                   "value": [t, str(value)]})
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return httpx.Response(200, content=json.dumps(body).encode())


def measurer_for(prom: ScriptedPrometheus) -> PrometheusMeasurer:
    client = httpx.Client(transport=httpx.MockTransport(prom))
    return PrometheusMeasurer(SourceSettings(), PrometheusSource("http://prom", client=client))


def targets(jobs: dict[str, int]) -> list[MeasureTarget]:
    regex = next(k.pod_regex for k in OperatorSettings().kinds if k.plural == "pytorchjobs")
    return [MeasureTarget(f"ml/{name}", "ml", name, "PyTorchJob", n,
                          regex.replace("{name}", name)) for name, n in jobs.items()]


def test_windows_come_from_two_passes_and_carry_the_measured_source() -> None:
    jobs = {"a": 2, "b": 3}
    prom = ScriptedPrometheus({"ml": [f"{j}-worker-{i}" for j, n in jobs.items()
                                      for i in range(n)]})
    measurer = measurer_for(prom)
    assert measurer.measure(targets(jobs), 0.0, 1000.0) == {}  # no previous snapshot yet
    windows = measurer.measure(targets(jobs), 1000.0, 1030.0)
    for name, n in jobs.items():
        w = windows[f"ml/{name}"]
        assert w.quality is Quality.OK, w.note
        assert (w.replicas, w.source) == (n, "nvml")
        assert w.throughput_sps == pytest.approx(n * RATE_SPS)
        assert w.power_w == pytest.approx(n * POWER_W)


def test_a_pass_over_1000_jobs_costs_two_prometheus_queries() -> None:
    jobs = {f"j{i}": 1 for i in range(1000)}
    prom = ScriptedPrometheus({"ml": [f"{j}-worker-0" for j in jobs]})
    measurer = measurer_for(prom)
    measurer.measure(targets(jobs), 0.0, 1000.0)
    windows = measurer.measure(targets(jobs), 1000.0, 1030.0)
    assert len(windows) == 1000
    assert len(prom.queries) == 4  # 2 per pass, for all jobs together


def test_the_master_pod_is_a_rank_of_the_job_and_is_measured() -> None:
    """Issue 11: a PyTorchJob's master trains too (rank 0); its samples and watts are the job's
    (they were matched out before), and another job's pods are not."""
    prom = ScriptedPrometheus({"ml": ["a-worker-0", "a-worker-1", "a-master-0", "ab-worker-0"]})
    measurer = measurer_for(prom)
    measurer.measure(targets({"a": 2}), 0.0, 1000.0)
    w = measurer.measure(targets({"a": 2}), 1000.0, 1030.0)["ml/a"]
    assert w.throughput_sps == pytest.approx(3 * RATE_SPS)
    assert w.power_w == pytest.approx(3 * POWER_W)


def test_prometheus_down_is_a_measurer_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    measurer = PrometheusMeasurer(SourceSettings(), PrometheusSource(
        "http://prom", client=httpx.Client(transport=httpx.MockTransport(down))))
    with pytest.raises(MeasurerError):
        measurer.measure(targets({"a": 1}), 0.0, 30.0)
