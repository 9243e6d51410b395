"""Evaluate a ValidatingAdmissionPolicy the way the API server does, for tests with no cluster.

The CEL runs in ``cel-python`` (celpy), a conformant pure-Python CEL; the admission steps around
it follow the Kubernetes rules: resource rules (with ``group``, ``resource[/subresource]`` and
operation), then every ``matchCondition`` (all must be true for the policy to apply), then the
``variables`` in order, then each validation; a false validation *or an evaluation error* denies
(``failurePolicy: Fail``, the only one we ship). What it cannot prove is that the real server
type-checks and costs the expressions the same: the real-API suite does that.

Also here: ``admission_request`` builds what the server hands a policy for a merge patch (the
stored object, the patched one with the server's own bookkeeping changed, or the
``autoscaling/v1`` Scale pair for ``/scale``).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celtypes import MapType, StringType
from celpy.evaluation import CELEvalError

from autoscaler.kube.kinds import KindRef, dig
from autoscaler.testing.fakeapi import merge_patch

_ENV = celpy.Environment()
# celpy's evaluator is not thread-safe (the operator writes from a thread pool, so a test that
# judges each request in the transport evaluates concurrently): one evaluation at a time.
_LOCK = threading.Lock()


@dataclass
class Verdict:
    applies: bool  # the policy matched the request (resource rules and matchConditions)
    denied: list[str] = field(default_factory=list)  # messages of failed validations

    @property
    def allowed(self) -> bool:
        return not self.denied


def _eval(expr: str, activation: dict[str, Any]) -> Any:
    program = _ENV.program(_ENV.compile(expr))
    result = program.evaluate(activation)
    if isinstance(result, CELEvalError):
        raise result
    return result


def _matches_rules(policy: dict[str, Any], request: dict[str, Any]) -> bool:
    resource = request["resource"]["resource"]
    if request.get("subResource"):
        resource += "/" + request["subResource"]
    for rule in policy["spec"]["matchConstraints"]["resourceRules"]:
        if (request["resource"]["group"] in rule["apiGroups"] or "*" in rule["apiGroups"]) and \
                (resource in rule["resources"] or "*" in rule["resources"]) and \
                (request["operation"] in rule["operations"] or "*" in rule["operations"]):
            return True
    return False


def evaluate(policy: dict[str, Any], request: dict[str, Any]) -> Verdict:
    """The decision of ``policy`` on one admission ``request`` (AdmissionRequest-shaped)."""
    with _LOCK:
        return _evaluate(policy, request)


def _evaluate(policy: dict[str, Any], request: dict[str, Any]) -> Verdict:
    if not _matches_rules(policy, request):
        return Verdict(applies=False)
    req = {"subResource": "", **{k: v for k, v in request.items()
                                 if k not in ("object", "oldObject")}}
    activation: dict[str, Any] = {
        "request": json_to_cel(req),
        "object": json_to_cel(request.get("object")),
        "oldObject": json_to_cel(request.get("oldObject")),
    }
    spec = policy["spec"]
    for cond in spec.get("matchConditions", []):
        if not bool(_eval(cond["expression"], activation)):
            return Verdict(applies=False)
    variables = MapType()  # each variable sees the ones defined before it
    activation["variables"] = variables
    for var in spec.get("variables", []):
        variables[StringType(var["name"])] = _eval(var["expression"], activation)
    verdict = Verdict(applies=True)
    for rule in spec["validations"]:
        try:
            ok = bool(_eval(rule["expression"], activation))
        except Exception as e:  # an evaluation error denies (failurePolicy: Fail)
            verdict.denied.append(f"{rule['message']} (evaluation error: {e})")
            continue
        if not ok:
            verdict.denied.append(" ".join(rule["message"].split()))
    return verdict


# -- requests as the API server builds them -------------------------------------------------
def stored(obj: dict[str, Any], rv: str = "41") -> dict[str, Any]:
    """``obj`` as the server stores it: uid, resourceVersion, generation, managedFields."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    meta.setdefault("uid", "0b1f6c1e-7d3a-4b8e-9a53-1f7c2d9e4a10")
    meta.setdefault("namespace", "default")
    meta["resourceVersion"] = rv
    meta["generation"] = 1
    meta["creationTimestamp"] = "2027-01-15T08:00:00Z"
    meta["managedFields"] = [{"manager": "kubectl", "operation": "Update",
                              "time": "2027-01-15T08:00:00Z", "fieldsType": "FieldsV1"}]
    return out


def _scale_of(kind: KindRef, obj: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 Scale the server derives from ``obj`` (name and replicas only;
    ``replicas: 0`` is omitted, as the server serialises it)."""
    meta = obj["metadata"]
    replicas = dig(obj, kind.replicas_path) or 0
    spec = {"replicas": replicas} if replicas else {}
    return {"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": spec, "status": {"replicas": replicas}}


def admission_request(kind: KindRef, old: dict[str, Any], patch: dict[str, Any], *,
                      user: str, sub_resource: str = "") -> dict[str, Any]:
    """The AdmissionRequest for a merge ``patch`` of the stored object ``old`` by ``user``."""
    if sub_resource == "scale":
        old_obj = _scale_of(kind, old)
        new_obj = merge_patch(old_obj, patch)
        if not new_obj.get("spec", {}).get("replicas"):
            new_obj["spec"] = {}
    else:
        old_obj = old
        new_obj = merge_patch(old, patch)
        meta = new_obj["metadata"] = dict(new_obj["metadata"])
        for fixed in ("uid", "name", "namespace", "creationTimestamp"):
            meta[fixed] = old["metadata"].get(fixed)
        meta["resourceVersion"] = old["metadata"].get("resourceVersion")
        if new_obj.get("spec") != old.get("spec"):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        # The field manager records the writer before admission runs.
        meta["managedFields"] = [*old["metadata"].get("managedFields", []),
                                 {"manager": "energy-autoscaler", "operation": "Update",
                                  "time": "2027-01-15T09:00:00Z", "fieldsType": "FieldsV1"}]
    return {"operation": "UPDATE", "subResource": sub_resource,
            "resource": {"group": kind.group, "version": kind.version, "resource": kind.plural},
            "name": old["metadata"]["name"], "namespace": old["metadata"]["namespace"],
            "userInfo": {"username": user}, "object": new_obj, "oldObject": old_obj}
