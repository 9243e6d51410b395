"""Resizing a Kubernetes workload through its ``/scale`` subresource.

The actuator holds the policy, not the I/O: it sits below the ``kube`` layer, so the API calls
come in through :class:`ScaleEndpoint` (implemented by ``autoscaler.kube.scale``). What it
decides: the current degree is the one seen on the watched object (no GET per interval), and a
conflict is met with one re-read — if the job is already at the target (another writer, or our
own earlier attempt that timed out but landed) nothing more is sent; otherwise one retry.
"""

from __future__ import annotations

from typing import Protocol

from autoscaler.actuators.base import ActuatorError


class ScaleConflictError(Exception):
    """The ``/scale`` write lost a race (HTTP 409)."""


class ScaleEndpoint(Protocol):
    """One object's ``/scale``. Errors other than a conflict are raised as
    :class:`~autoscaler.actuators.base.ActuatorError` (with ``temporary`` set when a later
    attempt may succeed)."""

    def read_replicas(self) -> int: ...

    def write_replicas(self, replicas: int) -> int: ...


class ScaleError(ActuatorError):
    """A failed resize; ``temporary`` says whether the next interval may try again."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class KubeScaleActuator:
    """``current()`` is the degree last seen on the object (or set by us); ``scale_to`` writes
    ``/scale``. Create one per job per pass from the watched object's replica count."""

    def __init__(self, endpoint: ScaleEndpoint, seen_replicas: int) -> None:
        self._endpoint = endpoint
        self._replicas = seen_replicas

    def current(self) -> int:
        return self._replicas

    def scale_to(self, replicas: int) -> None:
        if replicas < 1:
            raise ValueError(f"replicas must be >= 1, got {replicas}")
        if replicas == self._replicas:
            return
        try:
            self._replicas = self._endpoint.write_replicas(replicas)
        except ScaleConflictError:
            now = self._endpoint.read_replicas()
            if now == replicas:
                self._replicas = now
                return
            try:
                self._replicas = self._endpoint.write_replicas(replicas)
            except ScaleConflictError as e:
                raise ScaleError(
                    f"/scale to {replicas}: conflict twice in a row: {e}", temporary=True
                ) from e
