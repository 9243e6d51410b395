"""The actuator seam: the one thing every way of changing a job's degree must offer.

Kept deliberately tiny so that local torchrun, Kubernetes ``/scale`` and dry-run sit behind the
same two calls and the loops above them never learn which one they drive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from autoscaler.errors import AutoscalerError


class ActuatorError(AutoscalerError):
    """Changing the degree failed (the job crashed, the API refused). Wraps the cause;
    ``temporary`` says whether the same resize may succeed if asked again later."""


@runtime_checkable
class Actuator(Protocol):
    """Reads and changes a job's parallel degree (number of data-parallel workers)."""

    def current(self) -> int:
        """The degree the job runs at now (or was last asked to run at)."""
        ...

    def scale_to(self, replicas: int) -> None:
        """Move the job to ``replicas`` workers. Raises :class:`ActuatorError` on failure."""
        ...


@dataclass
class DryRunActuator:
    """Records what it was asked to do and never acts: ``--dry-run`` and tests.

    ``current()`` keeps returning the real degree (``replicas``): a recommendation that was not
    carried out must not make the loop believe the job moved.
    """

    replicas: int
    requested: list[int] = field(default_factory=list)

    def current(self) -> int:
        return self.replicas

    def scale_to(self, replicas: int) -> None:
        if replicas < 1:
            raise ValueError(f"replicas must be >= 1, got {replicas}")
        self.requested.append(replicas)
