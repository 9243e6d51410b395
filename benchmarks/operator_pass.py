"""One operator pass over 1,000 annotated jobs, against the in-memory API server.

Prints (1) wall time per pass over all 1,000 due jobs (goal: <= 5 s on this machine) and
(2) Kubernetes API requests per job per interval (goal: <= 2), split by verb. Watches and lists
are per kind, not per job, and are left out of the per-job figure (shown separately); the
pod lists of ``--mixed`` (one per namespace per pass) are counted in it.

The API server is in-process (``autoscaler.testing.fakeapi``: no sockets), so the time is the
operator's own cost — parsing, measuring (a recorded table), deciding, planning, encoding
patches — plus the fake's JSON handling; a real API server adds network round trips, which
the pass overlaps ``api_concurrency`` at a time.

    .venv/bin/python benchmarks/operator_pass.py [--jobs 1000] [--passes 10] [--mixed]

``--mixed`` (issue 11): the jobs are spread over all eight built-in kinds (PyTorchJob,
StatefulSet, Deployment via /scale; Volcano Job, RayCluster, batch Job via a JSON patch;
JobSet and TrainJob recommend-only), the in-memory API server enforces the real CRDs' schemas,
and placement is on (one pod list per namespace per pass, 4 running pods per job).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter

from autoscaler.kube.cache import ObjectCache
from autoscaler.kube.client import KubeClient
from autoscaler.kube.kinds import (
    DEPLOYMENT,
    JOB,
    JOBSET,
    PYTORCHJOB,
    RAYCLUSTER,
    STATEFULSET,
    TRAINJOB,
    VOLCANO_JOB,
    KindRef,
)
from autoscaler.runtime.operator.core import OperatorCore
from autoscaler.runtime.operator.metrics import OperatorMetrics
from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.testing.curves import table_measurer
from autoscaler.testing.fakeapi import PODS, FakeKubeApi

P = "energy-autoscaler.io/"


def populate(api: FakeKubeApi, jobs: int) -> None:
    for i in range(jobs):
        ann = {P + "enabled": "true", P + "mode": "enforce" if i % 2 else "dry-run",
               P + "min-replicas": "1", P + "max-replicas": "8", P + "total-samples": "1e8",
               P + "energy-budget": "500 kWh"}
        meta = {"name": f"job-{i}", "namespace": f"team-{i % 10}", "annotations": ann}
        size = 1 + i % 8
        if i % 3 == 0:
            api.add(PYTORCHJOB, {"metadata": meta, "spec": {
                "elasticPolicy": {"minReplicas": 1, "maxReplicas": 8},
                "pytorchReplicaSpecs": {"Worker": {"replicas": size}}}})
        else:
            kind = STATEFULSET if i % 3 == 1 else DEPLOYMENT
            api.add(kind, {"metadata": meta, "spec": {"replicas": size}})


POD = {"spec": {"containers": [{"name": "train", "image": "trainer:1"}]}}
MIXED: tuple[KindRef, ...] = (PYTORCHJOB, STATEFULSET, DEPLOYMENT, VOLCANO_JOB, RAYCLUSTER, JOB,
                              JOBSET, TRAINJOB)


def mixed_spec(kind: KindRef, name: str, size: int) -> dict[str, object]:
    """A minimal object of ``kind`` at ``size`` workers, valid under its real CRD."""
    if kind is PYTORCHJOB:
        return {"elasticPolicy": {"minReplicas": 1, "maxReplicas": 8},
                "pytorchReplicaSpecs": {"Worker": {"replicas": size, "template": POD}}}
    if kind is VOLCANO_JOB:
        return {"tasks": [{"name": "worker", "replicas": size, "template": POD}]}
    if kind is RAYCLUSTER:
        return {"headGroupSpec": {"rayStartParams": {}, "template": POD},
                "workerGroupSpecs": [{"groupName": "gpu", "replicas": size, "minReplicas": 1,
                                      "maxReplicas": 8, "rayStartParams": {}, "template": POD}]}
    if kind is JOB:
        return {"parallelism": size, "completions": size, "completionMode": "Indexed",
                "template": POD}
    if kind is JOBSET:
        return {"replicatedJobs": [{"name": "workers", "replicas": 1, "template": {"spec": {
            "parallelism": size, "completions": size, "template": POD}}}]}
    if kind is TRAINJOB:
        return {"runtimeRef": {"name": "torch"}, "trainer": {"numNodes": size}}
    return {"replicas": size, "selector": {"matchLabels": {"app": name}}}


def populate_mixed(api: FakeKubeApi, jobs: int) -> None:
    """``jobs`` annotated jobs over all built-in kinds, and 4 running pods of each."""
    for i in range(jobs):
        enforce = (i // len(MIXED)) % 2  # every kind half in each mode
        ann = {P + "enabled": "true", P + "mode": "enforce" if enforce else "dry-run",
               P + "min-replicas": "1", P + "max-replicas": "8", P + "total-samples": "1e8"}
        name, ns = f"job-{i}", f"team-{i % 10}"
        kind = MIXED[i % len(MIXED)]
        api.add(kind, {"metadata": {"name": name, "namespace": ns, "annotations": ann},
                       "spec": mixed_spec(kind, name, 1 + i % 8)})
        selector = kind.pod_selector({"metadata": {"name": name},
                                      "spec": mixed_spec(kind, name, 1)},
                                     "worker" if kind is VOLCANO_JOB else "gpu"
                                     if kind is RAYCLUSTER else "workers")
        for p in range(4):
            api.add(PODS, {"metadata": {"name": f"{name}-{p}", "namespace": ns,
                                        "labels": selector},
                           "spec": {"nodeName": f"node-{(i + p) % 50}"},
                           "status": {"phase": "Running"}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every pass")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel writes per pass")
    parser.add_argument("--mixed", action="store_true",
                        help="all eight built-in kinds, real CRD schemas, placement on")
    args = parser.parse_args()

    if args.mixed:
        api = FakeKubeApi(crds=True)
        populate_mixed(api, args.jobs)
        settings = OperatorSettings(interval_s=30, identity="bench", metrics_port=0,
                                    api_concurrency=args.concurrency, placement=True,
                                    kinds=["PyTorchJob", "StatefulSet", "Deployment",
                                           "VolcanoJob", "RayCluster", "Job", "JobSet",
                                           "TrainJob"])
    else:
        api = FakeKubeApi()
        populate(api, args.jobs)
        settings = OperatorSettings(interval_s=30, identity="bench", metrics_port=0,
                                    api_concurrency=args.concurrency)
    client = KubeClient(api.transport())
    cache = ObjectCache(client, tuple(k.ref() for k in settings.kinds))
    cache.relist()
    core = OperatorCore(settings, client, cache,
                        table_measurer(), OperatorMetrics())

    now_s = 1_800_000_000.0
    seconds: list[float] = []
    cpu_seconds: list[float] = []  # this process's CPU: what other load on the box cannot inflate
    fake_seconds: list[float] = []  # of the wall time: the in-memory API server serving
    decide_seconds: list[float] = []  # of the wall time: observe + decide + plan per job
    resized = 0
    base = Counter(client.requests)
    for _ in range(args.passes):
        now_s += settings.interval_s
        for i in range(cache.stream_count):  # the watch threads' work, outside the timing
            cache.watch_once(i, timeout_s=1)
        t0, c0, f0 = time.perf_counter(), time.process_time(), api.busy_s
        report = core.run_pass(now_s)
        seconds.append(time.perf_counter() - t0)
        cpu_seconds.append(time.process_time() - c0)
        fake_seconds.append(api.busy_s - f0)
        decide_seconds.append(report.decide_seconds)
        assert report.due == args.jobs and report.errors == 0, report
        resized += report.resized
        if args.verbose:
            print(f"  pass {len(seconds)}: {seconds[-1]:.2f} s wall, {cpu_seconds[-1]:.2f} s CPU, "
                  f"{report.resized} resized; deciding {decide_seconds[-1]:.2f} s, "
                  f"fake API server {fake_seconds[-1]:.2f} s")

    spent = Counter(client.requests)
    spent.subtract(base)
    per_job = {k: v / (args.jobs * args.passes) for k, v in spent.items()
               if v and (k == "GET list pods" or not k.startswith(("WATCH", "GET list")))}
    kinds = "mixed (8 kinds, CRD schemas, placement)" if args.mixed else "PyTorchJob/STS/Deploy"
    print(f"jobs: {args.jobs} {kinds}  passes: {args.passes}  resizes: {resized}")
    print(f"pass time: first {seconds[0]:.2f} s, median {statistics.median(seconds):.2f} s, "
          f"max {max(seconds):.2f} s  (goal <= 5 s)")
    own = [s - f - d for s, f, d in zip(seconds, fake_seconds, decide_seconds, strict=True)]
    print(f"  of which deciding (decision engine + planning): median "
          f"{statistics.median(decide_seconds):.2f} s, max {max(decide_seconds):.2f} s")
    print(f"  of which the in-memory API server: median {statistics.median(fake_seconds):.2f} s")
    print(f"  the rest (cache, client, writes, Events, metrics): median "
          f"{statistics.median(own):.2f} s, max {max(own):.2f} s")
    print(f"pass CPU time: median {statistics.median(cpu_seconds):.2f} s, "
          f"max {max(cpu_seconds):.2f} s  (load on this machine: {os.getloadavg()[0]:.1f})")
    print(f"API requests per job per interval: {sum(per_job.values()):.3f}  (goal <= 2)")
    for key, value in sorted(per_job.items()):
        print(f"  {key:<36} {value:.3f}")
    watches = sum(v for k, v in spent.items() if k.startswith("WATCH"))
    print(f"  (watch connections, per kind: {watches} over {args.passes} passes)")


if __name__ == "__main__":
    main()
