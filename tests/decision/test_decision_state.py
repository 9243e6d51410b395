"""Checkpointed state: a JSON round trip decides the same; unknown versions are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from decision_helpers import TrueCurves

from autoscaler.decision import Controller, JobSpec, Progress, Quality

SPEC = JobSpec(1, 12, total_samples=1e9)
CURVES = TrueCurves(static_w=900)


def _trained() -> tuple[Controller, float]:
    ctl = Controller(SPEC)
    t_s = CURVES.feed(ctl, [4, 6], per_degree=4, cv=0.05, seed=3)
    ctl.note_resize(6, t_s)
    ctl.observe(CURVES.window(6, t_s, quality=Quality.WARMUP))
    t_s = CURVES.feed(ctl, [6], per_degree=3, cv=0.05, seed=4, start_s=t_s + 30)
    return ctl, t_s


def test_state_round_trips_through_json_and_decides_the_same() -> None:
    ctl, t_s = _trained()
    state = json.loads(json.dumps(ctl.to_state()))
    assert state["version"] == 1
    restored = Controller.from_state(SPEC, state)
    assert restored.to_state() == ctl.to_state()
    for now_s in (t_s, t_s + 30, t_s + 10_000):
        a = ctl.decide(now_s, Progress(6, 5e5))
        b = restored.decide(now_s, Progress(6, 5e5))
        assert (a.replicas, a.reason, a.message) == (b.replicas, b.reason, b.message)
        assert a.predictions == b.predictions


@pytest.mark.parametrize("version", [0, 2, None, "1"])
def test_unknown_state_version_is_refused(version: Any) -> None:
    state = _trained()[0].to_state()
    state["version"] = version
    with pytest.raises(ValueError, match="version"):
        Controller.from_state(SPEC, state)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s["windows"].append({"start_s": 0}),
        lambda s: s.update(last_resize_s="soon"),
        lambda s: s["windows"][0].update(quality="excellent"),
    ],
)
def test_malformed_state_is_refused_with_value_error(mutate: Any) -> None:
    state = _trained()[0].to_state()
    mutate(state)
    with pytest.raises(ValueError):
        Controller.from_state(SPEC, state)
