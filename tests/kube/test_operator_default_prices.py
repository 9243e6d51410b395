"""Issue 12: the operator's own prices (settings ``prices:``) serve the jobs that give none —
a constant, or a PromQL query re-read every pass whose bad reads keep the last good value — and
a job's own price annotation wins over them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from kube_helpers import PYTORCHJOB, Harness, opt_in, pytorchjob

from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.runtime.operator.table import TableMeasurer
from autoscaler.sources.snapshot import SourceError
from autoscaler.testing.curves import table_measurer
from autoscaler.testing.fakeapi import FakeKubeApi


class QueryingMeasurer:
    """The recorded-table measurer plus the ``query`` a Prometheus measurer has."""

    def __init__(self, inner: TableMeasurer, answers: list[Any]) -> None:
        self.inner = inner
        self.answers = answers
        self.asked: list[str] = []

    def measure(self, *args: Any) -> Any:
        return self.inner.measure(*args)

    def query(self, promql: str) -> tuple[list[Any], float]:
        self.asked.append(promql)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer, 0.0


def settings(prices: dict[str, Any]) -> OperatorSettings:
    return OperatorSettings(interval_s=30.0, identity="op", metrics_port=0,
                            checkpoint_every_s=300.0, api_concurrency=1, prices=prices)


def cost_per_kwh(harness: Harness, name: str) -> float | None:
    job = harness.core.jobs[f"pytorchjobs.kubeflow.org/ml/{name}"]
    rate = job.session.spec.prices.energy_per_kwh if job.session.spec.prices else None
    return None if rate is None else rate.value_at(harness.now_s)


def test_a_job_without_prices_is_served_with_the_operators() -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("c", 2, opt_in(objective="cost")))
    api.add(PYTORCHJOB, pytorchjob("own", 2, opt_in(objective="cost", price_per_kwh="0.5")))
    harness = Harness(api, settings({"energy_per_kwh": {"value": 0.2}}), table_measurer())
    for _ in range(3):
        harness.step()
    assert harness.events("InvalidAnnotation") == []
    assert cost_per_kwh(harness, "c") == 0.2
    assert cost_per_kwh(harness, "own") == 0.5  # the job's own annotation wins


def test_a_queried_price_follows_the_query_and_survives_bad_reads(
        caplog: pytest.LogCaptureFixture) -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("c", 2, opt_in(objective="carbon")))
    answers: list[Any] = [[({}, 300.0)], [({}, 120.0)], SourceError("down"), [], [({}, 90.0)]]
    measurer = QueryingMeasurer(table_measurer(), answers)
    harness = Harness(api, settings({"carbon_g_per_kwh": {"query": "grid_g_per_kwh"}}),
                      measurer)
    seen = []
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            harness.step()
            job = harness.core.jobs["pytorchjobs.kubeflow.org/ml/c"]
            assert job.session.spec.prices is not None
            rate = job.session.spec.prices.carbon_g_per_kwh
            seen.append(None if rate is None else rate.value_at(harness.now_s))
    assert seen == [300.0, 120.0, 120.0, 120.0, 90.0]
    assert measurer.asked == ["grid_g_per_kwh"] * 5
    assert harness.events("InvalidAnnotation") == []
    said = [r.getMessage() for r in caplog.records if "grid_g_per_kwh" in r.getMessage()]
    assert len(said) == 2 and "keeping the last good value 120" in said[0]


def test_a_carbon_job_waits_for_a_first_good_read() -> None:
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("c", 2, opt_in(objective="carbon")))
    measurer = QueryingMeasurer(table_measurer(), [[], [({}, 250.0)]])
    harness = Harness(api, settings({"carbon_g_per_kwh": {"query": "grid"}}), measurer)
    harness.step()
    [warning] = harness.events("InvalidAnnotation")
    assert "carbon needs" in warning["message"]
    harness.step()
    assert "pytorchjobs.kubeflow.org/ml/c" in harness.core.jobs
