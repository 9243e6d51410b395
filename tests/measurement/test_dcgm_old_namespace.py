"""DCGM exporter run with ``--use-old-namespace`` (issue 11, item 6): its workload labels are
``pod_name`` / ``pod_namespace`` / ``container_name`` instead of ``pod`` / ``namespace`` /
``container``, while ``pod`` / ``namespace`` on the same series name the exporter's own
DaemonSet pod (the scrape target). The job's GPUs must still be found and joined to its workers,
and the exporter's pod must never be mistaken for the workload.

The DCGM answers are the recorded bodies in ``recorded/dcgm_old_namespace.json``, served to a
real ``PrometheusSource`` through an httpx mock transport, so the PromQL it sends is checked too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from autoscaler.decision.types import Quality
from autoscaler.sources import (
    EnergyBackend,
    JobSelector,
    PrometheusSettings,
    PrometheusSource,
    compute_window,
)

RECORDED = json.loads((Path(__file__).parent / "recorded" / "dcgm_old_namespace.json").read_text())
PODS = ("t-worker-0", "t-worker-1")
JOB = JobSelector("ml/t", namespace="ml", pod_regex="t-worker-[0-9]+")


def _worker_answer(at_s: float, samples: float, *, stamps: bool) -> dict[str, Any]:
    """Our own worker metrics, scraped from the worker pods (``pod`` is the worker there)."""
    result = []
    for pod in PODS:
        labels = {"pod": pod, "namespace": "ml"}
        if stamps:
            result.append({"metric": labels, "value": [at_s, str(at_s - 0.5)]})
        else:
            result += [
                {"metric": {**labels, "__name__": "ea_samples_total"},
                 "value": [at_s, str(samples)]},
                {"metric": {**labels, "__name__": "ea_reporter_start_time_seconds"},
                 "value": [at_s, "7"]},
            ]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def _source(sent: list[str]) -> PrometheusSource:
    def handle(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        query, at_s = form["query"][0], float(form["time"][0])
        sent.append(query)
        if "DCGM_FI_DEV" in query:
            return httpx.Response(200, json=RECORDED[f"{at_s:.0f}"])
        samples = 0.0 if at_s < 105 else 1000.0
        return httpx.Response(200, json=_worker_answer(at_s, samples,
                                                       stamps="timestamp(" in query))

    client = httpx.Client(transport=httpx.MockTransport(handle))
    return PrometheusSource("http://prometheus:9090", client,
                            PrometheusSettings(energy=EnergyBackend.DCGM))


def test_old_namespace_labels_find_the_jobs_gpus_and_not_the_exporters_pod() -> None:
    sent: list[str] = []
    source = _source(sent)
    window = compute_window(source.snapshot(JOB, 100.0), source.snapshot(JOB, 110.0),
                            replicas=2)
    assert window.quality is Quality.OK, window.note
    assert window.source == "dcgm"
    assert window.energy_j == pytest.approx(2 * 2500.0)  # mJ counters, two GPUs, 10 s
    assert window.power_w == pytest.approx(500.0)
    [energy_query] = {q for q in sent if "DCGM_FI_DEV" in q}
    # Prometheus returns these series only if the query selects on the old label too.
    assert 'pod_name=~"' in energy_query and "pod_namespace" in energy_query


def test_each_gpu_is_joined_to_the_worker_whose_pod_it_names() -> None:
    snap = _source([]).snapshot(JOB, 110.0)
    energy = {name: w.energy_j for name, w in snap.workers.items()}
    assert set(energy) == set(PODS)
    assert energy["t-worker-0"] == {("GPU-5d2f8c1e-7a4b-4c1d-9e0f-1a2b3c4d5e6f", "dcgm"): 3500.0}
    assert energy["t-worker-1"] == {("GPU-8e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b", "dcgm"): 4500.0}


def test_the_new_labels_still_win_where_the_exporter_renamed_them() -> None:
    """Default exporter labels scraped without honorLabels: ``exported_pod`` is the workload."""
    pod_labels, ns_labels = PrometheusSettings(energy=EnergyBackend.DCGM).energy_labels()
    assert pod_labels[0] == "exported_pod" and ns_labels[0] == "exported_namespace"
    # ``pod`` / ``namespace`` (the exporter's own, or the workload's with honorLabels) come last:
    # where pod_name is present it is DCGM's old label for the workload, never the exporter.
    assert pod_labels.index("pod_name") < pod_labels.index("pod")
    assert ns_labels.index("pod_namespace") < ns_labels.index("namespace")
