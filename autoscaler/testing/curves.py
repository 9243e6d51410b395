"""The known curve of the operator tests and the operator benchmark, in one place.

A job whose J/sample is lowest at 4 workers: fixed power (400 W) makes 1-2 workers wasteful,
communication overhead makes 6-8 wasteful. Tests assert decisions against it and the benchmark
times passes over it, so both must read the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoscaler.runtime.operator.table import TableMeasurer

CURVE: Mapping[str, Mapping[int, float]] = {
    "throughput_sps": {1: 100.0, 2: 190.0, 3: 270.0, 4: 340.0, 5: 390.0, 6: 420.0, 7: 430.0,
                       8: 432.0},
    "power_w": {n: 400.0 + 150.0 * n for n in range(1, 9)},
}


def table_measurer(curve: Mapping[str, Any] = CURVE) -> TableMeasurer:
    """A measurer that answers every job (``"*"``) from ``curve``."""
    return TableMeasurer.from_mapping({"jobs": {"*": curve}})
