"""A served kind is data: where its degree lives, how it may change, its bounds, its pods.

The operator knows no kind by code. Each :class:`KindRef` says

- where the degree is (``replicas_path``), possibly inside one *named entry of a list*: the
  segment ``[]`` marks the list, ``entry_key`` names the field that names its entries
  (``spec.tasks[].replicas`` with ``name`` for a Volcano Job, ``spec.workerGroupSpecs[].replicas``
  with ``groupName`` for a RayCluster). Which entry: the ``energy-autoscaler.io/worker-group``
  annotation, else the list's only entry, else the kind's ``default_entry``;
- how it changes (``resize``): ``scale`` (the ``/scale`` subresource), ``patch`` (a JSON patch
  to that path, with a ``test`` of the entry's name so a reordered list is never written at the
  wrong index), or ``none`` (recommend only: TrainJob, whose ``spec.trainer`` is immutable);
- its bounds where the object has them (``min_paths``/``max_paths``, ``gang_min_path``);
- its observed degree (``observed_path``, for telling a pending scale-up) and its pods
  (``pod_labels``, or the object's own selector at ``pod_selector_path``).

Everything read from an object is hostile until checked here: a non-list at a list path, a
crafted entry name, a replica count that is no integer or out of range raise
:class:`KindError` (an :class:`~autoscaler.kube.annotations.InvalidAnnotations`), so the pass
reports that one job with an ``InvalidAnnotation`` Warning and skips it. The built-in kinds are
in :mod:`autoscaler.kube.builtin_kinds`; the write itself in :mod:`autoscaler.kube.resize`;
:mod:`autoscaler.kube.kinds` gathers both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from autoscaler.decision.types import MAX_REPLICAS
from autoscaler.kube import annotations as ann

Resize = Literal["scale", "patch", "none"]
LIST_MARK = "[]"
MAX_ENTRIES = 256  # a list longer than this at a replicas path is not a job spec we serve
# An entry name becomes a pod label value (volcano.sh/task-spec, ray.io/group): one it must be.
ENTRY_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
MAX_SELECTOR_LABELS = 16
INT32_MAX = 2**31 - 1  # what every served CRD's schema allows for a count


class KindError(ann.InvalidAnnotations):
    """One object's content cannot be served (reported as ``InvalidAnnotation``)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__([ann.AnnotationError(key, problem)])


@dataclass(frozen=True)
class Reading:
    """What one object says about its degree, validated."""

    replicas: int
    lo: int | None  # lower bound from the object (None: it states none)
    hi: int | None
    entry: str | None  # the selected list entry's name (None: no list on the path)
    index: int | None  # ... and its index in the list
    observed: int | None  # the degree the controller reports running (None: unknown)


