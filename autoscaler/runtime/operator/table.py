"""A measurer that replays a recorded table of throughput and power per degree.

It exists for the end-to-end suite, the benchmark and demos in a cluster without GPUs
(``source.kind: table`` in the operator's settings, so it stays in the runtime rather than in
:mod:`autoscaler.testing`, which production code never imports); its windows carry the source
label ``table`` so they are never presented as measured joules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from autoscaler.decision.types import Quality, Window
from autoscaler.runtime.operator.measure import MeasurerError, MeasureTarget


@dataclass(frozen=True)
class DegreeTable:
    """Throughput and power per degree; degrees between table rows are not interpolated
    (an unmeasured degree yields a MISSING window, as a real job that never ran there would)."""

    throughput_sps: Mapping[int, float]
    power_w: Mapping[int, float]


class TableMeasurer:
    """Windows from a table: ``{jobs: {"ns/name" or "*": {throughput_sps: {n: x}, power_w:
    {n: p}}}}``. Deterministic, so tests can predict what the operator will decide."""

    SOURCE = "table"

    def __init__(self, curves: Mapping[str, DegreeTable]) -> None:
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
            key: DegreeTable(
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
                                self.SOURCE, nodes=t.nodes)
        return out
