"""Where the operator's windows come from: one batched call per pass for all due jobs.

The pass asks once for every due job (:class:`JobMeasurer`), so a Prometheus-backed measurer
can answer 1,000 jobs with a handful of range queries instead of 1,000 round trips. A job with
no answer gets no window: the controller then holds (``HoldNoData``/``HoldStale``) and the
recommendation says why.

``TableMeasurer`` replays a recorded table of throughput and power per degree. It exists for
the end-to-end suite, the benchmark and demos in a cluster without GPUs; its windows carry the
source label ``table`` so they are never presented as measured joules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from autoscaler.decision.types import Quality, Window
from autoscaler.runtime.operator_settings import SourceSettings


@dataclass(frozen=True)
class MeasureTarget:
    """One due job: how to find its pods and what degree it runs at."""

    key: str  # ObjectRef.key
    namespace: str
    name: str
    kind: str
    replicas: int
    pod_regex: str  # anchored regex over the job's pod names


class JobMeasurer(Protocol):
    def measure(
        self, targets: Sequence[MeasureTarget], start_s: float, end_s: float
    ) -> dict[str, Window]:
        """A window per target key over [start_s, end_s]; a key may be absent (no data)."""
        ...


class MeasurerError(Exception):
    """The measurement backend failed as a whole (Prometheus unreachable, bad table file)."""


@dataclass(frozen=True)
class Curve:
    """Throughput and power per degree; degrees between table rows are not interpolated
    (an unmeasured degree yields a MISSING window, as a real job that never ran there would)."""

    throughput_sps: Mapping[int, float]
    power_w: Mapping[int, float]


class TableMeasurer:
    """Windows from a table: ``{jobs: {"ns/name" or "*": {throughput_sps: {n: x}, power_w:
    {n: p}}}}``. Deterministic, so tests can predict what the operator will decide."""

    SOURCE = "table"

    def __init__(self, curves: Mapping[str, Curve]) -> None:
        self._curves = dict(curves)

    @classmethod
    def from_file(cls, path: str) -> TableMeasurer:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
            return cls.from_mapping(data)
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as e:
            raise MeasurerError(f"{path}: cannot read the measurement table: {e}") from e

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TableMeasurer:
        curves = {
            key: Curve(
                {int(n): float(v) for n, v in row["throughput_sps"].items()},
                {int(n): float(v) for n, v in row["power_w"].items()},
            )
            for key, row in data["jobs"].items()
        }
        return cls(curves)

    def measure(
        self, targets: Sequence[MeasureTarget], start_s: float, end_s: float
    ) -> dict[str, Window]:
        out: dict[str, Window] = {}
        duration_s = end_s - start_s
        for t in targets:
            curve = self._curves.get(f"{t.namespace}/{t.name}") or self._curves.get("*")
            if curve is None or duration_s <= 0:
                continue
            x = curve.throughput_sps.get(t.replicas)
            p = curve.power_w.get(t.replicas)
            if x is None or p is None:
                out[t.key] = Window(start_s, end_s, t.replicas, 0.0, 0.0, 0.0, 0.0, self.SOURCE,
                                    Quality.MISSING, f"no table row for {t.replicas} replicas")
                continue
            out[t.key] = Window(start_s, end_s, t.replicas, x, p, p * duration_s, x * duration_s,
                                self.SOURCE)
        return out


def build_measurer(settings: SourceSettings) -> JobMeasurer:
    """The measurer named in the settings' ``source``."""
    if settings.kind == "table":
        if not settings.table_path:
            raise MeasurerError("source.table_path is required when source.kind is table")
        return TableMeasurer.from_file(settings.table_path)
    from autoscaler.runtime.operator_prometheus import PrometheusMeasurer

    return PrometheusMeasurer(settings)
