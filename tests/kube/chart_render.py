"""Render the Helm chart for tests: with the real ``helm template`` when helm is on PATH,
otherwise with a small interpreter of the Go-template subset the chart uses.

Why a fallback at all: helm is not packaged for Debian nor on PyPI, so on this project's
machines (and in CI) the chart's templates would otherwise never be executed by a test, and a
broken ``{{ range }}`` would ship unnoticed. The subset covers what ``charts/energy-autoscaler``
uses (if/else, range with variables, with, define/include, pipelines and the Sprig functions
listed in ``FUNCS``); anything else raises ``ChartRenderError`` naming the construct, so a new
template feature fails loudly here instead of being silently mis-rendered.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "energy-autoscaler"


class ChartRenderError(Exception):
    """A template construct outside the supported subset, or a bad template."""


def render(values: Mapping[str, Any] | None = None, *, release: str = "rel",
           namespace: str = "energy-autoscaler") -> list[dict[str, Any]]:
    """The chart's manifests for ``values`` (merged over values.yaml), as parsed documents."""
    helm = shutil.which("helm")
    if helm is not None:
        cmd = [helm, "template", release, str(CHART), "--namespace", namespace]
        for key, value in (values or {}).items():
            cmd += ["--set-json", f"{key}={json.dumps(value)}"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    else:
        out = render_lite(values, release=release, namespace=namespace)
    return [d for d in yaml.safe_load_all(out) if d]


def render_lite(values: Mapping[str, Any] | None = None, *, release: str = "rel",
                namespace: str = "energy-autoscaler") -> str:
    merged = yaml.safe_load((CHART / "values.yaml").read_text())
    _merge(merged, dict(values or {}))
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    base = f"{chart['name']}/templates"
    root = {"Values": merged, "Release": {"Name": release, "Namespace": namespace,
                                          "Service": "Helm"},
            "Chart": {"Name": chart["name"], "Version": chart["version"],
                      "AppVersion": chart.get("appVersion", "")},
            "Template": {"BasePath": base}}
    engine = _Engine()
    files = sorted((CHART / "templates").glob("*"))
    for path in files:
        body = engine.parse(path.read_text(), path.name)
        engine.defines[f"{base}/{path.name}"] = body
    out = []
    for path in files:
        if path.name.startswith("_") or path.suffix not in (".yaml", ".yml"):
            continue
        text = engine.run(engine.defines[f"{base}/{path.name}"], root, {"$": root})
        out.append(f"---\n# Source: {base}/{path.name}\n{text}\n")
    return "".join(out)


def _merge(into: dict[str, Any], over: Mapping[str, Any]) -> None:
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)


# -- the interpreter ------------------------------------------------------------------------
@dataclass
class _Node:
    kind: str  # text | action | if | range | with
    text: str = ""
    pipe: str = ""
    body: list[_Node] = field(default_factory=list)
    orelse: list[_Node] = field(default_factory=list)
    var: str = ""


_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


def _truthy(v: Any) -> bool:
    return not (v is None or v is False or v == 0 or (hasattr(v, "__len__") and len(v) == 0))


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        raise ChartRenderError(f"printing a {type(v).__name__} needs toYaml/toJson: {v!r}")
    return str(v)


def _go_printf(fmt: str, *args: Any) -> str:
    return re.sub(r"%[sdv]", "{}", fmt).format(*(_text(a) for a in args))


def _to_yaml(v: Any) -> str:
    return yaml.safe_dump(v, default_flow_style=False, sort_keys=True).rstrip("\n")


FUNCS: dict[str, Callable[..., Any]] = {
    "quote": lambda *a: " ".join(json.dumps(_text(x)) for x in a),
    "printf": _go_printf,
    "print": lambda *a: "".join(_text(x) for x in a),
    "toJson": lambda v: json.dumps(v, separators=(",", ":")),
    "toYaml": _to_yaml,
    "nindent": lambda n, s: "\n" + "\n".join(" " * n + ln if ln else ln
                                             for ln in _text(s).split("\n")),
    "indent": lambda n, s: "\n".join(" " * n + ln if ln else ln for ln in _text(s).split("\n")),
    "sha256sum": lambda s: hashlib.sha256(_text(s).encode()).hexdigest(),
    "default": lambda d, v=None: v if _truthy(v) else d,
    "trunc": lambda n, s: _text(s)[:n],
    "trim": lambda s: _text(s).strip(),
    "trimSuffix": lambda suf, s: _text(s)[: -len(suf)] if suf and _text(s).endswith(suf)
    else _text(s),
    "not": lambda v: not _truthy(v),
    "empty": lambda v: not _truthy(v),
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "list": lambda *a: list(a),
    "join": lambda sep, xs: sep.join(_text(x) for x in xs),
}


