"""Shared helpers of the kube tests: job factories, the known curve, and ``Harness`` (an operator
core over the in-memory API server, driven pass by pass with explicit time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autoscaler.kube.cache import ObjectCache
from autoscaler.kube.client import KubeClient
from autoscaler.kube.kinds import PYTORCHJOB, STATEFULSET, KindRef
from autoscaler.runtime.operator.core import OperatorCore
from autoscaler.runtime.operator.measure import JobMeasurer
from autoscaler.runtime.operator.metrics import OperatorMetrics
from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.testing.curves import CURVE
from autoscaler.testing.fakeapi import EVENTS, FakeKubeApi

P = "energy-autoscaler.io/"
T0 = 1_800_000_000.0  # a fixed "now" (2027-01-15): tests drive time, never read a clock



def pytorchjob(name: str, workers: int, annotations: dict[str, str],
               elastic: tuple[int, int] | None = (1, 8), namespace: str = "ml") -> dict[str, Any]:
    spec: dict[str, Any] = {"pytorchReplicaSpecs": {
        "Master": {"replicas": 1, "template": {}},
        "Worker": {"replicas": workers, "template": {}},
    }}
    if elastic is not None:
        spec["elasticPolicy"] = {"minReplicas": elastic[0], "maxReplicas": elastic[1]}
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
            "spec": spec}


def statefulset(name: str, replicas: int, annotations: dict[str, str],
                namespace: str = "ml") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}}}


def opt_in(**extra: str) -> dict[str, str]:
    """Annotations of an opted-in job; keyword names use _ for - (min_replicas=...)."""
    out = {P + "enabled": "true"}
    out.update({P + k.replace("_", "-"): v for k, v in extra.items()})
    return out


class Harness:
    """An operator core over the fake API; ``step()`` = watch, then one pass at the next time."""

    def __init__(self, api: FakeKubeApi, settings: OperatorSettings,
                 measurer: JobMeasurer) -> None:
        self.api = api
        self.settings = settings
        self.measurer = measurer
        self.now_s = T0
        self.start()

    def start(self) -> None:
        """(Re)start the operator process: fresh client, cache and memory."""
        self.client = KubeClient(self.api.transport())
        kinds = tuple(k.ref() for k in self.settings.kinds)
        self.cache = ObjectCache(self.client, kinds, tuple(self.settings.namespaces))
        self.metrics = OperatorMetrics()
        self.core = OperatorCore(self.settings, self.client, self.cache, self.measurer,
                                 self.metrics)
        self.cache.relist()

    def sync(self) -> None:
        for i in range(self.cache.stream_count):
            self.cache.watch_once(i, timeout_s=1)

    def step(self, seconds: float | None = None, *, errors_ok: bool = False) -> Any:
        """Advance time, deliver watch events, run one pass. A job that fails fails the test
        unless the test provoked it (``errors_ok``)."""
        self.now_s += self.settings.interval_s if seconds is None else seconds
        self.sync()
        report = self.core.run_pass(self.now_s)
        assert errors_ok or report.errors == 0, report
        return report

    def until(self, done: Callable[[], bool], passes: int = 40) -> int:
        """Step until ``done()``; returns how many passes it took (fails if never)."""
        for i in range(1, passes + 1):
            self.step()
            if done():
                return i
        raise AssertionError(f"condition not reached in {passes} passes")

    def obj(self, kind: KindRef, name: str, namespace: str = "ml") -> dict[str, Any]:
        return self.api.obj(kind, namespace, name)

    def annotation(self, kind: KindRef, name: str, key: str) -> str | None:
        value = self.obj(kind, name)["metadata"].get("annotations", {}).get(P + key)
        return None if value is None else str(value)

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.api.objects(EVENTS) if reason is None or e["reason"] == reason]



__all__ = [
    "CURVE",
    "PYTORCHJOB",
    "STATEFULSET",
    "T0",
    "Harness",
    "P",
    "opt_in",
    "pytorchjob",
    "statefulset",
]
