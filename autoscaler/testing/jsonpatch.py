"""RFC 6902 JSON patch (test, replace, add, remove) and RFC 7386 merge patch for the in-memory
API server.

A failed ``test`` or a path that does not resolve is a :class:`PatchError`, which the fake
answers with 422, as the real API server answers a JSON patch it cannot apply.
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """The patch cannot be applied to this object."""


def _tokens(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise PatchError(f"path {pointer!r} is not a JSON pointer")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for t in tokens[:-1]:
        node = _child(node, t)
    return node


def _child(node: Any, token: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise PatchError(f"missing key {token!r}")
        return node[token]
    if isinstance(node, list):
        if not token.isdigit() or int(token) >= len(node):
            raise PatchError(f"bad index {token!r}")
        return node[int(token)]
    raise PatchError(f"cannot index into {type(node).__name__} with {token!r}")


def apply_json_patch(doc: dict[str, Any], ops: Any) -> dict[str, Any]:
    """A patched deep copy of ``doc``."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch is a list of operations")
    out = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "path" not in op or "op" not in op:
            raise PatchError(f"bad operation {op!r}")
        tokens = _tokens(str(op["path"]))
        parent, last = _parent(out, tokens), tokens[-1]
        kind = op["op"]
        if kind == "test":
            if _child(parent, last) != op.get("value"):
                raise PatchError(f"testing value {op['path']} failed")
        elif kind in ("replace", "remove"):
            _child(parent, last)  # must exist
            if kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            else:
                parent[int(last) if isinstance(parent, list) else last] = op.get("value")
        elif kind == "add":
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                parent.insert(index, op.get("value"))
            elif isinstance(parent, dict):
                parent[last] = op.get("value")
            else:
                raise PatchError(f"cannot add to {type(parent).__name__}")
        else:
            raise PatchError(f"unsupported op {kind!r}")
    return out


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (None deletes a key)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
