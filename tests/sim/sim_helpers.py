"""Scenario data shared by the simulator tests (imported by name: keep the module name unique)."""

from __future__ import annotations

import copy
from typing import Any

# Throughput 100/190/240 samples/s at 1/2/3 workers; power 100 W + 100 W per worker.
# J/sample: 2.0 at 1, 300/190 = 1.579 at 2, 400/240 = 1.667 at 3 -> energy optimum 2, fastest 3.
BASE: dict[str, Any] = {
    "seed": 0,
    "workload": {
        "total_samples": 100_000,
        "throughput": {"table": {1: 100.0, 2: 190.0, 3: 240.0}},
        "power": {"linear": {"static_w": 100.0, "per_worker_w": 100.0}},
        "resize_downtime_s": 30,
    },
    "job": {"initial_replicas": 1, "min_replicas": 1, "max_replicas": 3},
}


def edit(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with the field at ``dotted`` set (``...`` deletes it)."""
    out = copy.deepcopy(data)
    node = out
    *parents, last = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        node.pop(last, None)
    else:
        node[last] = value
    return out
