"""The served kinds in the operator's settings: a built-in by name, or a kind described as data.

A platform team adds a kind without code::

    kinds:
      - builtin: VolcanoJob
      - group: example.com          # a kind of its own
        version: v1
        plural: elasticjobs
        kind: ElasticJob
        resize: patch                # scale (/scale subresource) | patch (JSON patch) | none
        replicas_path: spec.groups[].replicas
        entry_key: name
        min_paths: [spec.groups[].minReplicas]
        pod_labels: {example.com/job: "{name}", example.com/group: "{entry}"}

Every field is checked when the settings load (one line naming the field on error), so a typo
in a path is found at start, not as a refused patch at the first resize.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from autoscaler.kube.kinds import BUILTIN_KINDS, JOBSET, JOBSET_ELASTIC, KindRef

SEGMENT = r"[A-Za-z0-9_-]+"
PATH = re.compile(rf"{SEGMENT}(\.{SEGMENT})*(\[\](\.{SEGMENT})+)?")
OBSERVED = re.compile(rf"({SEGMENT}|\{{entry\}})(\.({SEGMENT}|\{{entry\}}))*")
LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}"
                       r"[A-Za-z0-9])?")
NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


class KindSettings(BaseModel):
    """One served kind: ``builtin`` (a name from :data:`BUILTIN_KINDS`) or a full description."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    builtin: str | None = None
    group: str = ""
    version: str = ""
    plural: str = ""
    kind: str = ""
    resize: Literal["scale", "patch", "none"] = "scale"
    replicas_path: str = "spec.replicas"  # for scale: the /scale specReplicasPath
    entry_key: str = "name"
    default_entry: str | None = None
    min_paths: tuple[str, ...] = ()
    max_paths: tuple[str, ...] = ()
    gang_min_path: str | None = None
    paired_paths: tuple[str, ...] = ()
    observed_path: str | None = None
    pod_labels: dict[str, str] = Field(default_factory=dict)
    pod_selector_path: str | None = None
    # The job's pods as a fully anchored regex over pod names ({name}, {entry}): how the
    # Prometheus source tells one job's series from another's.
    pod_regex: str = "{name}-.+"
    elastic_path: str | None = None  # older settings: an object with minReplicas/maxReplicas

    @model_validator(mode="before")
    @classmethod
    def _builtin(cls, data: Any) -> Any:
        if isinstance(data, str):  # "kinds: [VolcanoJob, ...]"
            data = {"builtin": data}
        if isinstance(data, dict) and data.get("builtin") is not None:
            name = data["builtin"]
            if set(data) - {"builtin"}:
                raise ValueError(f"builtin {name}: give the name alone (or describe the kind in "
                                 "full without builtin)")
            if name not in BUILTIN_KINDS:
                raise ValueError(f"unknown builtin kind {name!r} (known: "
                                 f"{', '.join(BUILTIN_KINDS)})")
            return {"builtin": name, **describe(BUILTIN_KINDS[name])}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> KindSettings:
        for name in ("group", "plural"):
            value = getattr(self, name)
            if value and not NAME.fullmatch(value):
                raise ValueError(f"{name} {value!r} is not a valid API {name}")
        if not (self.version and self.plural and self.kind):
            raise ValueError("a kind needs version, plural and kind (group empty for core)")
        paths = (self.replicas_path, *self.min_paths, *self.max_paths, *self.paired_paths,
                 *(p for p in (self.gang_min_path, self.pod_selector_path, self.elastic_path)
                   if p))
        for path in paths:
            if not PATH.fullmatch(path.lstrip(".")):
                raise ValueError(f"path {path!r}: dotted field names, at most one [] (a list "
                                 "entry) followed by a field")
        list_head = self.replicas_path.partition("[]")[0] if "[]" in self.replicas_path else None
        for path in (*self.min_paths, *self.max_paths, *self.paired_paths):
            if "[]" in path and path.partition("[]")[0] != list_head:
                raise ValueError(f"path {path!r}: its [] must be the replicas_path's list")
        if self.resize == "scale" and list_head is not None:
            raise ValueError("resize scale needs a replicas_path without []: /scale has one "
                             "count; use resize: patch for a list entry")
        if self.observed_path and not OBSERVED.fullmatch(self.observed_path):
            raise ValueError(f"observed_path {self.observed_path!r}: dotted names or {{entry}}")
        for key, value in self.pod_labels.items():
            if not LABEL_KEY.fullmatch(key) or len(value) > 63:
                raise ValueError(f"pod_labels: {key!r} is not a label key (or its value too long)")
        try:
            re.compile(self.pod_regex.replace("{name}", "x").replace("{entry}", "y"))
        except re.error as e:
            raise ValueError(f"pod_regex {self.pod_regex!r}: {e}") from e
        return self

    def ref(self, *, elastic_jobset: bool = False) -> KindRef:
        """The kind as the operator uses it. JobSet with the ElasticJobSet gate: resizable."""
        if self.builtin == "JobSet" and elastic_jobset:
            return JOBSET_ELASTIC
        if self.builtin is not None:
            return BUILTIN_KINDS[self.builtin]
        mins, maxs = self.min_paths, self.max_paths
        if self.elastic_path:
            base = self.elastic_path.strip(".")
            mins, maxs = (*mins, f"{base}.minReplicas"), (*maxs, f"{base}.maxReplicas")
        return KindRef(
            self.group, self.version, self.plural, self.kind, self.replicas_path.lstrip("."),
            self.resize, self.entry_key, self.default_entry, mins, maxs, self.gang_min_path,
            self.paired_paths, self.observed_path, tuple(sorted(self.pod_labels.items())),
            self.pod_selector_path, self.pod_regex)

    @field_validator("min_paths", "max_paths", "paired_paths", mode="before")
    @classmethod
    def _tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value


def describe(kind: KindRef) -> dict[str, Any]:
    """A kind as settings data (what the chart's values and the docs show)."""
    return {
        "group": kind.group, "version": kind.version, "plural": kind.plural, "kind": kind.kind,
        "resize": kind.resize, "replicas_path": kind.replicas_path, "entry_key": kind.entry_key,
        "default_entry": kind.default_entry, "min_paths": list(kind.min_paths),
        "max_paths": list(kind.max_paths), "gang_min_path": kind.gang_min_path,
        "paired_paths": list(kind.paired_paths), "observed_path": kind.observed_path,
        "pod_labels": dict(kind.pod_labels), "pod_selector_path": kind.pod_selector_path,
        "pod_regex": kind.pod_regex,
    }


def default_kinds() -> list[KindSettings]:
    return [KindSettings(builtin=name) for name in ("PyTorchJob", "StatefulSet", "Deployment")]


def recommend_only(kind: KindRef) -> bool:
    """Whether the kind's size can never change while a job runs."""
    return kind.resize == "none"


__all__ = ["JOBSET", "KindSettings", "default_kinds", "describe", "recommend_only"]
