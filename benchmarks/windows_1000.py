"""Time to turn Prometheus query results for 1,000 workers into windows (target <= 50 ms).

Generates the response bodies one operator pass receives — ``/api/v1/query`` JSON of the shape
``PrometheusSource`` asks for (``sum by`` the grouping labels): our worker metrics (samples and
start time), their scrape timestamps, and DCGM energy (mJ counters per GPU) — for
250 jobs x 4 workers in 10 namespaces, at two instants. Times the whole controller-side path per
pass: JSON parsing, grouping series back to jobs by pod regex, and the window maths for every job.

    .venv/bin/python benchmarks/windows_1000.py [--jobs 250 --workers-per-job 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from autoscaler.decision.types import Quality
from autoscaler.sources import EnergyBackend, JobMatcher, JobSelector, compute_window
from autoscaler.sources.prometheus_results import build_snapshots, parse_vector


def response(result: list[tuple[dict[str, str], float]], at_s: float) -> bytes:
    doc: dict[str, Any] = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": lb, "value": [at_s, f"{v:.17g}"]} for lb, v in result],
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()  # compact, as Prometheus writes it


def pass_bodies(jobs: int, per_job: int, at_s: float, k: float) -> tuple[bytes, bytes, bytes]:
    values: list[tuple[dict[str, str], float]] = []
    stamps: list[tuple[dict[str, str], float]] = []
    energy: list[tuple[dict[str, str], float]] = []
    for j in range(jobs):
        ns = f"team-{j % 10}"
        for r in range(per_job):
            pod = f"job-{j}-worker-{r}"
            # the shape of our "sum by (__name__, pod, namespace, ...)" answers
            base = {"pod": pod, "namespace": ns}
            values += [
                ({**base, "__name__": "ea_samples_total"}, 1000.0 * k * (r + 1)),
                ({**base, "__name__": "ea_reporter_start_time_seconds"}, 1.7e9),
                # the step split (on by default): steps and step time, sync waits and their time
                ({**base, "__name__": "ea_step_seconds_count"}, 100.0 * k),
                ({**base, "__name__": "ea_step_seconds_sum"}, 10.0 * k),
                ({**base, "__name__": "ea_sync_wait_seconds_count"}, 100.0 * k),
                ({**base, "__name__": "ea_sync_wait_seconds_sum"}, 2.0 * k),
            ]
            stamps.append((base, at_s - 0.4))
            gpu = {
                "pod": pod,
                "namespace": ns,
                "gpu": str(r),
                "UUID": f"GPU-{j:04d}-{r}",
                "Hostname": f"node-{j // 2}",
            }
            energy.append(({**gpu, "__name__": "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"}, 3e5 * k))
    return response(values, at_s), response(stamps, at_s), response(energy, at_s)


def one_pass(
    matcher: JobMatcher, bodies: tuple[bytes, bytes, bytes], at_s: float
) -> dict[str, Any]:
    values, _ = parse_vector(bodies[0], 200, at_s)
    stamps, _ = parse_vector(bodies[1], 200, at_s)
    energy, _ = parse_vector(bodies[2], 200, at_s)
    return build_snapshots(matcher, values, stamps, energy, EnergyBackend.DCGM, at_s)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=250)
    p.add_argument("--workers-per-job", type=int, default=4)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    selectors = [
        JobSelector(
            f"team-{j % 10}/job-{j}", namespace=f"team-{j % 10}", pod_regex=f"job-{j}-worker-[0-9]+"
        )
        for j in range(args.jobs)
    ]
    t0, t1 = 1000.0, 1030.0
    first = pass_bodies(args.jobs, args.workers_per_job, t0, 1.0)
    second = pass_bodies(args.jobs, args.workers_per_job, t1, 2.0)
    size_kib = sum(len(b) for b in second) / 1024
    # PrometheusSource keeps one matcher while the job list is unchanged (as here): the first
    # pass pays for the pod regexes, later passes hit its per-pod cache.
    cold_start = time.perf_counter()
    matcher = JobMatcher(selectors, ("pod",), ("namespace",))
    before = one_pass(matcher, first, t0)  # the previous pass, kept by the runtime
    cold_s = time.perf_counter() - cold_start
    times: list[float] = []
    cpu_times: list[float] = []
    windows = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        cpu_start = time.process_time()
        after = one_pass(matcher, second, t1)
        windows = [
            compute_window(before[s.name], after[s.name], replicas=args.workers_per_job)
            for s in selectors
        ]
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    json_s = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for body in second:
            json.loads(body)
        json_s.append(time.perf_counter() - start)
    ok = sum(w.quality is Quality.OK for w in windows)
    workers = args.jobs * args.workers_per_job
    print(
        f"{workers} workers in {args.jobs} jobs; one pass = 3 queries, {size_kib:.0f} KiB of JSON"
    )
    print(
        f"windows: {len(windows)} ({ok} OK), e.g. {windows[0].throughput_sps:.1f} sps, "
        f"{windows[0].power_w:.1f} W, source={windows[0].source}"
    )
    print(
        f"parse + group + window maths per pass: median {statistics.median(times) * 1e3:.1f} ms, "
        f"min {min(times) * 1e3:.1f} ms, max {max(times) * 1e3:.1f} ms "
        f"over {args.repeats} repeats (target <= 50 ms)"
    )
    print(
        f"  CPU time of this process per pass (insensitive to other load): median "
        f"{statistics.median(cpu_times) * 1e3:.1f} ms, min {min(cpu_times) * 1e3:.1f} ms"
    )
    print(f"  first pass (cold pod-regex cache, no windows yet): {cold_s * 1e3:.1f} ms")
    print(f"  of which json.loads alone: median {statistics.median(json_s) * 1e3:.1f} ms")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
