"""Changing one object's degree the way its kind allows: ``/scale``, or a JSON patch.

Both implement :class:`autoscaler.actuators.kube_scale.ScaleEndpoint` and meet a lost race with
:func:`autoscaler.kube.retry.retry_on_conflict`: re-read; already at the target -> done; else
once more. API failures leave as :class:`~autoscaler.actuators.kube_scale.ScaleError` (an
actuator error) with ``temporary`` set when the next interval may succeed.

The JSON patch (``patch`` kinds) is built from the object as last seen and guarded: a ``test``
of the list entry's name (a reordered list is never written at the wrong index) and of the old
degree (another writer's change is not overwritten blindly). The API server answers a failed
``test`` with 422, like any invalid patch; so on a 422 the object is re-read, and only if the
guard no longer holds is it a race (retried once on the fresh object); otherwise the server
refused the patch itself (schema, immutable field, webhook), which is permanent.
"""

from __future__ import annotations

from typing import Any

from autoscaler.actuators.kube_scale import ScaleConflictError, ScaleError
from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError, KubeConflict, KubeTemporaryError
from autoscaler.kube.kindref import LIST_MARK, KindError, KindRef, ObjectRef, Reading
from autoscaler.kube.retry import Reread, retry_on_conflict


def _error(e: KubeApiError) -> ScaleError:
    if isinstance(e, KubeConflict):
        return ScaleConflictError(f"conflict twice in a row: {e}")
    return ScaleError(str(e), temporary=isinstance(e, KubeTemporaryError))


class KubeScaleEndpoint:
    """``/scale`` of one object (PyTorchJob, StatefulSet, Deployment, any CRD that has it)."""

    def __init__(self, client: KubeClient, ref: ObjectRef) -> None:
        self._client = client
        self._ref = ref

    def read_replicas(self) -> int:
        try:
            return self._client.get_scale(self._ref)
        except KubeApiError as e:
            raise _error(e) from e

    def write_replicas(self, replicas: int) -> int:
        def reread() -> Reread[int, int]:
            now = self._client.get_scale(self._ref)
            return Reread(done=now) if now == replicas else Reread(retry_with=replicas)

        try:
            done = retry_on_conflict(lambda _: self._client.patch_scale(self._ref, replicas),
                                     reread)
        except KubeApiError as e:
            raise _error(e) from e
        assert done is not None  # reread never drops a /scale write
        return done


def pointer(dotted: str) -> str:
    """``spec.a.b`` -> ``/spec/a/b`` (RFC 6901 escaping)."""
    parts = [p.replace("~", "~0").replace("/", "~1") for p in dotted.strip(".").split(".") if p]
    return "/" + "/".join(parts)


def patch_ops(kind: KindRef, reading: Reading, obj: dict[str, Any],
              replicas: int) -> list[dict[str, Any]]:
    """The guarded JSON patch that moves ``obj`` (read as ``reading``) to ``replicas``."""
    def path_of(dotted: str) -> str:
        head, mark, tail = dotted.partition(LIST_MARK)
        if not mark:
            return pointer(dotted)
        return f"{pointer(head)}/{reading.index}{pointer(tail)}"

    ops: list[dict[str, Any]] = []
    if reading.index is not None and kind.list_path is not None:
        ops.append({"op": "test", "value": reading.entry,
                    "path": f"{pointer(kind.list_path)}/{reading.index}/{kind.entry_key}"})
    for dotted in (kind.replicas_path, *kind.paired_paths):
        # a paired path (completions) moves only where it equals the old degree
        if dotted != kind.replicas_path and \
                kind.value_at(obj, reading.index, dotted) != reading.replicas:
            continue
        path = path_of(dotted)
        ops.append({"op": "test", "path": path, "value": reading.replicas})
        ops.append({"op": "replace", "path": path, "value": replicas})
    return ops


class KubePatchEndpoint:
    """A JSON patch to the kind's replica path (Volcano Job, RayCluster, batch Job, ...).
    ``seen`` is the object the pass decided from (no GET before the write)."""

    def __init__(self, client: KubeClient, ref: ObjectRef, seen: dict[str, Any]) -> None:
        self._client = client
        self._ref = ref
        self._obj = seen
        self.written: dict[str, Any] | None = None  # the object the server returned
        self._fresh = False  # whether _obj was re-read since the last write

    def _reading(self, obj: dict[str, Any]) -> Reading:
        try:
            reading = self._ref.kind.read(obj)
        except KindError as e:
            raise ScaleError(str(e), temporary=False) from e
        if reading is None:
            raise ScaleError(f"no replica count at {self._ref.kind.replicas_path}",
                             temporary=False)
        return reading

    def read_replicas(self) -> int:
        try:
            self._obj = self._client.get(self._ref)
        except KubeApiError as e:
            raise _error(e) from e
        return self._reading(self._obj).replicas

    def _write(self, obj: dict[str, Any], replicas: int) -> int:
        self._fresh = False
        reading = self._reading(obj)
        ops = patch_ops(self._ref.kind, reading, obj, replicas)
        try:
            self.written = self._client.json_patch(self._ref, ops)
        except KubeApiError as e:
            if e.status != 422:
                raise
            fresh = self._client.get(self._ref)
            again = self._reading(fresh)
            if (again.entry, again.index, again.replicas) == (reading.entry, reading.index,
                                                               reading.replicas):
                raise  # the guard holds: the server refused the patch itself
            self._obj, self._fresh = fresh, True
            raise KubeConflict(e.method, e.path, 409, f"changed while writing: {e.message}") \
                from e
        return self._reading(self.written).replicas

    def write_replicas(self, replicas: int) -> int:
        def reread() -> Reread[dict[str, Any], int]:
            if not self._fresh:
                self._obj = self._client.get(self._ref)
            self._fresh = False
            now = self._reading(self._obj).replicas
            return Reread(done=now) if now == replicas else Reread(retry_with=self._obj)

        try:
            done = retry_on_conflict(lambda fresh: self._write(fresh or self._obj, replicas),
                                     reread)
        except KubeApiError as e:
            raise _error(e) from e
        assert done is not None
        return done
