"""The operator's settings: one typed tree, built once (YAML file + command-line flags).

Defaults are the safe ones: dry-run is decided per job by its ``mode`` annotation, but
``dry_run: true`` (what the shipped manifests and chart set) overrides every job to recommend
only, so installing the operator can never resize anything until a platform team says so.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from autoscaler.kube.kinds import DEFAULT_KINDS, KindRef


class KindSettings(BaseModel):
    """A served resource; it must have a ``/scale`` subresource."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    group: str
    version: str
    plural: str
    kind: str
    replicas_path: str = "spec.replicas"  # the /scale specReplicasPath, without the leading dot
    elastic_path: str | None = None  # object with minReplicas/maxReplicas (PyTorchJob)
    # The job's pods, as a fully anchored regex over pod names ("{name}" is the object's name):
    # how the Prometheus source tells one job's series from another's.
    pod_regex: str = "{name}-.+"

    def ref(self) -> KindRef:
        return KindRef(self.group, self.version, self.plural, self.kind,
                       self.replicas_path.lstrip("."), self.elastic_path)


def _default_kinds() -> list[KindSettings]:
    pods = {
        "pytorchjobs": "{name}-worker-[0-9]+",  # the workers /scale moves (not the master)
        "statefulsets": "{name}-[0-9]+",
        "deployments": "{name}-[a-z0-9]+-[a-z0-9]+",
    }
    return [
        KindSettings(group=k.group, version=k.version, plural=k.plural, kind=k.kind,
                     replicas_path=k.replicas_path, elastic_path=k.elastic_path,
                     pod_regex=pods.get(k.plural, "{name}-.+"))
        for k in DEFAULT_KINDS
    ]


class SourceSettings(BaseModel):
    """Where throughput and power come from.

    ``prometheus``: the measurement layer's Prometheus source; ``power`` picks the power series
    (our worker metrics, the DCGM exporter, or Kepler). ``table``: a recorded table of
    throughput and power per degree (``table_path``), for the end-to-end suite and demos; its
    windows are labelled ``table`` so they are never mistaken for measurements.
    """

    model_config = ConfigDict(extra="forbid")
    kind: Literal["prometheus", "table"] = "prometheus"
    prometheus_url: str = "http://prometheus-operated.monitoring.svc:9090"
    power: Literal["worker", "dcgm", "kepler"] = "worker"
    table_path: str | None = None
    query_timeout_s: float = Field(default=10.0, gt=0)


class LeaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    namespace: str = Field(default_factory=lambda: _pod_namespace())
    name: str = "energy-autoscaler-leader"
    duration_s: int = Field(default=15, ge=2)


class OperatorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespaces: list[str] = Field(default_factory=list)  # empty: all namespaces
    dry_run: bool = False  # true: every job recommend-only, whatever its mode annotation says
    kubeconfig: str | None = None  # None: in-cluster service account
    # one measure-decide-write cycle per job per interval
    interval_s: float = Field(default=30.0, gt=0)
    # how often the loop looks for due jobs and renews the lease
    tick_s: float = Field(default=1.0, gt=0)
    # the learned state is written at least this often (and always before a resize)
    checkpoint_every_s: float = Field(default=300.0, ge=0)
    api_concurrency: int = Field(default=8, ge=1, le=64)  # parallel writes in one pass
    watch_timeout_s: int = Field(default=300, ge=1)
    metrics_port: int = Field(default=8080, ge=0, le=65535)  # /metrics, /healthz, /readyz; 0: off
    identity: str = Field(default_factory=lambda: _identity())
    kinds: list[KindSettings] = Field(default_factory=_default_kinds)
    source: SourceSettings = Field(default_factory=lambda: SourceSettings())
    lease: LeaseSettings = Field(default_factory=lambda: LeaseSettings())
    policy: dict[str, Any] = Field(default_factory=dict)  # PolicyConfig overrides

    @field_validator("policy")
    @classmethod
    def _valid_policy(cls, policy: dict[str, Any]) -> dict[str, Any]:
        from autoscaler.decision import PolicyConfig

        known = set(PolicyConfig.__dataclass_fields__)
        unknown = sorted(set(policy) - known)
        if unknown:
            raise ValueError(f"unknown PolicyConfig field(s) {', '.join(unknown)}")
        try:
            PolicyConfig(**policy)
        except (TypeError, ValueError) as e:
            raise ValueError(str(e)) from e
        return policy

    @field_validator("kinds")
    @classmethod
    def _unique_kinds(cls, kinds: list[KindSettings]) -> list[KindSettings]:
        seen = set()
        for k in kinds:
            if (k.group, k.plural) in seen:
                raise ValueError(f"kind {k.plural}.{k.group} is listed twice")
            seen.add((k.group, k.plural))
        return kinds


def _identity() -> str:
    """The pod name (Downward API) or the host name: what the Lease names as its holder."""
    return os.environ.get("POD_NAME") or socket.gethostname()


def _pod_namespace() -> str:
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    env = os.environ.get("POD_NAMESPACE")
    if env:
        return env
    try:
        return path.read_text().strip() or "default"
    except OSError:
        return "default"


class SettingsError(ValueError):
    """Settings file or flags are wrong; the message names the file and field."""


def load_settings(path: str | None, overrides: dict[str, Any]) -> OperatorSettings:
    """Settings from a YAML file (optional) with command-line ``overrides`` on top."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise SettingsError(f"{path}: cannot read settings: {e}") from e
        if not isinstance(loaded, dict):
            raise SettingsError(f"{path}: settings must be a mapping")
        data = loaded
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return OperatorSettings.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"{path or 'settings'}: {where}: {first['msg']}") from e
