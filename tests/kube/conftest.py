"""Fixtures for the kube layer: the in-memory API server, a client wired to it, and a
``Harness`` that drives the operator core pass by pass."""

from __future__ import annotations

import pytest
from kube_helpers import Harness

from autoscaler.kube.client import KubeClient
from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.runtime.operator.table import TableMeasurer
from autoscaler.testing.curves import table_measurer
from autoscaler.testing.fakeapi import FakeKubeApi


@pytest.fixture
def api() -> FakeKubeApi:
    return FakeKubeApi()


@pytest.fixture
def client(api: FakeKubeApi) -> KubeClient:
    return KubeClient(api.transport())


@pytest.fixture
def settings() -> OperatorSettings:
    return OperatorSettings(interval_s=30.0, identity="op-test", metrics_port=0,
                            checkpoint_every_s=300.0, api_concurrency=4)


@pytest.fixture
def measurer() -> TableMeasurer:
    return table_measurer()


@pytest.fixture
def harness(api: FakeKubeApi, settings: OperatorSettings, measurer: TableMeasurer) -> Harness:
    return Harness(api, settings, measurer)
