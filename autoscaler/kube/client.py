"""The one seam for all Kubernetes API I/O.

Credentials come from the official ``kubernetes`` client's loaders (kubeconfig, in-cluster
service account with token rotation, exec plugins); requests go straight to one httpx
*transport* (a pooled ``httpx.HTTPTransport``, or a ``MockTransport`` in tests). The
``httpx.Client`` layer above transports (cookies, redirects, URL merging) costs about 0.7 ms per
request and gives the operator nothing it needs; at 1,000 jobs per pass that was a second.
Why not the generated ``kubernetes.client`` API classes for the requests themselves: the operator
reads and writes plain JSON (custom objects, ``/scale``, Events, Leases), and in client v37 each
generated call validates its arguments with pydantic and deserialises responses into models,
which costs more than the request itself at 1,000 jobs per pass. One thin seam also lets tests
pass a ``MockTransport`` (see :mod:`autoscaler.testing.fakeapi`) instead of patching, and
lets the e2e suite add impersonation headers. Every failure becomes a
:class:`~autoscaler.kube.errors.KubeApiError` with its retry meaning.
"""

from __future__ import annotations

import builtins
import json
import ssl
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from autoscaler.kube.errors import KubeConfigError, KubeTemporaryError, classify
from autoscaler.kube.kinds import KindRef, ObjectRef

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class KubeClient:
    """JSON over HTTP to one API server. Thread-safe (httpx transports are).

    ``requests`` counts requests by ``"METHOD kind"`` so that a benchmark or a test can prove
    the per-job request budget (watch streams count once per connection).
    """

    def __init__(
        self,
        transport: httpx.BaseTransport,
        base_url: str = "https://kubernetes.default.svc",
        *,
        token: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._transport = transport
        self._base = base_url.rstrip("/")
        self._timeout = {"connect": timeout_s, "read": timeout_s, "write": timeout_s,
                         "pool": timeout_s}
        self._token = token  # callable returning "Bearer ..." or None
        self._headers = dict(extra_headers or {})
        self.requests: Counter[str] = Counter()

    @classmethod
    def from_config(
        cls,
        kubeconfig: str | None = None,
        *,
        timeout_s: float = 30.0,
        extra_headers: Mapping[str, str] | None = None,
    ) -> KubeClient:
        """In-cluster service account when ``kubeconfig`` is None, else that kubeconfig file."""
        import yaml
        from kubernetes import client as kclient  # heavy: only here
        from kubernetes import config as kconfig

        cfg = kclient.Configuration()
        try:
            if kubeconfig is None:
                kconfig.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
            else:
                kconfig.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=kubeconfig, client_configuration=cfg
                )
        except (kconfig.ConfigException, OSError, ValueError, yaml.YAMLError) as e:
            where = kubeconfig or "the in-cluster service account"
            message = f"cannot load credentials from {where}: {e}"
            raise KubeConfigError(message) from e
        verify: ssl.SSLContext | bool = False
        if cfg.verify_ssl:
            ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert) if cfg.ssl_ca_cert else (
                ssl.create_default_context()
            )
            if cfg.cert_file and cfg.key_file:
                ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
            verify = ctx
        transport = httpx.HTTPTransport(
            verify=verify, limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)
        )

        def token() -> str | None:
            value: str | None = cfg.get_api_key_with_prefix("BearerToken")
            if value and " " not in value.strip():
                value = "Bearer " + value.strip()
            return value

        return cls(transport, cfg.host, token=token, extra_headers=extra_headers,
                   timeout_s=timeout_s)

    def close(self) -> None:
        self._transport.close()

    # -- plumbing -----------------------------------------------------------------------------
    def _headers_for(self, content_type: str | None) -> dict[str, str]:
        headers = dict(self._headers)
        headers["Accept"] = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if self._token is not None:
            value = self._token()
            if value:
                headers["Authorization"] = value
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        tag: str,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        content_type: str | None = "application/json",
    ) -> dict[str, Any]:
        """One request; the parsed JSON body, or a classified :class:`KubeApiError`."""
        self.requests[f"{method} {tag}"] += 1
        content = b"" if body is None else json.dumps(body).encode()
        request = httpx.Request(
            method, self._base + path, params=params, content=content,
            headers=self._headers_for(content_type if body is not None else None),
            extensions={"timeout": self._timeout},
        )
        try:
            resp = self._transport.handle_request(request)
            try:
                resp.read()
            finally:
                resp.close()
        except httpx.HTTPError as e:
            raise KubeTemporaryError(method, path, 0, f"{method} {path}: {e!r}") from e
        if resp.status_code >= 400:
            raise classify(method, path, resp.status_code, _status_message(resp))
        data: dict[str, Any] = resp.json() if resp.content else {}
        return data

    # -- objects ------------------------------------------------------------------------------
    def list(self, kind: KindRef, namespace: str | None) -> tuple[list[dict[str, Any]], str]:
        """All objects of a kind (in a namespace or cluster-wide) and the list resourceVersion."""
        data = self.request("GET", kind.collection_path(namespace), tag=f"list {kind.plural}")
        items: list[dict[str, Any]] = data.get("items", [])
        for item in items:  # list items carry no kind/apiVersion; Events and logs need them
            item.setdefault("kind", kind.kind)
            item.setdefault("apiVersion", kind.api_version)
        return items, str(data.get("metadata", {}).get("resourceVersion", ""))

    def watch(
        self, kind: KindRef, namespace: str | None, resource_version: str, timeout_s: int
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Stream ``(type, object)`` watch events after ``resource_version`` until the server
        ends the stream (``timeout_s``). An ``ERROR`` event (e.g. 410 Gone) is yielded as-is."""
        path = kind.collection_path(namespace)
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_s),
            "allowWatchBookmarks": "true",
        }
        self.requests[f"WATCH {kind.plural}"] += 1
        timeout = {**self._timeout, "read": timeout_s + 30.0}
        request = httpx.Request("GET", self._base + path, params=params,
                                headers=self._headers_for(None), extensions={"timeout": timeout})
        try:
            resp = self._transport.handle_request(request)
            try:
                if resp.status_code >= 400:
                    resp.read()
                    raise classify("WATCH", path, resp.status_code, _status_message(resp))
                for line in resp.iter_lines():
                    if line.strip():
                        event = json.loads(line)
                        yield str(event.get("type", "")), event.get("object", {})
            finally:
                resp.close()
        except httpx.HTTPError as e:
            raise KubeTemporaryError("WATCH", path, 0, f"watch {path}: {e!r}") from e

    def get(self, ref: ObjectRef) -> dict[str, Any]:
        return self.request(
            "GET", ref.kind.object_path(ref.namespace, ref.name), tag=f"get {ref.kind.plural}"
        )

    def patch_annotations(
        self, ref: ObjectRef, annotations: Mapping[str, str | None], resource_version: str | None
    ) -> dict[str, Any]:
        """Merge-patch annotations (None deletes a key). With ``resource_version`` the server
        refuses (409) if the object changed since it was read: the owner may have just edited
        the very annotations this patch answers."""
        meta: dict[str, Any] = {"annotations": dict(annotations)}
        if resource_version:
            meta["resourceVersion"] = resource_version
        return self.request(
            "PATCH", ref.kind.object_path(ref.namespace, ref.name), tag=f"patch {ref.kind.plural}",
            body={"metadata": meta}, content_type=MERGE_PATCH,
        )

    # -- /scale -------------------------------------------------------------------------------
    def get_scale(self, ref: ObjectRef) -> int:
        path = ref.kind.object_path(ref.namespace, ref.name) + "/scale"
        data = self.request("GET", path, tag=f"get {ref.kind.plural}/scale")
        return int(data.get("spec", {}).get("replicas", 0))

    def patch_scale(self, ref: ObjectRef, replicas: int) -> int:
        path = ref.kind.object_path(ref.namespace, ref.name) + "/scale"
        data = self.request(
            "PATCH", path, tag=f"patch {ref.kind.plural}/scale",
            body={"spec": {"replicas": replicas}}, content_type=MERGE_PATCH,
        )
        return int(data.get("spec", {}).get("replicas", replicas))

    def json_patch(self, ref: ObjectRef, ops: builtins.list[dict[str, Any]]) -> dict[str, Any]:
        """An RFC 6902 JSON patch of the object (a replica count inside a named list entry,
        guarded by a ``test`` of the entry's name). ``fieldValidation=Strict``: a path the
        schema does not know is refused (400), never silently pruned."""
        return self.request(
            "PATCH", ref.kind.object_path(ref.namespace, ref.name), tag=f"patch {ref.kind.plural}",
            body=ops, content_type=JSON_PATCH, params={"fieldValidation": "Strict"},
        )

    def list_pods(self, namespace: str) -> builtins.list[dict[str, Any]]:
        """The namespace's running pods (one request for every job in it: placement)."""
        data = self.request("GET", f"/api/v1/namespaces/{namespace}/pods", tag="list pods",
                            params={"fieldSelector": "status.phase=Running"})
        items = data.get("items", [])
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    # -- Events and Leases --------------------------------------------------------------------
    def create_event(self, namespace: str, event: Mapping[str, Any]) -> None:
        self.request("POST", f"/api/v1/namespaces/{namespace}/events", tag="create events",
                     body=dict(event))

    def lease_path(self, namespace: str, name: str | None = None) -> str:
        base = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        return base if name is None else f"{base}/{name}"


def _status_message(resp: httpx.Response) -> str:
    try:
        status = resp.json()
        return str(status.get("message") or status.get("reason") or resp.text[:200])
    except ValueError:
        return resp.text[:200] or resp.reason_phrase