class _Engine:
    def __init__(self) -> None:
        self.defines: dict[str, list[_Node]] = {}

    # parsing ------------------------------------------------------------------------------
    def parse(self, src: str, name: str) -> list[_Node]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        for m in _ACTION.finditer(src):
            text = src[pos:m.start()]
            if m.group(1):
                text = text.rstrip(" \t\r\n")
            if tokens and tokens[-1][0] == "trim_next":
                tokens.pop()
                text = text.lstrip(" \t\r\n")
            tokens.append(("text", text))
            tokens.append(("action", m.group(2)))
            if m.group(3):
                tokens.append(("trim_next", ""))
            pos = m.end()
        tail = src[pos:]
        if tokens and tokens[-1][0] == "trim_next":
            tokens.pop()
            tail = tail.lstrip(" \t\r\n")
        tokens.append(("text", tail))
        body, stop = self._block(tokens, 0, name)
        if stop < len(tokens):
            raise ChartRenderError(f"{name}: unexpected {tokens[stop][1]!r}")
        return body

    def _block(self, toks: list[tuple[str, str]], i: int, name: str) -> tuple[list[_Node], int]:
        out: list[_Node] = []
        while i < len(toks):
            kind, val = toks[i]
            if kind == "text":
                out.append(_Node("text", text=val))
                i += 1
                continue
            word = val.split(None, 1)[0] if val else ""
            rest = val[len(word):].strip()
            if word in ("end", "else"):
                return out, i
            if val.startswith("/*"):
                i += 1
            elif word == "define":
                body, i = self._block(toks, i + 1, name)
                self._expect_end(toks, i, name)
                self.defines[json.loads(rest)] = body
                i += 1
            elif word in ("if", "range", "with"):
                node = _Node(word, pipe=rest)
                if word == "range":
                    m = re.match(r"(\$\w+)\s*:=\s*(.*)$", rest, re.S)
                    if m:
                        node.var, node.pipe = m.group(1), m.group(2)
                node.body, i = self._block(toks, i + 1, name)
                node.orelse, i = self._else(toks, i, name)
                self._expect_end(toks, i, name)
                out.append(node)
                i += 1
            else:
                out.append(_Node("action", pipe=val))
                i += 1
        return out, i

    def _else(self, toks: list[tuple[str, str]], i: int, name: str) -> tuple[list[_Node], int]:
        """The else branch, if any; ``else if`` is a nested if that shares the outer end."""
        if i >= len(toks) or not toks[i][1].startswith("else"):
            return [], i
        cond = toks[i][1][4:].strip()
        if not cond.startswith("if "):
            return self._block(toks, i + 1, name)
        inner = _Node("if", pipe=cond[3:].strip())
        inner.body, i = self._block(toks, i + 1, name)
        inner.orelse, i = self._else(toks, i, name)
        return [inner], i

    @staticmethod
    def _expect_end(toks: list[tuple[str, str]], i: int, name: str) -> None:
        if i >= len(toks) or toks[i][1] != "end":
            raise ChartRenderError(f"{name}: missing {{{{ end }}}}")

    # execution ----------------------------------------------------------------------------
    def run(self, nodes: list[_Node], dot: Any, env: dict[str, Any]) -> str:
        parts: list[str] = []
        for n in nodes:
            if n.kind == "text":
                parts.append(n.text)
            elif n.kind == "action":
                m = re.match(r"(\$\w+)\s*:=\s*(.*)$", n.pipe, re.S)
                if m:
                    env[m.group(1)] = self.pipe(m.group(2), dot, env)
                else:
                    parts.append(_text(self.pipe(n.pipe, dot, env)))
            elif n.kind == "if":
                branch = n.body if _truthy(self.pipe(n.pipe, dot, env)) else n.orelse
                parts.append(self.run(branch, dot, env))
            elif n.kind == "with":
                v = self.pipe(n.pipe, dot, env)
                parts.append(self.run(n.body, v, env) if _truthy(v)
                             else self.run(n.orelse, dot, env))
            elif n.kind == "range":
                items = self.pipe(n.pipe, dot, env)
                if not _truthy(items):
                    parts.append(self.run(n.orelse, dot, env))
                    continue
                for item in (items.values() if isinstance(items, dict) else items):
                    scope = dict(env)
                    if n.var:
                        scope[n.var] = item
                    parts.append(self.run(n.body, item, scope))
        return "".join(parts)

    def pipe(self, src: str, dot: Any, env: dict[str, Any]) -> Any:
        value: Any = _UNSET
        for cmd in _split(src, "|"):
            args = _split(cmd.strip(), " ")
            if not args:
                raise ChartRenderError(f"empty command in {src!r}")
            head = args[0]
            if head in FUNCS or head == "include":
                vals = [self.operand(a, dot, env) for a in args[1:]]
                if value is not _UNSET:
                    vals.append(value)
                value = (self.include(*vals) if head == "include" else FUNCS[head](*vals))
            elif len(args) == 1 and value is _UNSET:
                value = self.operand(head, dot, env)
            else:
                raise ChartRenderError(f"unsupported function {head!r} in {src!r}")
        return None if value is _UNSET else value

    def include(self, name: str, ctx: Any) -> str:
        if name not in self.defines:
            raise ChartRenderError(f"include of an undefined template {name!r}")
        return self.run(self.defines[name], ctx, {"$": ctx})

    def operand(self, tok: str, dot: Any, env: dict[str, Any]) -> Any:
        if tok.startswith("("):
            return self.pipe(tok[1:-1], dot, env)
        if tok.startswith('"'):
            return json.loads(tok)
        if re.fullmatch(r"-?\d+", tok):
            return int(tok)
        if tok in ("true", "false"):
            return tok == "true"
        if tok == "nil":
            return None
        if tok.startswith("$"):
            var, _, path = tok.partition(".")
            if var not in env:
                raise ChartRenderError(f"undefined variable {var}")
            return _dig(env[var], path)
        if tok.startswith("."):
            return _dig(dot, tok[1:])
        raise ChartRenderError(f"unsupported operand {tok!r}")


_UNSET = object()


def _dig(obj: Any, path: str) -> Any:
    for part in filter(None, path.split(".")):
        obj = obj.get(part) if isinstance(obj, Mapping) else None
    return obj


def _split(src: str, sep: str) -> list[str]:
    """Split on ``sep`` outside strings and parentheses (drops empty pieces for spaces)."""
    out, buf, depth, quote = [], "", 0, False
    for ch in src:
        if quote:
            buf += ch
            quote = ch != '"' or buf.endswith('\\"')
            continue
        if ch == '"':
            quote = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            out.append(buf)
            buf = ""
        else:
            buf += ch
    out.append(buf)
    return [p for p in out if p.strip()] if sep == " " else out
