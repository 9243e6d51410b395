"""How a job scales from degree to degree, from measured points: the marginal-efficiency view
shared by local mode's report and ``sweep``.

Pure. A point is (workers, samples/s, W). Average efficiency at a degree is samples/s per W
(= samples per joule); the *marginal* efficiency of going from n to m workers is the extra
samples/s per extra W, Δthroughput / Δpower. Energy per sample (P / X) rises exactly when the
marginal efficiency falls below the average of the degree before it: the extra worker adds more
energy than speed. The **turning point** is the degree with the least energy per sample when
larger degrees were measured too: past it, more workers add more energy than speed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Point:
    replicas: int
    throughput_sps: float
    power_w: float

    @property
    def energy_per_sample_j(self) -> float:
        return self.power_w / self.throughput_sps if self.throughput_sps > 0 else math.inf

    @property
    def efficiency_sps_per_w(self) -> float | None:
        return self.throughput_sps / self.power_w if self.power_w > 0 else None


@dataclass(frozen=True)
class Step:
    """From ``from_replicas`` to ``to_replicas`` (consecutive measured degrees)."""

    from_replicas: int
    to_replicas: int
    d_throughput_sps: float
    d_power_w: float
    marginal_sps_per_w: float | None  # None: power did not rise (no energy price to the speed)
    average_sps_per_w: float | None  # at from_replicas
    adds_more_energy_than_speed: bool  # energy per sample rises

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def steps(points: list[Point]) -> list[Step]:
    """One :class:`Step` per pair of consecutive degrees (sorted by degree)."""
    ordered = sorted(
        (p for p in points if p.throughput_sps > 0 and math.isfinite(p.power_w)),
        key=lambda p: p.replicas,
    )
    out: list[Step] = []
    for a, b in itertools.pairwise(ordered):
        d_x = b.throughput_sps - a.throughput_sps
        d_p = b.power_w - a.power_w
        out.append(
            Step(
                from_replicas=a.replicas,
                to_replicas=b.replicas,
                d_throughput_sps=d_x,
                d_power_w=d_p,
                marginal_sps_per_w=d_x / d_p if d_p > 0 else None,
                average_sps_per_w=a.efficiency_sps_per_w,
                adds_more_energy_than_speed=b.energy_per_sample_j > a.energy_per_sample_j,
            )
        )
    return out


def turning_point(points: list[Point]) -> int | None:
    """The degree with the least energy per sample, when a larger degree was measured: past
    it, more workers add more energy than speed. None when the largest degree measured is
    still the cheapest (no turning point among them) or fewer than two degrees are known.

    The global minimum, not the first step that raised J/sample: on a shared machine one noisy
    degree can dip, and the turning point should not move to before a cheaper degree."""
    usable = [p for p in points if p.throughput_sps > 0 and math.isfinite(p.power_w)]
    if len(usable) < 2:
        return None
    best = min(usable, key=lambda p: (p.energy_per_sample_j, p.replicas))
    return best.replicas if best.replicas < max(p.replicas for p in usable) else None


def describe_step(s: Step) -> str:
    """``1->2: +8,512/s for +3.5 W = 2,405/s per W (avg 1,140)``; ``2->3: slower``."""
    head = f"{s.from_replicas}->{s.to_replicas}: "
    if s.d_throughput_sps <= 0:
        return head + f"slower ({s.d_throughput_sps:+,.0f}/s for {s.d_power_w:+.1f} W)"
    if s.marginal_sps_per_w is None:
        return head + f"{s.d_throughput_sps:+,.0f}/s for no more power (free)"
    avg = "-" if s.average_sps_per_w is None else f"{s.average_sps_per_w:,.0f}"
    return head + (
        f"{s.d_throughput_sps:+,.0f}/s for {s.d_power_w:+.1f} W = "
        f"{s.marginal_sps_per_w:,.0f}/s per W (avg {avg})"
    )
