"""Fuzzing the operator with hostile annotations and crafted ``state`` through its real pass.

Every example builds an in-memory API server holding one fuzzed job and one good job, and runs
the operator (two passes, then a restart and one more pass, as a new leader would). Asserted
for every example: no exception escapes the pass; no job hits an internal error (no
``JobFailed``: that would be a bug the fuzzer found); the good job is served; and the fuzzed one
is either served or named in a Warning Event (``InvalidAnnotation`` / ``InvalidState``).

The CI-sized runs are derandomised (the same examples every run); the ``slow`` variants run many
more. ``COUNTS`` tallies the examples actually run (printed with ``-s``).
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscaler.decision import Controller, PolicyConfig
from autoscaler.decision.session import JobSession
from autoscaler.kube import annotations as ann
from autoscaler.kube.state import JobMemory, decode, encode

from .operator_helpers import (
    PYTORCHJOB,
    FakeKubeApi,
    P,
    crafted_state,
    events_for,
    harness,
    opt_in,
    pytorchjob,
    recommendation,
)

COUNTS: Counter[str] = Counter()
CI = settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
SLOW = settings(CI, max_examples=1500)

# -- annotation values -----------------------------------------------------------------------
NUMBERISH = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=4090, max_value=4100).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["  3", "-1", "0", "1e9", "5000000000", "9" * 5000, "1e400", "-0", "0x10",
                     "٣", "３", "1_000", "inf", "nan", "", " ", "\t4\n"]),
)
SPECIALS = st.sampled_from([
    "true", "TRUE", "enforce", "dry-run", "balanced:0.5", "balanced:nan", "balanced:1e400",
    "5 kWh", "1e400 kWh", "1e-400 J", "-5 kJ", "2027-01-31T18:00:00Z",
    "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "2027-13-45T99:99:99Z",
    "2027-01-31T18:00:00", "\x00\x01\x7f", "\u202e\u200b", "🙂" * 100, "x" * 100_000,
])
PLAUSIBLE = st.sampled_from(["1", "2", "4", "8", "4096", "energy", "time", "dry-run", "enforce",
                             "10 kWh", "2027-02-01T00:00:00Z", "1000000"])
VALUE = st.one_of(st.text(max_size=40), NUMBERISH, SPECIALS, PLAUSIBLE)
KEYS = st.sampled_from([*sorted(ann.USER_KEYS - {ann.ENABLED}), "min-replica", "state"])


def run_operator(bad_annotations: dict[str, str], *, replicas: int = 2) -> tuple[Any, bool]:
    """Two passes, a restart, one more pass. Returns the harness and whether the bad job was
    served (has a recommendation)."""
    api = FakeKubeApi()
    api.add(PYTORCHJOB, pytorchjob("bad", replicas, bad_annotations))
    api.add(PYTORCHJOB, pytorchjob("good", 2, opt_in(mode="enforce")))
    h = harness(api)
    h.step(errors_ok=True)
    h.step(errors_ok=True)
    h.start()
    h.step(errors_ok=True)
    assert events_for(h, "bad", "JobFailed") == [], events_for(h, "bad", "JobFailed")
    assert events_for(h, "good", "JobFailed") == []
    good = recommendation(h, PYTORCHJOB, "good")
    assert good is not None and good["updated"] == "2027-01-15T08:01:30Z"
    return h, recommendation(h, PYTORCHJOB, "bad") is not None


def check_annotations(extra: dict[str, str]) -> None:
    annotations = opt_in(mode="enforce")
    annotations.update({P + k: v for k, v in extra.items()})
    h, served = run_operator(annotations)
    COUNTS["annotations"] += 1
    if not served:
        [warning] = events_for(h, "bad", "InvalidAnnotation")  # exactly one, across leaders
        assert warning["type"] == "Warning" and warning["message"].startswith(P)
        assert len(warning["message"]) <= 1024
        COUNTS["annotations refused"] += 1


@CI
@given(st.dictionaries(KEYS, VALUE, max_size=3))
def test_fuzzed_annotations_cost_their_job_only(extra: dict[str, str]) -> None:
    check_annotations(extra)


@pytest.mark.slow
@SLOW
@given(st.dictionaries(KEYS, VALUE, max_size=6))
def test_fuzzed_annotations_cost_their_job_only_many(extra: dict[str, str]) -> None:
    check_annotations(extra)


# -- crafted state ---------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.integers(
        min_value=10**300, max_value=10**310) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20,
)
FIELDS = st.sampled_from(["samples_done", "energy_used_j", "budget_text", "last_resize_s",
                          "last_target", "last_window_end_s", "events", "controller"])
WINDOW_FIELDS = st.sampled_from(["start_s", "end_s", "replicas", "throughput_sps", "power_w",
                                 "energy_j", "samples", "quality", "nodes", "step_s", "source"])


def valid_state() -> dict[str, Any]:
    """A state as the operator writes it: a model with a few windows at 2 and 4 workers."""
    from autoscaler.decision import JobSpec, Window

    ctl = Controller(JobSpec(1, 8), PolicyConfig())
    for i in range(6):
        n = 2 if i < 3 else 4
        ctl.observe(Window(1.8e9 + 30 * i, 1.8e9 + 30 * i + 30, n, 100.0 * n, 300.0 * n,
                           9000.0 * n, 3000.0 * n, "table"))
    return {"version": 1, "controller": ctl.to_state(), "samples_done": 5.0,
            "last_resize_s": 1.7e9, "last_target": 4}


def valid_session_state() -> dict[str, Any]:
    """The same job as the operator writes it now: the job session's checkpoint."""
    from autoscaler.decision import JobSpec

    session = JobSession.from_state(JobSpec(1, 8), {"version": 1,
                                                    "engine": VALID["controller"]})
    session.note_downtime(12.0)
    session.note_resize(4, 1.7e9)
    memory = JobMemory(session=session.to_state(), events={"Resized": "4"})
    return dict(json.loads(zlib.decompress(base64.b64decode(encode(memory)[3:]))))


