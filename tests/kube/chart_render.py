"""Render and lint the Helm chart in tests with Helm itself: Helm v4's Go SDK, bound by the
``helm-python-sdk`` package (import name ``helm_python``, in the ``dev`` extra).

Why Helm's own engine and not an imitation: the chart is installed by Helm, so only Helm's
template engine (Go templates + Sprig, values coalescing, ``include``/``tpl``) says what a
cluster receives. The package ships ``libhelm_c`` in its wheel, so no ``helm`` binary, Go
toolchain or network is needed; rendering is offline (``lookup`` returns nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "energy-autoscaler"


def render_files(values: Mapping[str, Any] | None = None, *, release: str = "rel",
                 namespace: str = "energy-autoscaler") -> dict[str, str]:
    """Each template's rendered text by its path (``energy-autoscaler/templates/x.yaml``),
    ``values`` coalesced over values.yaml as ``helm template --set-json`` would."""
    with helm.Chart.load(CHART) as chart:
        return chart.render(dict(values or {}), name=release, namespace=namespace,
                            is_install=True)


def render(values: Mapping[str, Any] | None = None, *, release: str = "rel",
           namespace: str = "energy-autoscaler") -> list[dict[str, Any]]:
    """The chart's manifests for ``values`` (merged over values.yaml), as parsed documents in
    template-file order (NOTES.txt and empty documents left out)."""
    files = render_files(values, release=release, namespace=namespace)
    docs: list[dict[str, Any]] = []
    for path in sorted(files):
        if path.endswith((".yaml", ".yml")):
            docs += [d for d in yaml.safe_load_all(files[path]) if d]
    return docs


def lint(values: Mapping[str, Any] | None = None, *, namespace: str = "energy-autoscaler",
         kube_version: str | None = None, chart: Path = CHART) -> dict[str, Any]:
    """``helm lint --strict`` of ``chart`` with ``values``: Helm's report, whose ``errors``
    list holds every error *and*, strict, every warning (e.g. a deprecated apiVersion)."""
    return helm.lint(chart, dict(values or {}), strict=True, namespace=namespace,
                     kube_version=kube_version)
