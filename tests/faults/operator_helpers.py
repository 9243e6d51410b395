"""Shared by the operator fault and fuzz tests: the kube tests' harness (an operator core over
the in-memory API server, driven pass by pass) and crafted ``state`` annotations."""

from __future__ import annotations

import base64
import json
import sys
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kube"))

from kube_helpers import (
    CURVE,
    PYTORCHJOB,
    STATEFULSET,
    Harness,
    P,
    opt_in,
    pytorchjob,
    statefulset,
)

from autoscaler.kube.kinds import dig
from autoscaler.runtime.operator.settings import OperatorSettings
from autoscaler.testing.curves import table_measurer
from autoscaler.testing.fakeapi import FakeKubeApi

WORKERS = "spec.pytorchReplicaSpecs.Worker.replicas"


def settings() -> OperatorSettings:
    return OperatorSettings(interval_s=30.0, identity="op-test", metrics_port=0,
                            checkpoint_every_s=300.0, api_concurrency=1)


def harness(api: FakeKubeApi | None = None) -> Harness:
    measurer = table_measurer()
    return Harness(api or FakeKubeApi(), settings(), measurer)


def crafted_state(body: Any = None, *, raw: bytes | None = None, version: int = 1) -> str:
    """``v<version>:`` + base64(zlib(JSON)) of any body (or of raw bytes). Version 1 is the
    state before the job session (still read, converted); version 2 holds the session's."""
    data = raw if raw is not None else json.dumps(body).encode()
    return f"v{version}:" + base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def workers(h: Harness, name: str) -> int:
    return int(dig(h.obj(PYTORCHJOB, name), WORKERS))


def recommendation(h: Harness, kind: Any, name: str) -> dict[str, Any] | None:
    text = h.annotation(kind, name, "recommendation")
    return None if text is None else dict(json.loads(text))


def events_for(h: Harness, name: str, reason: str | None = None) -> list[dict[str, Any]]:
    return [e for e in h.events(reason) if e["involvedObject"]["name"] == name]


__all__ = [
    "CURVE",
    "PYTORCHJOB",
    "STATEFULSET",
    "WORKERS",
    "FakeKubeApi",
    "Harness",
    "P",
    "crafted_state",
    "events_for",
    "harness",
    "opt_in",
    "pytorchjob",
    "recommendation",
    "settings",
    "statefulset",
    "workers",
]
