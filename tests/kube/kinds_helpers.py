"""Objects of the issue-11 kinds, valid under their real CRDs (``../shared/kube/crds``), and a
harness that serves them all over the in-memory API server with the CRD schemas loaded."""

from __future__ import annotations

from typing import Any

from kube_helpers import Harness, opt_in

from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.testing.curves import table_measurer
from autoscaler.testing.fakeapi import FakeKubeApi

ALL = ["PyTorchJob", "StatefulSet", "Deployment", "VolcanoJob", "RayCluster", "Job", "JobSet",
       "TrainJob"]
POD = {"spec": {"containers": [{"name": "train", "image": "trainer:1"}]}}


def meta(name: str, annotations: dict[str, str], labels: dict[str, str] | None = None
         ) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "namespace": "ml", "annotations": annotations}
    if labels:
        out["labels"] = labels
    return out


def volcano(name: str, workers: int, annotations: dict[str, str], *, master: bool = True,
            min_available: int | None = None, task_min: int | None = None) -> dict[str, Any]:
    tasks = [{"name": "master", "replicas": 1, "template": POD}] if master else []
    worker: dict[str, Any] = {"name": "worker", "replicas": workers, "template": POD}
    if task_min is not None:
        worker["minAvailable"] = task_min
    tasks.append(worker)
    spec: dict[str, Any] = {"schedulerName": "volcano", "tasks": tasks}
    if min_available is not None:
        spec["minAvailable"] = min_available
    return {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
            "metadata": meta(name, annotations), "spec": spec}


def raycluster(name: str, workers: int, annotations: dict[str, str],
               bounds: tuple[int, int] = (1, 6)) -> dict[str, Any]:
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": meta(name, annotations),
            "spec": {"headGroupSpec": {"rayStartParams": {}, "template": POD},
                     "workerGroupSpecs": [{"groupName": "gpu", "replicas": workers,
                                           "minReplicas": bounds[0], "maxReplicas": bounds[1],
                                           "rayStartParams": {}, "template": POD}]}}


def batch_job(name: str, workers: int, annotations: dict[str, str],
              labels: dict[str, str] | None = None, indexed: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"parallelism": workers, "template": POD}
    if indexed:
        spec.update(completions=workers, completionMode="Indexed")
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(name, annotations, labels),
            "spec": spec, "status": {"ready": workers}}


def jobset(name: str, workers: int, annotations: dict[str, str]) -> dict[str, Any]:
    inner = {"parallelism": workers, "completions": workers, "template": POD}
    return {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
            "metadata": meta(name, annotations),
            "spec": {"replicatedJobs": [{"name": "workers", "replicas": 1,
                                         "template": {"spec": inner}}]}}


def trainjob(name: str, nodes: int, annotations: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob",
            "metadata": meta(name, annotations),
            "spec": {"runtimeRef": {"name": "torch-distributed"},
                     "trainer": {"numNodes": nodes}}}


def harness(*, elastic_jobset: bool = False, placement: bool = False,
            **settings: Any) -> tuple[FakeKubeApi, Harness]:
    api = FakeKubeApi(crds=True, elastic_jobset=elastic_jobset)
    s = OperatorSettings(interval_s=30.0, identity="op-test", metrics_port=0, api_concurrency=1,
                         kinds=ALL, elastic_jobset=elastic_jobset, placement=placement,
                         **settings)
    return api, Harness(api, s, table_measurer())


__all__ = ["ALL", "batch_job", "harness", "jobset", "opt_in", "raycluster", "trainjob",
           "volcano"]
