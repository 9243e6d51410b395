"""Parsing and grouping of Prometheus query results (response bodies of the real API's shape):
DCGM and Kepler joins, batching many jobs into one selector, and error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from autoscaler.decision.types import Quality
from autoscaler.sources import (
    EnergyBackend,
    JobMatcher,
    JobSelector,
    PrometheusSettings,
    SourceError,
    compute_window,
)
from autoscaler.sources.prometheus_results import build_snapshots, parse_vector

PODS = ("pod", "pod_name")
NAMESPACES = ("namespace", "pod_namespace", "container_namespace")


def body(result: list[tuple[dict[str, str], float]], at_s: float = 1000.0) -> bytes:
    doc: dict[str, Any] = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": lb, "value": [at_s, repr(v)]} for lb, v in result],
        },
    }
    return json.dumps(doc).encode()


def worker_series(pod: str, samples: float, ns: str = "ml") -> list[tuple[dict[str, str], float]]:
    base = {"pod": pod, "namespace": ns, "instance": f"{pod}:9400", "job": "pods"}
    return [
        ({**base, "__name__": "ea_samples_total", "ea_job": "t"}, samples),
        ({**base, "__name__": "ea_world_size", "ea_job": "t"}, 2.0),
        ({**base, "__name__": "ea_reporter_start_time_seconds", "ea_job": "t"}, 7.0),
        (
            {
                **base,
                "__name__": "ea_energy_joules_total",
                "device": f"{pod}/pid-1",
                "source": "estimate",
            },
            samples,
        ),
    ]


def snapshots(
    at_s: float,
    jobs: list[JobSelector],
    values: list[tuple[dict[str, str], float]],
    energy: list[tuple[dict[str, str], float]],
    backend: EnergyBackend,
) -> dict[str, Any]:
    matcher = JobMatcher(jobs, PODS, NAMESPACES)
    series, _ = parse_vector(body(values, at_s), 200, at_s)
    stamps = [({k: v for k, v in lb.items() if k != "__name__"}, at_s - 0.5) for lb, _ in series]
    stamps = [
        s for s, (lb, _) in zip(stamps, series, strict=True) if lb["__name__"] == "ea_samples_total"
    ]
    e_series, _ = parse_vector(body(energy, at_s), 200, at_s)
    energy_matcher = matcher.relabelled(*PrometheusSettings(energy=backend).energy_labels())
    return build_snapshots(matcher, series, stamps, e_series, backend, at_s, energy_matcher)


def dcgm(
    pod: str, uuid: str, mj: float, watts: float | None = None
) -> list[tuple[dict[str, str], float]]:
    """As scraped from a dcgm-exporter DaemonSet pod: its own pod/namespace are the target
    labels, the workload's were renamed exported_pod/exported_namespace."""
    lb = {
        "pod": "dcgm-exporter-x7k2p",
        "namespace": "gpu-operator",
        "exported_pod": pod,
        "exported_namespace": "ml",
        "UUID": uuid,
        "gpu": "0",
        "Hostname": "n1",
    }
    out = [({**lb, "__name__": "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"}, mj)]
    if watts is not None:
        out.append(({**lb, "__name__": "DCGM_FI_DEV_POWER_USAGE"}, watts))
    return out


def test_dcgm_millijoules_become_joules_per_gpu_of_the_jobs_pods() -> None:
    job = [JobSelector("ml/t", namespace="ml", pod_regex="t-worker-.*")]
    pods = ("t-worker-0", "t-worker-1")
    v0 = [s for p in pods for s in worker_series(p, 0)]
    v1 = [s for p in pods for s in worker_series(p, 1000)]
    e0 = dcgm(pods[0], "GPU-a", 1e6, 250) + dcgm(pods[1], "GPU-b", 2e6, 250)
    e1 = dcgm(pods[0], "GPU-a", 1e6 + 2_500_000, 250) + dcgm(pods[1], "GPU-b", 2e6 + 2_500_000, 250)
    before = snapshots(100.0, job, v0, e0, EnergyBackend.DCGM)["ml/t"]
    after = snapshots(110.0, job, v1, e1, EnergyBackend.DCGM)["ml/t"]
    w = compute_window(before, after)
    assert w.quality is Quality.OK, w.note
    assert w.source == "dcgm"
    assert w.energy_j == pytest.approx(5000.0)
    assert w.power_w == pytest.approx(500.0)
    assert w.throughput_sps == pytest.approx(200.0)


def kepler(pod: str, name: str, joules: float, **extra: str) -> tuple[dict[str, str], float]:
    """As scraped from a Kepler DaemonSet pod: the workload is pod_name/container_namespace."""
    labels = {"pod": "kepler-q8zt4", "namespace": "kepler", "pod_name": pod}
    return ({**labels, "__name__": name, "container_namespace": "ml", **extra}, joules)


def test_kepler_pod_level_series_win_over_the_older_container_total() -> None:
    job = [JobSelector("ml/t", namespace="ml", pod_regex="t-.*")]
    v0, v1 = worker_series("t-0", 0), worker_series("t-0", 100)

    def energy(j: float) -> list[tuple[dict[str, str], float]]:
        return [
            kepler(
                "t-0", "kepler_container_joules_total", 99 * j, container_name="c", mode="dynamic"
            ),
            kepler("t-0", "kepler_pod_cpu_joules_total", j, zone="package"),
            kepler("t-0", "kepler_pod_cpu_joules_total", 1000 * j, zone="core"),  # inside package
            kepler("t-0", "kepler_pod_cpu_joules_total", j / 2, zone="dram"),
            kepler("t-0", "kepler_pod_gpu_joules_total", 2 * j),
        ]

    before = snapshots(0.0, job, v0, energy(10.0), EnergyBackend.KEPLER)["ml/t"]
    after = snapshots(10.0, job, v1, energy(110.0), EnergyBackend.KEPLER)["ml/t"]
    w = compute_window(before, after, replicas=1)
    assert w.quality is Quality.OK, w.note
    assert w.source == "kepler"
    assert w.energy_j == pytest.approx(100 * (1 + 0.5 + 2))


