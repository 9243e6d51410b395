"""Window maths: two snapshots → one Window; every kind of bad data is flagged, never averaged."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from autoscaler.decision.types import Quality
from autoscaler.sources.snapshot import Snapshot, WorkerSnapshot
from autoscaler.sources.windows import WindowLimits, compute_window, source_label

NAN = float("nan")


def worker(
    name: str,
    samples: float,
    energy: dict[tuple[str, str], float] | None = None,
    *,
    power: dict[tuple[str, str], float] | None = None,
    read_at_s: float | None = None,
    start_time_s: float | None = 1.0,
    world_size: int | None = 2,
) -> WorkerSnapshot:
    return WorkerSnapshot(
        name,
        samples,
        energy if energy is not None else {(f"{name}/cpu", "estimate"): samples / 10},
        power or {},
        read_at_s,
        start_time_s,
        world_size,
    )


def snap(at_s: float, *workers: WorkerSnapshot) -> Snapshot:
    return Snapshot.of(at_s, list(workers))


def test_healthy_window_sums_throughput_and_power_over_workers() -> None:
    before = snap(
        100.0, worker("a", 1000, {("A", "rapl"): 50}), worker("b", 2000, {("B", "rapl"): 10})
    )
    after = snap(
        110.0, worker("a", 1500, {("A", "rapl"): 1050}), worker("b", 2700, {("B", "rapl"): 510})
    )
    w = compute_window(before, after)
    assert w.quality is Quality.OK, w.note
    assert w.replicas == 2
    assert w.samples == pytest.approx(1200)
    assert w.throughput_sps == pytest.approx(120.0)
    assert w.energy_j == pytest.approx(1500.0)
    assert w.power_w == pytest.approx(150.0)
    assert w.source == "rapl"
    assert (w.start_s, w.end_s) == (100.0, 110.0)


def test_a_device_shared_by_two_workers_is_counted_once() -> None:
    shared = ("host/package-0", "rapl")
    before = snap(0.0, worker("a", 0, {shared: 100.0}), worker("b", 0, {shared: 100.5}))
    after = snap(10.0, worker("a", 100, {shared: 1100.0}), worker("b", 100, {shared: 1101.0}))
    w = compute_window(before, after)
    assert w.quality is Quality.OK
    assert w.energy_j == pytest.approx(1000.5)  # the larger of the two deltas, not their sum


def test_energy_counter_is_preferred_over_a_sampled_power_gauge() -> None:
    gpu = ("GPU-1", "dcgm")
    before = snap(0.0, worker("a", 0, {gpu: 0.0}, power={gpu: 999.0}))
    after = snap(10.0, worker("a", 100, {gpu: 2000.0}, power={gpu: 999.0}))
    w = compute_window(before, after, replicas=1)
    assert w.power_w == pytest.approx(200.0)
    assert "sampled" not in w.note


def test_sampled_power_is_used_only_without_a_counter_and_the_note_says_so() -> None:
    gpu = ("GPU-1", "dcgm")
    before = snap(0.0, worker("a", 0, {}, power={gpu: 100.0}))
    after = snap(10.0, worker("a", 100, {}, power={gpu: 300.0}))
    w = compute_window(before, after, replicas=1)
    assert w.quality is Quality.OK
    assert w.power_w == pytest.approx(200.0)
    assert w.energy_j == pytest.approx(2000.0)
    assert "power sampled" in w.note


@pytest.mark.parametrize(
    ("sources", "label"),
    [
        ({"rapl"}, "rapl"),
        ({"estimate", "rapl"}, "rapl+estimate"),
        ({"estimate", "nvml", "rapl"}, "nvml+rapl+estimate"),
        ({"estimate"}, "estimate"),
        (set(), "none"),
    ],
)
def test_source_label_names_every_source_with_the_estimate_last(
    sources: set[str], label: str
) -> None:
    assert source_label(sources) == label


def test_window_label_says_estimate_when_any_worker_is_estimated() -> None:
    before = snap(0.0, worker("a", 0, {("A", "rapl"): 0}), worker("b", 0, {("B", "estimate"): 0}))
    after = snap(
        10.0, worker("a", 10, {("A", "rapl"): 500}), worker("b", 10, {("B", "estimate"): 50})
    )
    assert compute_window(before, after).source == "rapl+estimate"


A0 = worker("a", 1000, {("A", "rapl"): 100.0})
B0 = worker("b", 1000, {("B", "rapl"): 100.0})
A1 = worker("a", 1500, {("A", "rapl"): 1100.0})
B1 = worker("b", 1500, {("B", "rapl"): 1100.0})

# (case, before workers, after workers, replicas, expected quality, note fragment,
#  throughput that only the good worker contributes (None: not checked))
CASES = [
    (
        "samples counter reset",
        [A0, B0],
        [A1, replace(B1, samples=10)],
        None,
        Quality.INVALID,
        "samples counter reset",
        50.0,
    ),
    (
        "worker restarted (start time changed)",
        [A0, B0],
        [A1, replace(B1, start_time_s=99.0)],
        None,
        Quality.INVALID,
        "restarted",
        50.0,
    ),
    (
        "energy counter reset",
        [A0, B0],
        [A1, replace(B1, energy_j={("B", "rapl"): 5.0})],
        None,
        Quality.INVALID,
        "energy counter of B reset",
        None,
    ),
    ("NaN samples", [A0, B0], [A1, replace(B1, samples=NAN)], None, Quality.INVALID, "NaN", 50.0),
    (
        "negative samples",
        [A0, B0],
        [A1, replace(B1, samples=-5.0)],
        None,
        Quality.INVALID,
        "negative",
        50.0,
    ),
    (
        "NaN energy",
        [A0, B0],
        [A1, replace(B1, energy_j={("B", "rapl"): NAN})],
        None,
        Quality.INVALID,
        "NaN",
        None,
    ),
    (
        "absurd power",
        [A0, B0],
        [A1, replace(B1, energy_j={("B", "rapl"): 1e9})],
        None,
        Quality.INVALID,
        "absurd power",
        None,
    ),
    (
        "absurd throughput",
        [A0, B0],
        [A1, replace(B1, samples=1e12)],
        None,
        Quality.INVALID,
        "absurd throughput",
        50.0,
    ),
    ("worker gone", [A0, B0], [A1], None, Quality.MISSING, "workers gone: b", 50.0),
    ("worker new", [A0], [A1, B1], None, Quality.MISSING, "workers new in window: b", 50.0),
    (
        "fewer workers than the degree",
        [A0, B0],
        [A1, B1],
        3,
        Quality.MISSING,
        "2 of 3 workers",
        100.0,
    ),
    (
        "no energy series at all",
        [replace(A0, energy_j={})],
        [replace(A1, energy_j={})],
        1,
        Quality.MISSING,
        "no energy series",
        50.0,
    ),
    (
        "energy series appeared",
        [replace(A0, energy_j={})],
        [A1],
        1,
        Quality.MISSING,
        "appeared in window",
        50.0,
    ),
    (
        "stale worker value",
        [A0, B0],
        [A1, replace(B1, read_at_s=-50.0)],
        None,
        Quality.STALE,
        "s old",
        50.0,
    ),
    (
        "no progress",
        [A0, B0],
        [A1, replace(B1, samples=1000)],
        None,
        Quality.STALE,
        "no progress",
        50.0,
    ),
]


@pytest.mark.parametrize(
    ("case", "before", "after", "replicas", "quality", "note", "throughput"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_bad_data_is_flagged_and_kept_out_of_the_sums(
    case: str,
    before: list[WorkerSnapshot],
    after: list[WorkerSnapshot],
    replicas: int | None,
    quality: Quality,
    note: str,
    throughput: float | None,
) -> None:
    w = compute_window(snap(100.0, *before), snap(110.0, *after), replicas=replicas)
    assert w.quality is quality, w.note
    assert note in w.note
    if throughput is not None:
        assert w.throughput_sps == pytest.approx(throughput)
    assert not math.isinf(w.throughput_sps)


def test_the_most_severe_flag_wins() -> None:
    after = [WorkerSnapshot("a", 10, A1.energy_j, read_at_s=50.0)]  # reset and stale: invalid wins
    w = compute_window(snap(100.0, A0, B0), snap(110.0, *after))
    assert w.quality is Quality.INVALID
    assert "workers gone" in w.note


def test_more_workers_than_the_degree_is_invalid_not_averaged() -> None:
    w = compute_window(snap(100.0, A0, B0), snap(110.0, A1, B1), replicas=1)
    assert w.quality is Quality.INVALID
    assert "2 workers reported at degree 1" in w.note


def test_window_without_duration_is_invalid() -> None:
    w = compute_window(snap(100.0, A0), snap(100.0, A1), replicas=1)
    assert w.quality is Quality.INVALID
    assert "no duration" in w.note


def test_per_worker_read_times_set_each_workers_rate() -> None:
    before = snap(100.0, replace(A0, read_at_s=99.0), replace(B0, read_at_s=100.0))
    after = snap(110.0, replace(A1, read_at_s=109.0), replace(B1, read_at_s=105.0))
    w = compute_window(before, after, limits=WindowLimits(stale_after_s=30))
    assert w.throughput_sps == pytest.approx(500 / 10 + 500 / 5)


def test_degree_defaults_to_the_world_size_workers_report() -> None:
    before = snap(0.0, replace(A0, world_size=4))
    after = snap(10.0, replace(A1, world_size=4))
    w = compute_window(before, after)
    assert w.replicas == 4
    assert w.quality is Quality.MISSING  # one of four workers reported


def test_endpoint_errors_are_repeated_in_the_note() -> None:
    after = Snapshot.of(110.0, [A1], ("127.0.0.1:9: ConnectError",))
    w = compute_window(snap(100.0, A0, B0), after)
    assert "ConnectError" in w.note
