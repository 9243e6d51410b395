"""The Prometheus path's fast forms must give exactly the plain forms' answers.

``JobMatcher.locate_each`` (batched) skips the method call for series whose first pod and
namespace labels are present and already cached; these cases check the skipped and the
fallen-back paths alike, cold and warm. ``WorkerSnapshot._trusted`` skips the frozen dataclass's
per-field ``__init__``.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from autoscaler.sources import JobMatcher, JobSelector, WorkerSnapshot

POD_JOBS = [
    JobSelector("ml/a", namespace="ml", pod_regex="a-worker-[0-9]+"),
    JobSelector("any/b", pod_regex="b-worker-[0-9]+"),
]
MIXED_JOBS = [*POD_JOBS, JobSelector("local", ea_job="bert")]

SERIES: list[dict[str, str]] = [
    {"pod": "a-worker-0", "namespace": "ml"},  # the usual series
    {"pod": "a-worker-0", "namespace": "other"},  # right pod, wrong namespace: no job
    {"pod": "b-worker-3", "namespace": "x"},  # a job for any namespace
    {"pod": "unrelated", "namespace": "ml"},  # no job (cached as None)
    {"pod_name": "a-worker-1", "namespace": "ml"},  # pod under the second label name
    {"pod": "a-worker-2", "pod_namespace": "ml"},  # namespace under the second label name
    {"pod": "a-worker-4"},  # no namespace at all
    {"pod": "", "namespace": "ml", "instance": "h:1"},  # empty pod
    {"ea_job": "bert", "instance": "h:2"},  # local-mode series
    {"ea_job": "bert", "pod": "a-worker-0", "namespace": "ml"},  # ea_job wins when selected
]


@pytest.mark.parametrize("jobs", [POD_JOBS, MIXED_JOBS], ids=["pod-jobs", "with-ea-job"])
@pytest.mark.parametrize("labels", SERIES, ids=[str(i) for i in range(len(SERIES))])
def test_the_batched_locate_gives_the_single_answers_cold_and_warm(
    jobs: list[JobSelector], labels: dict[str, str]
) -> None:
    reference = JobMatcher(jobs, ("pod", "pod_name"), ("namespace", "pod_namespace"))
    batched = JobMatcher(jobs, ("pod", "pod_name"), ("namespace", "pod_namespace"))
    expected = reference.locate(labels)
    assert batched.locate_each([(labels, 1.0)]) == [expected]  # cold: falls back to locate
    assert batched.locate_each([(labels, 2.0)]) == [expected]  # warm: the cached fast path


def test_the_batched_locate_keeps_the_order_of_a_whole_result() -> None:
    matcher = JobMatcher(MIXED_JOBS, ("pod", "pod_name"), ("namespace", "pod_namespace"))
    series = [(labels, float(i)) for i, labels in enumerate(SERIES * 2)]
    assert matcher.locate_each(series) == [matcher.locate(labels) for labels, _ in series]


def test_a_relabelled_twin_batches_through_its_own_label_names() -> None:
    matcher = JobMatcher(POD_JOBS, ("pod",), ("namespace",))
    matcher.locate_each([({"pod": "a-worker-0", "namespace": "ml"}, 1.0)])  # warm the cache
    dcgm = matcher.relabelled(("exported_pod",), ("exported_namespace",))
    series = [
        ({"exported_pod": "a-worker-0", "exported_namespace": "ml", "pod": "dcgm-x"}, 1.0),
        ({"pod": "a-worker-0", "namespace": "ml"}, 1.0),  # the exporter's own pod: not ours
    ]
    assert dcgm.locate_each(series) == [("ml/a", "a-worker-0"), None]


@pytest.mark.parametrize(
    "fields",
    [
        ("w0", 12.5, {("gpu0", "dcgm"): 3.0}, {("gpu1", "dcgm"): 250.0}, 99.5, 7.0, 2),
        ("h:1", math.inf, {}, {}, None, None, None),
    ],
)
def test_snapshot_fast_constructor_builds_the_same_object(fields: tuple[object, ...]) -> None:
    plain = WorkerSnapshot(*fields)  # type: ignore[arg-type]
    fast = WorkerSnapshot._trusted(*fields)  # type: ignore[arg-type]
    assert fast == plain and repr(fast) == repr(plain)
    assert list(vars(fast)) == [f.name for f in dataclasses.fields(WorkerSnapshot)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.samples = 0.0  # type: ignore[misc]