def test_older_kepler_container_joules_are_used_when_no_pod_level_series_exist() -> None:
    job = [JobSelector("ml/t", namespace="ml", pod_regex="t-.*")]
    v0, v1 = worker_series("t-0", 0), worker_series("t-0", 100)

    def energy(j: float) -> list[tuple[dict[str, str], float]]:
        return [
            kepler("t-0", "kepler_container_joules_total", j, container_name="c", mode="dynamic"),
            kepler("t-0", "kepler_container_joules_total", j / 4, container_name="c", mode="idle"),
        ]

    before = snapshots(0.0, job, v0, energy(0.0), EnergyBackend.KEPLER)["ml/t"]
    after = snapshots(10.0, job, v1, energy(400.0), EnergyBackend.KEPLER)["ml/t"]
    assert compute_window(before, after, replicas=1).energy_j == pytest.approx(500.0)


def test_one_batched_result_is_split_back_into_its_jobs() -> None:
    jobs = [
        JobSelector("ml/a", namespace="ml", pod_regex="a-worker-[0-9]+"),
        JobSelector("ml/ab", namespace="ml", pod_regex="ab-worker-[0-9]+"),
        JobSelector("other/a", namespace="other", pod_regex="a-worker-[0-9]+"),
        JobSelector("local", ea_job="bert"),
    ]
    values = (
        worker_series("a-worker-0", 1)
        + worker_series("ab-worker-0", 2)
        + worker_series("ab-worker-1", 3)
        + worker_series("a-worker-0", 4, ns="other")
        + worker_series("unrelated-0", 5)
        + [({"__name__": "ea_samples_total", "ea_job": "bert", "instance": "h:1"}, 6.0)]
    )
    snaps = snapshots(1.0, jobs, values, [], EnergyBackend.WORKER)
    assert {k: sorted(s.workers) for k, s in snaps.items()} == {
        "ml/a": ["a-worker-0"],
        "ml/ab": ["ab-worker-0", "ab-worker-1"],
        "other/a": ["a-worker-0"],
        "local": ["h:1"],
    }
    assert snaps["other/a"].workers["a-worker-0"].samples == 4


def test_a_job_without_series_gets_an_empty_snapshot_not_a_key_error() -> None:
    snaps = snapshots(1.0, [JobSelector("x", pod_regex="x-.*")], [], [], EnergyBackend.WORKER)
    assert dict(snaps["x"].workers) == {}


def test_pod_regexes_are_fully_anchored_like_promql() -> None:
    m = JobMatcher([JobSelector("j", pod_regex="job-[0-9]")], PODS, NAMESPACES)
    assert m.job_of({"pod": "job-1"}) == "j"
    assert m.job_of({"pod": "job-12"}) is None
    assert m.job_of({"pod": "xjob-1"}) is None


def test_the_batched_promql_regex_is_escaped_for_a_double_quoted_string() -> None:
    m = JobMatcher([JobSelector("j", pod_regex=r"job-\d+"), JobSelector("k", pod_regex="k-.*")])
    assert m.pod_alternation() == r"(?:job-\\d+)|(?:k-.*)"


@pytest.mark.parametrize(
    ("payload", "status", "match"),
    [
        (b'{"status":"error","errorType":"bad_data","error":"parse error"}', 400, "bad_data"),
        (b"<html>proxy error</html>", 502, "non-JSON"),
        (b'{"status":"success","data":{"resultType":"matrix","result":[]}}', 200, "matrix"),
    ],
)
def test_error_bodies_become_source_errors_with_their_text(
    payload: bytes, status: int, match: str
) -> None:
    with pytest.raises(SourceError, match=match):
        parse_vector(payload, status, None)


def test_nan_values_pass_through_parsing_to_be_flagged_by_the_window() -> None:
    raw = (
        b'{"status":"success","data":{"resultType":"vector",'
        b'"result":[{"metric":{},"value":[1,"NaN"]}]}}'
    )
    (series,), _ = parse_vector(raw, 200, None)
    assert series[1] != series[1]


def test_a_selector_needs_a_pod_regex_or_an_ea_job() -> None:
    with pytest.raises(ValueError, match="pod_regex or ea_job"):
        JobSelector("j")
    with pytest.raises(ValueError, match="bad pod_regex"):
        JobSelector("j", pod_regex="(")


@pytest.mark.parametrize("bad_size", [float("inf"), float("-inf"), float("nan")])
def test_a_non_finite_world_size_is_ignored_not_a_crash(bad_size: float) -> None:
    job = [JobSelector("ml/t", namespace="ml", pod_regex="t-worker-.*")]
    values = [
        (lb, bad_size if lb["__name__"] == "ea_world_size" else v)
        for lb, v in worker_series("t-worker-0", 10)
    ]
    snap = snapshots(100.0, job, values, [], EnergyBackend.WORKER)["ml/t"]
    (worker,) = snap.workers.values()
    assert worker.world_size is None
    assert worker.samples == 10