@dataclass(frozen=True)
class KindRef:
    """A served resource (``group`` is ``""`` for the core API) and how to resize it."""

    group: str
    version: str
    plural: str
    kind: str
    replicas_path: str = "spec.replicas"
    resize: Resize = "scale"
    entry_key: str = "name"
    default_entry: str | None = None
    min_paths: tuple[str, ...] = ()
    max_paths: tuple[str, ...] = ()
    gang_min_path: str | None = None  # a minimum over all entries (Volcano's spec.minAvailable)
    paired_paths: tuple[str, ...] = ()  # also set when equal to the old degree (completions)
    observed_path: str | None = None  # "{entry}" may stand for a map key
    pod_labels: tuple[tuple[str, str], ...] = ()  # values may use {name} and {entry}
    pod_selector_path: str | None = None  # matchLabels on the object (StatefulSet, Deployment)
    pod_regex: str = "{name}-.+"  # pod names, for the Prometheus source

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

    @property
    def list_path(self) -> str | None:
        """``spec.tasks`` for ``spec.tasks[].replicas``; None when the path has no list."""
        head, mark, _ = self.replicas_path.partition(LIST_MARK)
        return head.rstrip(".") if mark else None

    # -- reading ------------------------------------------------------------------------------
    def read(self, obj: Mapping[str, Any]) -> Reading | None:
        """The object's degree, bounds and entry; None when it has no degree at the path.
        Raises :class:`KindError` on content the operator must not act on."""
        entry, index, node = self._select(obj)
        replicas = _count(self._at(obj, node, self.replicas_path), self.replicas_path)
        if replicas is None:
            return None
        lows = [_count(self._at(obj, node, p), p) for p in self.min_paths]
        highs = [_count(self._at(obj, node, p), p) for p in self.max_paths]
        if self.gang_min_path is not None and index is not None:
            gang = _count(dig(obj, self.gang_min_path), self.gang_min_path)
            if gang is not None:
                others = sum(_count(dig(e, self._leaf), self.replicas_path) or 0
                             for i, e in enumerate(self._entries(obj)) if i != index)
                lows.append(max(0, gang - others))
        lo = max((x for x in lows if x is not None), default=None)
        hi = min((x for x in highs if x is not None), default=None)
        observed = None
        if self.observed_path is not None:
            raw: Any = obj  # segment by segment: an entry name may hold a dot
            for part in self.observed_path.split("."):
                key = (entry or "") if part == "{entry}" else part
                raw = raw.get(key) if isinstance(raw, Mapping) else None
            observed = raw if _is_int(raw) and 0 <= raw <= MAX_REPLICAS else None
        return Reading(replicas, lo, hi, entry, index, observed)

    def replicas(self, obj: Mapping[str, Any]) -> int | None:
        """The desired degree in the watched object, or None if the path is absent."""
        reading = self.read(obj)
        return None if reading is None else reading.replicas

    def elastic_bounds(self, obj: Mapping[str, Any]) -> tuple[int | None, int | None]:
        reading = self.read(obj)
        return (None, None) if reading is None else (reading.lo, reading.hi)

    def pod_selector(self, obj: Mapping[str, Any], entry: str | None) -> dict[str, str]:
        """The labels every pod of the job carries (empty: the job's pods cannot be found)."""
        name = str(obj.get("metadata", {}).get("name", ""))
        if self.pod_selector_path is not None:
            labels = dig(obj, self.pod_selector_path)
            if not isinstance(labels, Mapping) or len(labels) > MAX_SELECTOR_LABELS:
                return {}
            out = {str(k): v for k, v in labels.items()
                   if isinstance(v, str) and LABEL_VALUE.fullmatch(v)}
            return out if len(out) == len(labels) else {}
        return {k: v.replace("{name}", name).replace("{entry}", entry or "")
                for k, v in self.pod_labels}

    def value_at(self, obj: Mapping[str, Any], index: int | None, path: str) -> Any:
        """The raw value at ``path`` (its ``[]`` resolved to entry ``index``), unchecked."""
        entries = self._entries(obj)
        entry = entries[index] if index is not None and 0 <= index < len(entries) else None
        return self._at(obj, entry if isinstance(entry, Mapping) else None, path)

    # -- internals ----------------------------------------------------------------------------
    @property
    def _leaf(self) -> str:
        return self.replicas_path.partition(LIST_MARK)[2].lstrip(".")

    def _entries(self, obj: Mapping[str, Any]) -> list[Any]:
        entries = dig(obj, self.list_path or "")
        return entries if isinstance(entries, list) else []

    def _at(self, obj: Mapping[str, Any], entry: Mapping[str, Any] | None, path: str) -> Any:
        _, mark, tail = path.partition(LIST_MARK)
        if not mark:
            return dig(obj, path)
        return None if entry is None else dig(entry, tail.lstrip("."))

    def _select(self, obj: Mapping[str, Any]) -> tuple[str | None, int | None,
                                                       Mapping[str, Any] | None]:
        """The list entry the degree is read from and written to (None without a list)."""
        if self.list_path is None:
            return None, None, None
        where = f"{self.list_path}[].{self.entry_key}"
        entries = dig(obj, self.list_path)
        if entries is None:
            return None, None, None
        if not isinstance(entries, list) or not entries or len(entries) > MAX_ENTRIES:
            raise KindError(ann.ENABLED, f"opted in, but {self.list_path} is not a list of 1 to "
                            f"{MAX_ENTRIES} entries")
        names: list[str] = []
        for e in entries:
            name = e.get(self.entry_key) if isinstance(e, Mapping) else None
            if not isinstance(name, str) or not ENTRY_NAME.fullmatch(name):
                raise KindError(ann.ENABLED, f"opted in, but an entry of {self.list_path} has "
                                f"no valid {self.entry_key} (a label value)")
            names.append(name)
        if len(set(names)) != len(names):
            raise KindError(ann.ENABLED, f"opted in, but {where} names are not unique")
        annotations = obj.get("metadata", {}).get("annotations") or {}
        wanted = annotations.get(ann.PREFIX + ann.WORKER_GROUP)
        if wanted is not None:
            chosen = wanted.strip()
            if chosen not in names:
                raise KindError(ann.WORKER_GROUP, f"names no entry of {where} (there are: "
                                f"{_some(names)})")
        elif len(names) == 1:
            chosen = names[0]
        elif self.default_entry in names:
            chosen = str(self.default_entry)
        else:
            raise KindError(ann.WORKER_GROUP, f"is needed: {where} has {len(names)} entries "
                            f"({_some(names)}); name the one whose replicas are the workers")
        index = names.index(chosen)
        return chosen, index, entries[index]


def dig(obj: Mapping[str, Any], dotted: str) -> Any:
    """``dig(o, "spec.a.b")`` -> ``o["spec"]["a"]["b"]`` or None when any step is missing."""
    node: Any = obj
    for part in dotted.strip(".").split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(value: Any, path: str) -> int | None:
    """A replica count or bound: absent -> None; anything but an int32 >= 0 -> KindError.
    (Range against what the operator serves is the caller's: a count above the cap is refused
    with its own message, a bound above it is capped.)"""
    if value is None:
        return None
    if not _is_int(value) or not 0 <= value <= INT32_MAX:
        shown = repr(value)[:40]
        raise KindError(ann.ENABLED, f"opted in, but {path} is {shown}: not a replica count "
                        f"(a whole number from 0 to {INT32_MAX})")
    return int(value)


def _some(names: list[str]) -> str:
    return ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")


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
