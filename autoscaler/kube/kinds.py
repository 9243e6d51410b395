"""Which resources the operator serves, and how to read each one's size and elastic bounds.

Any resource with a ``/scale`` subresource can be served: the operator resizes only through
``/scale``, so it never needs to know where a kind keeps its replica count *for writing*. For
*reading* it uses the watched object (no GET of ``/scale`` per pass, to keep API requests low),
so each kind names the dotted path of its replica count; that path is the ``specReplicasPath``
of the CRD's scale subresource (``.spec.pytorchReplicaSpecs.Worker.replicas`` for PyTorchJob).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KindRef:
    """A served resource. ``group`` is ``""`` for the core API. ``elastic_path`` (optional)
    points at an object holding ``minReplicas``/``maxReplicas`` (PyTorchJob ``elasticPolicy``)."""

    group: str
    version: str
    plural: str
    kind: str
    replicas_path: str = "spec.replicas"
    elastic_path: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None) -> str:
        """``/apis/apps/v1/namespaces/ns/statefulsets`` (or cluster-wide without a namespace)."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is None:
            return f"{root}/{self.plural}"
        return f"{root}/namespaces/{namespace}/{self.plural}"

    def object_path(self, namespace: str, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"

    def replicas(self, obj: Mapping[str, Any]) -> int | None:
        """The desired replica count in the watched object, or None if the path is absent."""
        value = dig(obj, self.replicas_path)
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else None

    def elastic_bounds(self, obj: Mapping[str, Any]) -> tuple[int | None, int | None]:
        if self.elastic_path is None:
            return None, None
        policy = dig(obj, self.elastic_path)
        if not isinstance(policy, Mapping):
            return None, None
        lo, hi = policy.get("minReplicas"), policy.get("maxReplicas")
        return (lo if isinstance(lo, int) else None, hi if isinstance(hi, int) else None)


def dig(obj: Mapping[str, Any], dotted: str) -> Any:
    """``dig(o, "spec.a.b")`` -> ``o["spec"]["a"]["b"]`` or None when any step is missing."""
    node: Any = obj
    for part in dotted.strip(".").split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


PYTORCHJOB = KindRef(
    group="kubeflow.org",
    version="v1",
    plural="pytorchjobs",
    kind="PyTorchJob",
    replicas_path="spec.pytorchReplicaSpecs.Worker.replicas",
    elastic_path="spec.elasticPolicy",
)
STATEFULSET = KindRef(group="apps", version="v1", plural="statefulsets", kind="StatefulSet")
DEPLOYMENT = KindRef(group="apps", version="v1", plural="deployments", kind="Deployment")

DEFAULT_KINDS: tuple[KindRef, ...] = (PYTORCHJOB, STATEFULSET, DEPLOYMENT)


@dataclass(frozen=True)
class ObjectRef:
    """One served object: what Events point at and what the pass keys its state by."""

    kind: KindRef
    namespace: str
    name: str
    uid: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind.plural}.{self.kind.group}/{self.namespace}/{self.name}"

    @classmethod
    def of(cls, kind: KindRef, obj: Mapping[str, Any]) -> ObjectRef:
        meta = obj.get("metadata", {})
        namespace, uid = str(meta.get("namespace", "")), str(meta.get("uid", ""))
        return cls(kind, namespace, str(meta["name"]), uid)
