"""One job's progress-and-energy ledger: what the job has done and drawn, from its windows.

One rule per window quality, the same for the simulator, local mode and the operator:

=========  =====================  ==========================================================
quality    counted                why
=========  =====================  ==========================================================
ok         samples and joules     a steady-state measurement
warmup     samples and joules     real work and real draw, only unfit for the model
missing    samples and joules     what the reporting workers did: a lower bound, not nothing
stale      samples and joules     the counters moved (or not) as read; never more than read
invalid    nothing                the values cannot be trusted (NaN, negative, a counter reset)
=========  =====================  ==========================================================

A value that is not a finite non-negative number counts as zero whatever the quality: one
absurd window must not poison a budget. A window is counted once: one that ends at or before
the newest counted end is a repeat (a re-delivered scrape, a restored checkpoint) and is
skipped.

Joules are kept per source (``nvml``, ``rapl``, ``estimate(...)``, ``simulated`` ...), so a
report can say how much of a total was measured and how much estimated.

The budget epoch: an energy budget is "for the rest of the job, from when it was set". The
ledger counts the joules drawn since the budget it was last told about; a different budget
starts a new epoch at zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from autoscaler.decision.state import VALUE_LIMIT, number, optional_number, optional_time
from autoscaler.decision.types import UNTRUSTED_QUALITIES, Quality, Window

# Qualities whose numbers the ledger does not count (see the table above).
UNCOUNTED = frozenset({Quality.INVALID})
UNTRUSTED = UNTRUSTED_QUALITIES
MAX_SOURCES = 16
_MAX_SOURCE_TEXT = 64


def _amount(x: float) -> float:
    return x if math.isfinite(x) and x > 0 else 0.0


@dataclass
class Ledger:
    """Samples and joules counted from windows, the budget epoch, and the newest counted end."""

    samples: float = 0.0
    energy_j: dict[str, float] = field(default_factory=dict)  # per source
    budget_energy_j: float = 0.0  # joules since the current budget was set
    budget_j: float | None = None  # the budget the epoch counts against
    last_end_s: float | None = None

    @property
    def total_energy_j(self) -> float:
        return sum(self.energy_j.values())

    def count(self, window: Window) -> bool:
        """Count one window by its quality's rule; False when it is a repeat (nothing counted)."""
        if self.last_end_s is not None and window.end_s <= self.last_end_s:
            return False
        self.last_end_s = window.end_s
        if window.quality in UNCOUNTED:
            return True
        joules = _amount(window.energy_j)
        self.samples += _amount(window.samples)
        source = window.source[:_MAX_SOURCE_TEXT]
        if source in self.energy_j or len(self.energy_j) < MAX_SOURCES:
            self.energy_j[source] = self.energy_j.get(source, 0.0) + joules
        else:  # a flood of source names: still counted, under one name
            self.energy_j["other"] = self.energy_j.get("other", 0.0) + joules
        self.budget_energy_j += joules
        return True

    def set_budget(self, budget_j: float | None) -> bool:
        """The job's budget is ``budget_j``; a different one starts a new epoch (True)."""
        if budget_j == self.budget_j:
            return False
        self.budget_j, self.budget_energy_j = budget_j, 0.0
        return True

    def budget_left_j(self) -> float | None:
        return None if self.budget_j is None else self.budget_j - self.budget_energy_j

    def to_state(self) -> dict[str, Any]:
        return {"samples": self.samples, "energy_j": dict(self.energy_j),
                "budget_energy_j": self.budget_energy_j, "budget_j": self.budget_j,
                "last_end_s": self.last_end_s}

    @classmethod
    def from_state(cls, data: Any) -> Ledger:
        """ValueError/TypeError unless every field has its type and a sane range."""
        if not isinstance(data, dict):
            raise TypeError("ledger must be an object")
        energy = data.get("energy_j", {})
        if not isinstance(energy, dict) or len(energy) > MAX_SOURCES + 1 or not all(
                isinstance(k, str) and len(k) <= _MAX_SOURCE_TEXT for k in energy):
            raise TypeError(f"ledger energy_j must map at most {MAX_SOURCES} sources to joules")
        return cls(
            samples=number(data.get("samples", 0.0), VALUE_LIMIT),
            energy_j={k: number(v, VALUE_LIMIT) for k, v in energy.items()},
            budget_energy_j=number(data.get("budget_energy_j", 0.0), VALUE_LIMIT),
            budget_j=optional_number(data.get("budget_j")),
            last_end_s=optional_time(data.get("last_end_s")),
        )
