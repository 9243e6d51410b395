"""API failures, sorted by what the caller should do about them.

The operator serves many jobs; one job's failure must never stop the others. What differs is
whether trying again can help: a conflict is retried at once (after a re-read), a temporary
error on the next pass, and a permanent one is reported and not retried until the object or the
operator's rights change.
"""

from __future__ import annotations

from autoscaler.errors import AutoscalerError


class KubeApiError(AutoscalerError):
    """A Kubernetes API request failed. ``status`` is the HTTP status (0: no response)."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        super().__init__(f"{method} {path}: HTTP {status}: {message}" if status else message)


class KubeConflict(KubeApiError):
    """409: the object changed since it was read (or already exists). Re-read, retry once."""

    temporary = True


class KubeTemporaryError(KubeApiError):
    """Try again later: 429, 5xx, a timeout or a refused connection."""

    temporary = True


class KubePermanentError(KubeApiError):
    """Retrying will not help: 400/401/403/404/422 ... (bad request, no rights, gone)."""

    @property
    def not_found(self) -> bool:
        return self.status == 404


class KubeConfigError(AutoscalerError):
    """The credentials cannot be loaded (no kubeconfig, a broken one, no service account): no
    request was made, so this is not an HTTP error. Permanent until the configuration changes."""


TEMPORARY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def classify(method: str, path: str, status: int, message: str) -> KubeApiError:
    """The error type for an HTTP status."""
    if status == 409:
        return KubeConflict(method, path, status, message)
    if status in TEMPORARY_STATUSES or status == 0:
        return KubeTemporaryError(method, path, status, message)
    return KubePermanentError(method, path, status, message)
