"""A list-then-watch cache of opted-in objects (a small informer).

The pass reads each job's replica count and annotations from here, never with a GET: that is
what keeps the operator at one or two API requests per job per interval. Only objects with
``energy-autoscaler.io/enabled: "true"`` are kept, so a cluster with ten thousand Deployments
costs memory for the few that opted in. A kind whose resource is not served (PyTorchJob without
the Kubeflow CRD) is reported once and retried on the next relist; the other kinds carry on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from autoscaler.kube.annotations import is_enabled
from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError, KubePermanentError
from autoscaler.kube.kinds import KindRef, ObjectRef

log = logging.getLogger(__name__)


@dataclass
class _Stream:
    kind: KindRef
    namespace: str | None  # None: cluster-wide
    resource_version: str = ""
    listed: bool = False
    problem: str = ""  # why the last list failed (logged once per change)
    permanent: bool = False  # ... and it was no transient error (no such resource, no rights)


@dataclass
class ObjectCache:
    """Opted-in objects by key. Thread-safe: watch threads write, the pass reads."""

    client: KubeClient
    kinds: tuple[KindRef, ...]
    namespaces: tuple[str, ...] = ()  # empty: all namespaces
    _objects: dict[str, tuple[KindRef, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _streams: list[_Stream] = field(default_factory=list)

    def __post_init__(self) -> None:
        scopes: Iterable[str | None] = self.namespaces or (None,)
        self._streams = [_Stream(k, ns) for k in self.kinds for ns in scopes]

    @property
    def synced(self) -> bool:
        """Every kind listed at least once, or known to be absent/forbidden: ready to serve.
        An unreachable API server is not "synced": readiness must fail then."""
        return all(s.listed or s.permanent for s in self._streams)

    def objects(self) -> list[tuple[KindRef, dict[str, Any]]]:
        with self._lock:
            return list(self._objects.values())

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        with self._lock:
            entry = self._objects.get(ref.key)
        return entry[1] if entry else None

    def apply(self, kind: KindRef, event_type: str, obj: dict[str, Any]) -> None:
        """Fold one object state (watch event, or a write's response) into the cache. An older
        resourceVersion never overwrites a newer one (a watch event may trail our own patch)."""
        if "metadata" not in obj or "name" not in obj["metadata"]:
            return
        obj.setdefault("kind", kind.kind)
        obj.setdefault("apiVersion", kind.api_version)
        key = ObjectRef.of(kind, obj).key
        with self._lock:
            if event_type == "DELETED" or not is_enabled(obj["metadata"].get("annotations") or {}):
                self._objects.pop(key, None)
                return
            old = self._objects.get(key)
            if old is not None and _rv(old[1]) > _rv(obj):
                return
            self._objects[key] = (kind, obj)

    def forget(self, ref: ObjectRef) -> None:
        with self._lock:
            self._objects.pop(ref.key, None)

    def relist(self) -> None:
        """List every (kind, namespace) afresh; objects gone from a listing are dropped."""
        for stream in self._streams:
            self._relist(stream)

    def _relist(self, stream: _Stream) -> None:
        try:
            items, rv = self.client.list(stream.kind, stream.namespace)
        except KubeApiError as e:
            why = f"cannot list {stream.kind.plural}.{stream.kind.group}: {e}"
            stream.permanent = isinstance(e, KubePermanentError)
            if why != stream.problem:
                log.log(logging.WARNING if stream.permanent else logging.INFO,
                        "%s (will retry)", why)
            stream.problem, stream.listed = why, False
            return
        stream.problem, stream.permanent = "", False
        stream.listed, stream.resource_version = True, rv
        seen = set()
        for item in items:
            self.apply(stream.kind, "ADDED", item)
            seen.add(ObjectRef.of(stream.kind, item).key)
        with self._lock:
            for key, (kind, obj) in list(self._objects.items()):
                in_scope = stream.namespace in (None, obj["metadata"].get("namespace"))
                if kind == stream.kind and in_scope and key not in seen:
                    del self._objects[key]

    def watch_once(self, stream_index: int, timeout_s: int) -> int:
        """One watch connection for one (kind, namespace): apply its events until the server
        ends it. Returns how many events arrived. Lists first when needed (first use, 410)."""
        stream = self._streams[stream_index]
        if not stream.listed:
            self._relist(stream)
            if not stream.listed:
                return 0
        count = 0
        for event_type, obj in self.client.watch(
            stream.kind, stream.namespace, stream.resource_version, timeout_s
        ):
            count += 1
            if event_type == "ERROR":  # 410 Gone: our resourceVersion is too old; relist
                log.info("watch %s: %s; relisting", stream.kind.plural, obj.get("message"))
                stream.listed = False
                return count
            rv = obj.get("metadata", {}).get("resourceVersion")
            if rv:
                stream.resource_version = str(rv)
            if event_type != "BOOKMARK":
                self.apply(stream.kind, event_type, obj)
        return count

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    def unavailable(self, stream_index: int) -> bool:
        """The last list of this (kind, namespace) failed (no CRD, no rights, no server)."""
        return bool(self._streams[stream_index].problem)


def _rv(obj: dict[str, Any]) -> int:
    """resourceVersions are opaque strings; etcd's are integers, which is all we compare."""
    raw = obj.get("metadata", {}).get("resourceVersion", "")
    return int(raw) if str(raw).isdigit() else -1
