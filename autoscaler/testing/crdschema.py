"""The real CRDs' OpenAPI schemas, enforced by the in-memory API server.

``../shared/kube/crds/`` holds unmodified CRDs of PyTorchJob, Volcano Job, RayCluster, JobSet and
TrainJob. With them loaded, the fake refuses what the real API server would: a field the schema
does not know (400, under ``fieldValidation=Strict``, which the operator's JSON patches send;
otherwise pruned silently, as the server does), a value of the wrong type or out of range, a
missing required field (422), and a change to a field whose rule is ``self == oldSelf`` (422:
TrainJob ``spec.trainer``). Other CEL rules are not evaluated. Webhook-only rules (JobSet's
immutable ``replicatedJobs``) are the fake's own (:mod:`autoscaler.testing.fakeapi`).
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_REPO = Path(__file__).resolve().parents[2]
# The shared copy beside the checkout when there is one; else the unmodified copy the tests
# carry (tests/kube/crds, checked byte-identical to the shared one where both exist), so that a
# clone anywhere runs the same schema checks; EA_CRD_DIR overrides both.
_SHARED = _REPO.parent / "shared" / "kube" / "crds"
CRD_DIR = Path(os.environ.get("EA_CRD_DIR") or
               (_SHARED if _SHARED.is_dir() else _REPO / "tests" / "kube" / "crds"))
INT32 = 2**31 - 1


class SchemaError(ValueError):
    """The object does not satisfy its CRD; ``status`` is what the API server would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@lru_cache(maxsize=4)
def load_crds(directory: str = str(CRD_DIR)) -> dict[tuple[str, str], dict[str, Any]]:
    """Storage-version schemas by (group, plural) of every CRD file in ``directory``."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=loader)
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("storage"):
                out[(spec["group"], spec["names"]["plural"])] = \
                    version["schema"]["openAPIV3Schema"]
    return out


def jobset_webhook(new: dict[str, Any], old: dict[str, Any], *, elastic: bool) -> None:
    """JobSet's validating webhook: ``spec.replicatedJobs`` is immutable; with the
    ElasticJobSet gate (``elastic``), the inner Job's parallelism and completions may change."""
    def frozen(obj: dict[str, Any]) -> Any:
        jobs = copy.deepcopy((obj.get("spec") or {}).get("replicatedJobs") or [])
        for job in jobs if elastic else []:
            inner = ((job.get("template") or {}).get("spec") or {}) if isinstance(job, dict) \
                else {}
            inner.pop("parallelism", None)
            inner.pop("completions", None)
        return jobs

    if frozen(new) != frozen(old):
        raise SchemaError(422, "spec.replicatedJobs: Invalid value: field is immutable")


def check(schema: dict[str, Any], new: Any, old: Any, *, strict: bool) -> Any:
    """``new`` as the server would store it (unknown fields pruned when not ``strict``), or
    :class:`SchemaError`."""
    return _walk(schema, new, old, "", strict, top=True)


def _walk(schema: dict[str, Any], value: Any, old: Any, path: str, strict: bool,
          top: bool = False) -> Any:
    if value is None:
        return value
    where = path or "<root>"
    if old is not None:
        for rule in schema.get("x-kubernetes-validations") or []:
            if rule.get("rule", "").replace(" ", "") == "self==oldSelf" and value != old:
                raise SchemaError(422, f"{where}: Invalid value: {rule.get('message')}")
    if schema.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise SchemaError(422, f"{where}: must be an integer or a string")
        return value
    kind = schema.get("type")
    if kind == "object" or (kind is None and "properties" in schema):
        if not isinstance(value, dict):
            raise SchemaError(422, f"{where}: Invalid value: must be of type object")
        for field in schema.get("required") or []:
            if field not in value:
                raise SchemaError(422, f"{where}.{field}: Required value")
        props: dict[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out: dict[str, Any] = {}
        for key, sub in value.items():
            sub_path = f"{path}.{key}" if path else key
            sub_old = old.get(key) if isinstance(old, dict) else None
            if top and key in ("metadata", "apiVersion", "kind", "status"):
                out[key] = sub
            elif key in props:
                out[key] = _walk(props[key], sub, sub_old, sub_path, strict)
            elif isinstance(extra, dict):
                out[key] = _walk(extra, sub, sub_old, sub_path, strict)
            elif schema.get("x-kubernetes-preserve-unknown-fields") or extra is True:
                out[key] = sub
            elif strict:
                raise SchemaError(400, f'strict decoding error: unknown field "{sub_path}"')
        return out
    if kind == "array":
        if not isinstance(value, list):
            raise SchemaError(422, f"{where}: Invalid value: must be of type array")
        items = schema.get("items") or {}
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(422, f"{where}: Too many: must have at most {schema['maxItems']}")
        return [_walk(items, v, None, f"{path}[{i}]", strict) for i, v in enumerate(value)]
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(422, f"{where}: Invalid value: {value!r}: must be of type integer")
        low, high = schema.get("minimum"), schema.get("maximum")
        if schema.get("format") == "int32" and not -INT32 - 1 <= value <= INT32:
            raise SchemaError(422, f"{where}: Invalid value: {value}: out of int32 range")
        if (low is not None and value < low) or (high is not None and value > high):
            raise SchemaError(422, f"{where}: Invalid value: {value}: out of range")
        return value
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise SchemaError(422, f"{where}: Invalid value: must be of type number")
    if kind == "boolean" and not isinstance(value, bool):
        raise SchemaError(422, f"{where}: Invalid value: must be of type boolean")
    if kind == "string":
        if not isinstance(value, str):
            raise SchemaError(422, f"{where}: Invalid value: must be of type string")
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError(422, f"{where}: Unsupported value: {value!r}")
    return value
