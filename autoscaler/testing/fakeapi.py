"""An in-memory Kubernetes API server behind an ``httpx.MockTransport``, for tests and benchmarks.

Why not ``kmock``'s emulator: it merges a PATCH on ``/scale`` into the object itself (so
``spec.replicas`` would appear on a PyTorchJob instead of
``spec.pytorchReplicaSpecs.Worker.replicas``) and it keeps no resourceVersions, so neither
``/scale`` nor optimistic-concurrency 409s can be tested with it. This fake is small but keeps
the semantics the operator relies on: resourceVersions and 409 on a stale one, JSON merge patch,
``/scale`` mapped to each kind's replica path, list + watch from a resourceVersion (410 when it
is older than the kept history), Events, Leases, and injected failures. It runs in-process and
synchronously (no sockets, no event loop), so tests drive it step by step.

It also serves every built-in kind (the ``/scale`` subresource only for kinds that have one, as
the real CRDs do), RFC 6902 JSON patches (``autoscaler.testing.jsonpatch``), pods listed by
label and phase, and with ``crds=True`` the real CRDs' schemas (``autoscaler.testing.crdschema``)
plus JobSet's webhook rule (``replicatedJobs`` immutable, but for the inner Job's parallelism and
completions with ``elastic_jobset``).
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx

from autoscaler.kube.kinds import BUILTIN_KINDS, KindRef, dig
from autoscaler.testing.crdschema import SchemaError, check, jobset_webhook, load_crds
from autoscaler.testing.jsonpatch import PatchError, apply_json_patch, merge_patch

LEASES = KindRef("coordination.k8s.io", "v1", "leases", "Lease")
EVENTS = KindRef("", "v1", "events", "Event")
PODS = KindRef("", "v1", "pods", "Pod")
FAKE_KINDS: tuple[KindRef, ...] = tuple(BUILTIN_KINDS.values())


@dataclass
class _Fault:
    method: str
    path_part: str
    status: int
    times: int


class FakeKubeApi:
    """State plus a request handler. ``client()`` gives an ``httpx.Client`` wired to it."""

    def __init__(self, kinds: tuple[KindRef, ...] = FAKE_KINDS, history: int = 100_000, *,
                 crds: bool = False, elastic_jobset: bool = False) -> None:
        self._kinds = {(k.group, k.version, k.plural): k for k in (*kinds, LEASES, EVENTS, PODS)}
        self._schemas = load_crds() if crds else {}
        self.elastic_jobset = elastic_jobset
        self._objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._history: list[tuple[int, tuple[str, str, str], str, dict[str, Any]]] = []
        self._history_limit = history
        self._rv = 1
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self.log: list[tuple[str, str]] = []
        self.down: int | None = None  # an outage: every request answers this status
        self.busy_s = 0.0  # time spent serving (a real server spends it on another machine)

    # -- test helpers -------------------------------------------------------------------------
    def transport(self) -> httpx.MockTransport:
        """What a :class:`~autoscaler.kube.client.KubeClient` sends its requests to."""
        return httpx.MockTransport(self.handle)

    def add(self, kind: KindRef, obj: dict[str, Any]) -> dict[str, Any]:
        """Create an object directly (as a user with kubectl would)."""
        ns = obj["metadata"].get("namespace", "default")
        path = f"{kind.collection_path(ns)}"
        resp = self.handle(httpx.Request("POST", "https://fake" + path, json=obj))
        assert resp.status_code == 201, resp.text
        created: dict[str, Any] = resp.json()
        return created

    def obj(self, kind: KindRef, namespace: str, name: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._objects[(kind.group, kind.plural, namespace, name)])

    def objects(self, kind: KindRef) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(o) for (g, p, _, _), o in self._objects.items()
                    if (g, p) == (kind.group, kind.plural)]

    def fail_next(self, method: str, path_part: str, status: int, times: int = 1) -> None:
        """The next ``times`` requests whose method and path match answer ``status``."""
        self._faults.append(_Fault(method.upper(), path_part, status, times))

    def count(self, method: str, path_part: str = "") -> int:
        return sum(1 for m, p in self.log if m == method.upper() and path_part in p)

    # -- server -------------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        with self._lock:  # one request at a time, so busy_s is serial server time
            started = time.perf_counter()
            try:
                return self._serve(method, path, query, request)
            finally:
                self.busy_s += time.perf_counter() - started

    def _serve(self, method: str, path: str, query: dict[str, str],
               request: httpx.Request) -> httpx.Response:
        """Called with the lock held."""
        self.log.append((method if query.get("watch") != "true" else "WATCH", path))
        if self.down is not None:
            return _status(self.down, "Injected", f"injected outage {self.down}")
        for fault in self._faults:
            if fault.times > 0 and fault.method == method and fault.path_part in path:
                fault.times -= 1
                return _status(fault.status, "Injected", f"injected failure {fault.status}")
        try:
            return self._route(method, path, query, request)
        except _HttpError as e:
            return _status(e.status, e.reason, e.message)

    def _route(self, method: str, path: str, query: dict[str, str],
               request: httpx.Request) -> httpx.Response:
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _HttpError(404, "NotFound", f"no route {path}")
        ns: str | None = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or (group, version, rest[0]) not in self._kinds:
            raise _HttpError(404, "NotFound", f"the server could not find the resource {path}")
        kind = self._kinds[(group, version, rest[0])]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        body = json.loads(request.content) if request.content else None
        if name is None:
            if method == "GET" and query.get("watch") == "true":
                return self._watch(kind, ns, int(query.get("resourceVersion") or 0))
            if method == "GET":
                return self._list(kind, ns, query)
            if method == "POST" and ns is not None:
                return self._create(kind, ns, body)
        elif ns is not None:
            key = (kind.group, kind.plural, ns, name)
            if key not in self._objects:
                raise _HttpError(404, "NotFound", f'{kind.plural} "{name}" not found')
            if sub == "scale" and kind.resize == "scale":
                return self._scale(kind, key, method, body)
            if sub is not None:
                raise _HttpError(404, "NotFound", f"the server could not find {path}")
            if method == "GET":
                return _json(200, self._objects[key])
            if method == "PATCH" and "json-patch" in request.headers.get("content-type", ""):
                try:
                    new = apply_json_patch(self._objects[key], body)
                except PatchError as e:
                    raise _HttpError(422, "Invalid", str(e)) from e
                return self._update(kind, key, new, replace=True, strict=query.get(
                    "fieldValidation") == "Strict", keep_rv=True)
            if method in ("PATCH", "PUT"):
                return self._update(kind, key, body, replace=method == "PUT")
            if method == "DELETE":
                obj = self._objects.pop(key)
                self._record(kind, "DELETED", obj)
                return _json(200, obj)
        raise _HttpError(405, "MethodNotAllowed", f"{method} {path}")

    def _bump(self, obj: dict[str, Any]) -> None:
        self._rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)

    def _record(self, kind: KindRef, event: str, obj: dict[str, Any]) -> None:
        # Stored objects are never mutated in place (updates build new dicts), so the history
        # can share them instead of copying: 1,000-job benchmarks stay about the operator.
        self._history.append((self._rv, (kind.group, kind.version, kind.plural), event, obj))
        del self._history[: max(0, len(self._history) - self._history_limit)]

    def _list(self, kind: KindRef, ns: str | None, query: dict[str, str]) -> httpx.Response:
        items = [o for (g, p, n, _), o in self._objects.items()
                 if (g, p) == (kind.group, kind.plural) and (ns is None or n == ns)]
        labels = dict(t.split("=", 1) for t in query.get("labelSelector", "").split(",") if t)
        phase = query.get("fieldSelector", "").removeprefix("status.phase=") or None
        if labels or phase:
            items = [o for o in items if isinstance(o["metadata"].get("labels") or {}, dict)
                     and labels.items() <= (o["metadata"].get("labels") or {}).items()
                     and (phase is None or o.get("status", {}).get("phase") == phase)]
        return _json(200, {"kind": f"{kind.kind}List", "apiVersion": kind.api_version,
                           "metadata": {"resourceVersion": str(self._rv)}, "items": items})

    def _watch(self, kind: KindRef, ns: str | None, since_rv: int) -> httpx.Response:
        res = (kind.group, kind.version, kind.plural)
        if self._history and since_rv < self._history[0][0] - 1:
            gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410,
                                                "reason": "Expired", "message": "too old"}}
            return httpx.Response(200, content=json.dumps(gone).encode() + b"\n")
        lines = [
            json.dumps({"type": ev, "object": obj}).encode()
            for rv, r, ev, obj in self._history
            if r == res and rv > since_rv and (ns is None or obj["metadata"].get("namespace") == ns)
        ]
        return httpx.Response(200, content=b"\n".join(lines) + (b"\n" if lines else b""))

    def _create(self, kind: KindRef, ns: str, body: Any) -> httpx.Response:
        meta = body.setdefault("metadata", {})
        name = meta.get("name") or f"{meta.get('generateName', 'obj-')}{uuid.uuid4().hex[:5]}"
        key = (kind.group, kind.plural, ns, name)
        if key in self._objects:
            raise _HttpError(409, "AlreadyExists", f'{kind.plural} "{name}" already exists')
        meta.update(name=name, namespace=ns, uid=str(uuid.uuid4()), generation=1)
        body.setdefault("kind", kind.kind)
        body.setdefault("apiVersion", kind.api_version)
        body = self._admit(kind, body, None, strict=True)
        self._bump(body)
        self._objects[key] = body
        self._record(kind, "ADDED", body)
        return _json(201, body)

    def _update(self, kind: KindRef, key: tuple[str, str, str, str], body: Any,
                replace: bool, *, strict: bool = False, keep_rv: bool = False) -> httpx.Response:
        current = self._objects[key]
        want_rv = (body or {}).get("metadata", {}).get("resourceVersion")
        if not keep_rv and (want_rv or replace) and \
                want_rv != current["metadata"]["resourceVersion"]:
            raise _HttpError(409, "Conflict", "the object has been modified; please apply your "
                             "changes to the latest version and try again")
        new = copy.deepcopy(body) if replace else merge_patch(current, body)
        new["metadata"] = dict(new.get("metadata") or {})  # never mutate a shared dict
        for fixed in ("uid", "name", "namespace", "generation"):
            new["metadata"][fixed] = current["metadata"].get(fixed)
        new = self._admit(kind, new, current, strict=strict)
        self._bump(new)
        self._objects[key] = new
        self._record(kind, "MODIFIED", new)
        return _json(200, new)

    def _scale(self, kind: KindRef, key: tuple[str, str, str, str], method: str,
               body: Any) -> httpx.Response:
        obj = self._objects[key]
        if method == "PATCH":
            obj = copy.deepcopy(obj)
            replicas = (body or {}).get("spec", {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise _HttpError(422, "Invalid", "spec.replicas must be a non-negative integer")
            node = obj
            *parents, leaf = kind.replicas_path.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = replicas
            self._bump(obj)
            self._objects[key] = obj
            self._record(kind, "MODIFIED", obj)
        elif method != "GET":
            raise _HttpError(405, "MethodNotAllowed", f"{method} on /scale")
        meta = obj["metadata"]
        replicas_now = dig(obj, kind.replicas_path) or 0
        return _json(200, {"kind": "Scale", "apiVersion": "autoscaling/v1",
                           "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                        "resourceVersion": meta["resourceVersion"]},
                           "spec": {"replicas": replicas_now},
                           "status": {"replicas": replicas_now}})


    def _admit(self, kind: KindRef, new: dict[str, Any], old: dict[str, Any] | None, *,
               strict: bool) -> dict[str, Any]:
        """The CRD's schema and the webhook rules the fake knows (when loaded)."""
        schema = self._schemas.get((kind.group, kind.plural))
        if schema is None:
            return new
        try:
            checked: dict[str, Any] = check(schema, new, old, strict=strict)
            if kind.plural == "jobsets" and old is not None:
                jobset_webhook(new, old, elastic=self.elastic_jobset)
        except SchemaError as e:
            raise _HttpError(e.status, "BadRequest" if e.status == 400 else "Invalid",
                             str(e)) from e
        return checked


class _HttpError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status, self.reason, self.message = status, reason, message


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(),
                          headers={"Content-Type": "application/json"})


def _status(code: int, reason: str, message: str) -> httpx.Response:
    return _json(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "code": code, "reason": reason, "message": message})


__all__ = ["EVENTS", "FAKE_KINDS", "LEASES", "PODS", "FakeKubeApi", "merge_patch"]
