"""The operator's settings: one typed tree, built once (YAML file + command-line flags).

Defaults are the safe ones: dry-run is decided per job by its ``mode`` annotation, but
``dry_run: true`` (what the shipped manifests and chart set) overrides every job to recommend
only, so installing the operator can never resize anything until a platform team says so.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from autoscaler.errors import PermanentError
from autoscaler.kube.kinds import JOBSET_ELASTIC
from autoscaler.runtime.operator.kind_settings import KindSettings, default_kinds, describe
from autoscaler.runtime.operator.prices import PriceSettings
from autoscaler.units import parse_duration_s


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


def _duration(value: Any) -> Any:
    """A duration in the settings file or on the command line: a number of seconds, or text
    the one duration parser reads (``90``, ``30s``, ``10m``, ``1h30m``)."""
    return parse_duration_s(value) if isinstance(value, str) else value


Duration = Annotated[float, BeforeValidator(_duration)]


class OperatorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespaces: list[str] = Field(default_factory=list)  # empty: all namespaces
    dry_run: bool = False  # true: every job recommend-only, whatever its mode annotation says
    kubeconfig: str | None = None  # None: in-cluster service account
    # one measure-decide-write cycle per job per interval
    interval_s: Duration = Field(default=30.0, gt=0)
    # how often the loop looks for due jobs and renews the lease
    tick_s: Duration = Field(default=1.0, gt=0)
    # the learned state is written at least this often (and always before a resize)
    checkpoint_every_s: Duration = Field(default=300.0, ge=0)
    api_concurrency: int = Field(default=8, ge=1, le=64)  # parallel writes in one pass
    watch_timeout_s: int = Field(default=300, ge=1)
    metrics_port: int = Field(default=8080, ge=0, le=65535)  # /metrics, /healthz, /readyz; 0: off
    identity: str = Field(default_factory=lambda: _identity())
    kinds: list[KindSettings] = Field(default_factory=default_kinds)
    # The alpha ElasticJobSet gate is on in this cluster: a JobSet's inner Job parallelism may
    # change while it runs. Off (the default): JobSets are served recommend-only.
    elastic_jobset: bool = False
    # Read the served jobs' pods (one list per namespace per pass) for the nodes they span;
    # needs RBAC to list pods (the chart grants it only with this on).
    placement: bool = False
    # A Kueue-managed job whose scale-up stays pending this many intervals is held (one Event)
    # and backs off (doubling, up to an hour) instead of asking again.
    kueue_pending_intervals: int = Field(default=3, ge=1, le=100)
    source: SourceSettings = Field(default_factory=lambda: SourceSettings())
    lease: LeaseSettings = Field(default_factory=lambda: LeaseSettings())
    policy: dict[str, Any] = Field(default_factory=dict)  # PolicyConfig overrides
    # Issue 12: default prices for jobs that give none (constant, daily schedule, PromQL query).
    prices: PriceSettings = Field(default_factory=lambda: PriceSettings())

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

    @model_validator(mode="after")
    def _elastic_jobset(self) -> OperatorSettings:
        """With the gate on, the built-in JobSet becomes resizable (a patch of the inner Job's
        parallelism), so every ``k.ref()`` sees it so."""
        if self.elastic_jobset:
            self.kinds = [KindSettings(**describe(JOBSET_ELASTIC)) if k.builtin == "JobSet" else k
                          for k in self.kinds]
        return self

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


class SettingsError(ValueError, PermanentError):
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
