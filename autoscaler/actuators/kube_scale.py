"""Resizing a Kubernetes workload: through ``/scale`` or a patch, behind one seam.

The actuator holds the policy, not the I/O: it sits below the ``kube`` layer, so the API calls
come in through :class:`ScaleEndpoint` (``autoscaler.kube.resize`` implements it for ``/scale``
and for a JSON patch to a kind's replica path). The current degree is the one seen on the
watched object (no GET per interval). A lost race is the endpoint's business: it re-reads once
(:func:`autoscaler.kube.retry.retry_on_conflict`, the one conflict policy of every operator
write), and if the job is already at the target nothing more is sent; otherwise one retry; a
second conflict arrives here as :class:`ScaleConflictError`, a temporary :class:`ScaleError`.
"""

from __future__ import annotations

from typing import Protocol

from autoscaler.actuators.base import ActuatorError


class ScaleError(ActuatorError):
    """A failed resize; ``temporary`` says whether the next interval may try again."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class ScaleConflictError(ScaleError):
    """The write lost a race (HTTP 409) twice in a row: the next interval decides again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, temporary=True)


class ScaleEndpoint(Protocol):
    """One object's degree. Errors are raised as :class:`ScaleError`."""

    def read_replicas(self) -> int: ...

    def write_replicas(self, replicas: int) -> int:
        """Set the degree (re-reading once on a conflict); the degree the object now has."""
        ...


class KubeScaleActuator:
    """``current()`` is the degree last seen on the object (or set by us); ``scale_to`` writes
    through the endpoint. Create one per job per pass from the watched object's degree."""

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
        self._replicas = self._endpoint.write_replicas(replicas)
