"""Leader election on a ``coordination.k8s.io/v1`` Lease: only one operator replica acts.

Why a Lease rather than kopf peering: it is the cluster's standard primitive (kube-controller-
manager uses it), needs no extra CRD, and its RBAC is three verbs on one resource. Safety comes
from optimistic concurrency: taking over or renewing is a PUT with the resourceVersion we read,
so of two replicas racing for an expired lease exactly one wins (the other gets 409). A leader
that cannot renew stops acting as soon as its own lease would have expired, before anyone else
may take over.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError, KubeConflict, KubePermanentError

log = logging.getLogger(__name__)


def _micro(now_s: float) -> str:
    return datetime.fromtimestamp(now_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_micro(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class LeaseElector:
    """``try_lead(now_s)`` once per tick; True while this replica holds the lease."""

    def __init__(self, client: KubeClient, namespace: str, name: str, identity: str,
                 duration_s: int = 15) -> None:
        self._client = client
        self._namespace = namespace
        self._name = name
        self.identity = identity
        self.duration_s = duration_s
        self._held_until_s = 0.0

    def _body(self, now_s: float, acquire_s: float, transitions: int, rv: str | None
              ) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": self._name, "namespace": self._namespace}
        if rv:
            meta["resourceVersion"] = rv
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": meta,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.duration_s,
                "acquireTime": _micro(acquire_s),
                "renewTime": _micro(now_s),
                "leaseTransitions": transitions,
            },
        }

    def try_lead(self, now_s: float) -> bool:
        try:
            return self._try(now_s)
        except KubeConflict:
            log.info("lease %s: another replica won the race", self._name)
        except KubePermanentError as e:
            log.error("lease %s: %s (check the Role for leases)", self._name, e)
        except KubeApiError as e:
            log.warning("lease %s: %s", self._name, e)
        # Could not renew: keep acting only while our last renewal is surely still valid.
        return now_s < self._held_until_s

    def _try(self, now_s: float) -> bool:
        path = self._client.lease_path(self._namespace, self._name)
        try:
            lease = self._client.request("GET", path, tag="get leases")
        except KubePermanentError as e:
            if not e.not_found:
                raise
            self._client.request("POST", self._client.lease_path(self._namespace),
                                 tag="create leases", body=self._body(now_s, now_s, 0, None))
            return self._won(now_s)
        spec = lease.get("spec", {})
        holder = spec.get("holderIdentity")
        renew_s = _parse_micro(spec.get("renewTime")) or 0.0
        duration_s = int(spec.get("leaseDurationSeconds") or self.duration_s)
        transitions = int(spec.get("leaseTransitions") or 0)
        rv = lease.get("metadata", {}).get("resourceVersion")
        if holder == self.identity:
            acquire_s = _parse_micro(spec.get("acquireTime")) or now_s
        elif holder and now_s < renew_s + duration_s:
            self._held_until_s = 0.0
            return False  # someone else holds a live lease
        else:
            acquire_s, transitions = now_s, transitions + 1
            log.info("lease %s: taking over from %r", self._name, holder)
        self._client.request("PUT", path, tag="update leases",
                             body=self._body(now_s, acquire_s, transitions, rv))
        return self._won(now_s)

    def _won(self, now_s: float) -> bool:
        # Stop a little before the others may take over (clock skew, a slow request).
        self._held_until_s = now_s + self.duration_s * 0.8
        return True

    def release(self, now_s: float) -> None:
        """Give the lease up on a clean shutdown so a standby takes over at once."""
        if self._held_until_s <= 0:
            return
        path = self._client.lease_path(self._namespace, self._name)
        try:
            lease = self._client.request("GET", path, tag="get leases")
            if lease.get("spec", {}).get("holderIdentity") == self.identity:
                body = self._body(now_s, now_s, int(lease["spec"].get("leaseTransitions") or 0),
                                  lease["metadata"].get("resourceVersion"))
                body["spec"]["holderIdentity"] = None
                body["spec"]["leaseDurationSeconds"] = 1
                self._client.request("PUT", path, tag="update leases", body=body)
        except KubeApiError as e:
            log.info("lease %s: release failed (%s); it will expire", self._name, e)
        self._held_until_s = 0.0
