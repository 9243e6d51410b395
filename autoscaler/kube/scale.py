"""The ``/scale`` endpoint of one object, translated into the actuator's error vocabulary."""

from __future__ import annotations

from autoscaler.actuators.kube_scale import ScaleConflictError, ScaleError
from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError, KubeConflict, KubeTemporaryError
from autoscaler.kube.kinds import ObjectRef


class KubeScaleEndpoint:
    """Implements :class:`autoscaler.actuators.kube_scale.ScaleEndpoint` for one object."""

    def __init__(self, client: KubeClient, ref: ObjectRef) -> None:
        self._client = client
        self._ref = ref

    def read_replicas(self) -> int:
        try:
            return self._client.get_scale(self._ref)
        except KubeApiError as e:
            raise ScaleError(str(e), temporary=isinstance(e, KubeTemporaryError)) from e

    def write_replicas(self, replicas: int) -> int:
        try:
            return self._client.patch_scale(self._ref, replicas)
        except KubeConflict as e:
            raise ScaleConflictError(str(e)) from e
        except KubeApiError as e:
            raise ScaleError(str(e), temporary=isinstance(e, KubeTemporaryError)) from e