VALID = valid_state()
VALID2 = valid_session_state()
SESSION_FIELDS = st.sampled_from(["version", "engine", "ledger", "resize"])
LEDGER_FIELDS = st.sampled_from(["samples", "energy_j", "budget_energy_j", "budget_j",
                                 "last_end_s"])
RESIZE_FIELDS = st.sampled_from(["at_s", "to", "downtimes_s"])


@st.composite
def mutated_state(draw: st.DrawFn) -> dict[str, Any]:
    body = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 3))):
        controller = body.get("controller")
        windows = controller.get("windows") if isinstance(controller, dict) else None
        if draw(st.booleans()) and isinstance(windows, list) and windows:
            window = draw(st.sampled_from(windows))
            if isinstance(window, dict):
                window[draw(WINDOW_FIELDS)] = draw(JSON)
        else:
            body[draw(FIELDS)] = draw(JSON)
    return dict(body)


@st.composite
def mutated_session_state(draw: st.DrawFn) -> dict[str, Any]:
    body = json.loads(json.dumps(VALID2))
    for _ in range(draw(st.integers(1, 3))):
        session = body.get("session")
        part = draw(st.sampled_from(["session", "ledger", "resize", "top"]))
        if not isinstance(session, dict):  # an earlier mutation replaced it: mutate the top
            part = "top"
        elif part == "ledger" and isinstance(session.get("ledger"), dict):
            session["ledger"][draw(LEDGER_FIELDS)] = draw(JSON)
        elif part == "resize" and isinstance(session.get("resize"), dict):
            session["resize"][draw(RESIZE_FIELDS)] = draw(JSON)
        elif part == "session":
            session[draw(SESSION_FIELDS)] = draw(JSON)
        if part == "top":
            body[draw(st.sampled_from(["session", "events", "version"]))] = draw(JSON)
    return dict(body)


STATES = st.one_of(
    mutated_state().map(crafted_state),
    mutated_session_state().map(lambda body: crafted_state(body, version=2)),
    JSON.map(lambda body: crafted_state({"version": 2, "session": body}, version=2)),
    JSON.map(lambda body: crafted_state({"version": 1, "controller": body})),
    JSON.map(crafted_state),
    st.integers(1, 200_000).map(lambda depth: crafted_state(
        raw=b'{"version":1,"controller":' + b"[" * depth + b"]" * depth + b"}")),
    st.binary(max_size=200).map(lambda raw: "v1:" + base64.b64encode(raw).decode()),
    st.binary(max_size=200).map(lambda raw: crafted_state(raw=raw)),
    st.text(max_size=50).map(lambda t: "v1:" + t),
    st.text(max_size=50),
    st.sampled_from([
        crafted_state(raw=b'{"version":1,"budget_text":"' + b"a" * 9_000_000 + b'"}'),
        crafted_state({"version": 1, "last_resize_s": int("9" * 400)}),
        crafted_state({"version": 1, "last_target": 4, "last_resize_s": 1e308}),
        "v1:" + "A" * 300_000,
    ]),
)


def readable(text: str) -> bool:
    """What the operator should conclude: can this state be restored? (An empty value is
    no state at all: nothing to restore, nothing to warn about.)"""
    if not text:
        return True
    try:
        memory = decode(text)
        if memory.session is not None:
            JobSession.from_state(ann.parse_job_annotations(
                opt_in(), current_replicas=2, elastic_min=1, elastic_max=8).spec,
                memory.session, PolicyConfig())
    except ValueError:
        return False
    return True


def check_state(text: str) -> None:
    h, served = run_operator(opt_in(mode="enforce", **{"state": text}))
    COUNTS["states"] += 1
    assert served  # a bad state never stops the job: it is learned afresh
    warnings = events_for(h, "bad", "InvalidState")
    if readable(text):
        assert warnings == []
    else:
        assert len(warnings) == 1 and warnings[0]["type"] == "Warning"
        COUNTS["states refused"] += 1
    decode(h.annotation(PYTORCHJOB, "bad", "state") or "")  # replaced by a readable one
    assert math.isfinite(h.core.jobs["pytorchjobs.kubeflow.org/ml/bad"].session.ledger.samples)


@CI
@given(STATES)
def test_crafted_states_cost_their_job_only(text: str) -> None:
    check_state(text)


@pytest.mark.slow
@SLOW
@given(STATES)
def test_crafted_states_cost_their_job_only_many(text: str) -> None:
    check_state(text)


def test_zz_report_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how many fuzz cases ran in this session (visible with ``-s``)."""
    with capsys.disabled():
        print(f"\nfuzz cases run: {dict(COUNTS)}")
