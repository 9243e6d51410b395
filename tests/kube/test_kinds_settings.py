"""Issue 11 items 1 and 5: a platform team adds a kind in the settings, validated, without code;
the chart renders exactly the RBAC the enabled kinds need (pods ``list`` only with placement),
rendered by Helm itself (``chart_render``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import render

from autoscaler.kube.kinds import BUILTIN_KINDS, JOBSET_ELASTIC
from autoscaler.runtime.operator.settings import SettingsError, load_settings

CUSTOM = {"group": "example.com", "version": "v1", "plural": "elasticjobs", "kind": "ElasticJob",
          "resize": "patch", "replicas_path": "spec.groups[].replicas", "entry_key": "name",
          "min_paths": ["spec.groups[].minReplicas"], "observed_path": "status.ready",
          "pod_labels": {"example.com/job": "{name}", "example.com/group": "{entry}"},
          "pod_regex": "{name}-{entry}-[0-9]+"}


def _load(tmp_path: Path, data: dict[str, Any]) -> Any:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_settings(str(path), {})


def test_a_kind_of_its_own_is_served_from_the_settings(tmp_path: Path) -> None:
    settings = _load(tmp_path, {"kinds": ["VolcanoJob", {"builtin": "RayCluster"}, CUSTOM]})
    custom = settings.kinds[2].ref()
    obj = {"metadata": {"name": "e", "annotations": {}},
           "spec": {"groups": [{"name": "w", "replicas": 3, "minReplicas": 2}]},
           "status": {"ready": 3}}
    reading = custom.read(obj)
    assert reading is not None and (reading.replicas, reading.lo, reading.entry,
                                    reading.observed) == (3, 2, "w", 3)
    assert custom.pod_selector(obj, "w") == {"example.com/job": "e", "example.com/group": "w"}
    assert [k.ref() for k in settings.kinds[:2]] == [BUILTIN_KINDS["VolcanoJob"],
                                                     BUILTIN_KINDS["RayCluster"]]


@pytest.mark.parametrize(("change", "message"), [
    ({"replicas_path": "spec.groups[].x[].replicas"}, "at most one []"),
    ({"replicas_path": "spec..replicas"}, "dotted field names"),
    ({"resize": "scale"}, "resize scale needs a replicas_path without []"),
    ({"min_paths": ["spec.other[].min"]}, "its [] must be the replicas_path's list"),
    ({"pod_labels": {"bad key!": "x"}}, "not a label key"),
    ({"pod_regex": "{name}-("}, "pod_regex"),
    ({"resize": "grow"}, "resize"),
    ({"plural": "Not_A_Plural"}, "not a valid API plural"),
])
def test_a_wrong_kind_is_one_line_naming_the_field(tmp_path: Path, change: dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(SettingsError) as e:
        _load(tmp_path, {"kinds": [{**CUSTOM, **change}]})
    assert "\n" not in str(e.value) and "kinds.0" in str(e.value)
    assert message in str(e.value)


def test_an_unknown_builtin_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"unknown builtin kind 'MPIJob'.*VolcanoJob"):
        _load(tmp_path, {"kinds": ["MPIJob"]})


def test_the_elastic_jobset_gate_makes_jobsets_resizable(tmp_path: Path) -> None:
    off = _load(tmp_path, {"kinds": ["JobSet"]})
    on = _load(tmp_path, {"kinds": ["JobSet"], "elastic_jobset": True})
    assert off.kinds[0].ref().resize == "none"
    assert on.kinds[0].ref() == JOBSET_ELASTIC and on.kinds[0].ref().resize == "patch"


def _rules(values: dict[str, Any]) -> set[tuple[str, str, str]]:
    [role] = [d for d in render(values) if d["kind"] == "ClusterRole"]
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
            for r in rule["resources"] for v in rule["verbs"]}


def test_the_chart_grants_exactly_what_the_enabled_kinds_need() -> None:
    watch = {"get", "list", "watch", "patch"}
    values = {"kinds": list(BUILTIN_KINDS), "customKinds": [CUSTOM], "placement": True}
    want = {(k.group, k.plural, v) for k in BUILTIN_KINDS.values() for v in watch}
    want |= {(k.group, f"{k.plural}/scale", v) for k in BUILTIN_KINDS.values()
             if k.resize == "scale" for v in ("get", "patch")}
    want |= {("example.com", "elasticjobs", v) for v in watch}
    want |= {("", "pods", "list"), ("", "events", "create")}
    assert _rules(values) == want
    # no /scale for patch or recommend-only kinds, no pods without placement
    assert ("", "pods", "list") not in _rules({"kinds": ["TrainJob"]})
    assert _rules({"kinds": ["TrainJob"]}) == {("trainer.kubeflow.org", "trainjobs", v)
                                              for v in watch} | {("", "events", "create")}


def test_the_chart_settings_are_the_ones_the_operator_loads(tmp_path: Path) -> None:
    values = {"kinds": ["VolcanoJob", "JobSet"], "customKinds": [CUSTOM],
              "elasticJobSet": True, "placement": True}
    [cm] = [d for d in render(values) if d["kind"] == "ConfigMap"]
    path = tmp_path / "s.yaml"
    path.write_text(cm["data"]["settings.yaml"])
    settings = load_settings(str(path), {})
    assert settings.placement and settings.elastic_jobset
    assert [k.ref().plural for k in settings.kinds] == ["jobs", "jobsets", "elasticjobs"]
    assert settings.kinds[1].ref() == JOBSET_ELASTIC


def test_the_charts_builtin_table_is_the_codes() -> None:
    helpers = (Path(__file__).resolve().parents[2] / "charts/energy-autoscaler/templates"
               / "_helpers.tpl").read_text()
    block = helpers.split('define "energy-autoscaler.builtinKinds" -}}')[1].split("{{- end")[0]
    table = yaml.safe_load(block)
    assert table == {name: {"group": k.group, "plural": k.plural, "resize": k.resize}
                     for name, k in BUILTIN_KINDS.items()}


def test_an_unknown_kind_name_fails_the_chart_rendering() -> None:
    with pytest.raises(Exception, match="unknown built-in kind"):
        render({"kinds": ["MPIJob"]})


def test_an_older_kind_entry_with_elastic_path_still_loads(tmp_path: Path) -> None:
    """Settings written before issue 11 (a full PyTorchJob entry with ``elastic_path``)."""
    old = {"group": "kubeflow.org", "version": "v1", "plural": "pytorchjobs",
           "kind": "PyTorchJob", "replicas_path": "spec.pytorchReplicaSpecs.Worker.replicas",
           "elastic_path": "spec.elasticPolicy", "pod_regex": "{name}-worker-[0-9]+"}
    kind = _load(tmp_path, {"kinds": [old]}).kinds[0].ref()
    obj = {"metadata": {"name": "p"}, "spec": {
        "elasticPolicy": {"minReplicas": 2, "maxReplicas": 6},
        "pytorchReplicaSpecs": {"Worker": {"replicas": 3}}}}
    assert kind.elastic_bounds(obj) == (2, 6) and kind.replicas(obj) == 3
