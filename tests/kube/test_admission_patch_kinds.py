"""The admission policy for kinds resized by a JSON patch (issue 11): the chart with Volcano,
Ray and batch Jobs enabled lets the operator's ServiceAccount write the replica count it
patches — the very ops ``autoscaler.kube.resize.patch_ops`` builds — and still denies a spec
write that also touches the metadata, and any spec write to a ``/scale`` kind. Evaluated with a
real CEL interpreter (``admission_cel``); the live proof is in the real-API suite."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from admission_cel import evaluate, stored
from chart_render import render
from kinds_helpers import batch_job, raycluster, volcano
from kube_helpers import opt_in, pytorchjob

from autoscaler.kube.kinds import JOB, PYTORCHJOB, RAYCLUSTER, VOLCANO_JOB, KindRef
from autoscaler.kube.resize import patch_ops
from autoscaler.testing.jsonpatch import apply_json_patch

SA = "system:serviceaccount:energy-autoscaler:energy-autoscaler"
SPEC_DENIED = "energy-autoscaler may not change a workload's spec"


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    docs = render({"kinds": ["PyTorchJob", "StatefulSet", "Deployment", "VolcanoJob",
                             "RayCluster", "Job", "TrainJob"]})
    return next(d for d in docs if d["kind"] == "ValidatingAdmissionPolicy")


def request(kind: KindRef, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {"operation": "UPDATE", "subResource": "",
            "resource": {"group": kind.group, "version": kind.version, "resource": kind.plural},
            "name": old["metadata"]["name"], "namespace": old["metadata"]["namespace"],
            "userInfo": {"username": SA}, "object": new, "oldObject": old}


CASES = [(VOLCANO_JOB, volcano("v", 2, opt_in())), (RAYCLUSTER, raycluster("r", 2, opt_in())),
         (JOB, batch_job("j", 2, opt_in()))]


@pytest.mark.parametrize(("kind", "obj"), CASES, ids=["volcano", "ray", "job"])
def test_the_operators_replica_patch_passes(policy: dict[str, Any], kind: KindRef,
                                            obj: dict[str, Any]) -> None:
    old = stored(obj)
    reading = kind.read(old)
    assert reading is not None
    new = apply_json_patch(old, patch_ops(kind, reading, old, 3))
    verdict = evaluate(policy, request(kind, old, new))
    assert verdict.applies and verdict.allowed, verdict.denied


@pytest.mark.parametrize(("kind", "obj"), CASES, ids=["volcano", "ray", "job"])
def test_a_spec_write_that_also_changes_metadata_is_denied(policy: dict[str, Any], kind: KindRef,
                                                           obj: dict[str, Any]) -> None:
    old = stored(obj)
    reading = kind.read(old)
    assert reading is not None
    new = apply_json_patch(old, patch_ops(kind, reading, old, 3))
    new["metadata"]["annotations"]["energy-autoscaler.io/recommendation"] = "{}"
    verdict = evaluate(policy, request(kind, old, new))
    assert any(SPEC_DENIED in d for d in verdict.denied), verdict.denied


def test_a_scale_kind_still_may_not_change_its_spec(policy: dict[str, Any]) -> None:
    old = stored(pytorchjob("p", 2, opt_in()))
    new = copy.deepcopy(old)
    new["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] = 3
    verdict = evaluate(policy, request(PYTORCHJOB, old, new))
    assert any(SPEC_DENIED in d for d in verdict.denied), verdict.denied
