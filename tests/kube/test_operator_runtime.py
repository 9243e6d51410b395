"""The operator process around the pass: the loop with its Lease, the probe server, the CLI, and
the shipped manifests (RBAC granting exactly what the client uses; chart defaults = code)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kube_helpers import PYTORCHJOB, STATEFULSET, Harness, opt_in, pytorchjob, statefulset

from autoscaler.cli import main
from autoscaler.kube.client import KubeClient
from autoscaler.kube.kinds import BUILTIN_KINDS, DEFAULT_KINDS
from autoscaler.runtime.operator.loop import OperatorLoop
from autoscaler.runtime.operator.metrics import OperatorMetrics, ProbeServer
from autoscaler.runtime.operator.settings import (
    LeaseSettings,
    OperatorSettings,
    SettingsError,
    load_settings,
)
from autoscaler.testing.curves import table_measurer
from autoscaler.testing.fakeapi import FakeKubeApi

ROOT = Path(__file__).resolve().parents[2]


def loop_for(api: FakeKubeApi, identity: str) -> OperatorLoop:
    settings = OperatorSettings(interval_s=30, identity=identity, metrics_port=0,
                                lease=LeaseSettings(namespace="ops", duration_s=15))
    return OperatorLoop(settings, KubeClient(api.transport()),
                        table_measurer())


def test_only_the_lease_holder_writes_and_a_successor_restores_from_annotations(
        api: FakeKubeApi) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in(mode="enforce")))
    first, second = loop_for(api, "op-1"), loop_for(api, "op-2")
    for loop in (first, second):
        loop.cache.relist()
    now_s = 1_800_000_000.0
    for _ in range(6):
        now_s += 30
        first.tick(now_s)
        second.tick(now_s + 1)
    assert first.leading and not second.leading
    assert second.core.jobs == {}  # the standby never decided anything
    assert second.metrics.leader._value.get() == 0

    now_s += 60  # op-1 is gone (stopped renewing); op-2 takes over after the lease expires
    second.cache.relist()
    second.tick(now_s)
    assert second.leading
    [job] = second.core.jobs.values()
    # learned by op-1, restored from the annotation
    assert job.session.to_state()["engine"]["windows"]


def test_a_pass_waits_for_the_cache_to_sync(api: FakeKubeApi) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    loop = loop_for(api, "op-1")
    assert not loop.ready()
    loop.tick(1_800_000_000.0)
    assert api.count("PATCH") == 0
    loop.cache.relist()
    assert loop.ready()
    loop.tick(1_800_000_030.0)
    assert api.count("PATCH", "/pytorchjobs/a") == 1


def test_a_failure_inside_the_decision_engine_fails_one_job_only(harness: Harness,
                                                                 api: FakeKubeApi) -> None:
    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    api.add(STATEFULSET, statefulset("b", 2, opt_in()))
    harness.step()

    class Broken:
        spec = next(iter(harness.core.jobs.values())).session.spec

        def observe(self, window: object) -> None:
            raise RuntimeError("bug")

    key = next(k for k in harness.core.jobs if "pytorchjobs" in k)
    harness.core.jobs[key].session = Broken()  # type: ignore[assignment]
    report = harness.step(errors_ok=True)
    assert (report.due, report.errors) == (2, 1)
    assert api.count("PATCH", "/statefulsets/b") == 2


def test_probe_server_serves_metrics_liveness_and_readiness() -> None:
    metrics = OperatorMetrics()
    metrics.current.labels("ml", "a", "PyTorchJob").set(3)
    ready = {"value": False}
    server = ProbeServer(0, metrics, live=lambda: True, ready=lambda: ready["value"],
                         host="127.0.0.1")
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        body = httpx.get(base + "/metrics").text
        assert 'energy_autoscaler_current_replicas{kind="PyTorchJob",name="a",namespace="ml"} 3.0' \
            in body
        assert httpx.get(base + "/healthz").status_code == 200
        assert httpx.get(base + "/readyz").status_code == 503
        ready["value"] = True
        assert httpx.get(base + "/readyz").status_code == 200
        assert httpx.get(base + "/nope").status_code == 404
    finally:
        server.stop()


@pytest.mark.parametrize(("content", "message"), [
    ("interval_s: -1\n", "interval_s"),
    ("source: {kind: carrier-pigeon}\n", "source.kind"),
    ("unknown_knob: 1\n", "unknown_knob"),
    ("- a list\n", "must be a mapping"),
    ("policy: {warmup_seconds: 3}\n", "warmup_seconds"),
    ("policy: {margin: -1}\n", "margin"),
])
def test_bad_settings_are_one_line_errors_naming_the_field(tmp_path: Path, content: str,
                                                           message: str) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(content)
    with pytest.raises(SettingsError) as e:
        load_settings(str(path), {})
    assert message in str(e.value) and str(path) in str(e.value)


def test_cli_reports_bad_settings_in_one_line_and_exits_2(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("interval_s: zero\n")
    assert main(["operator", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("energy-autoscaler operator: error: ") and "interval_s" in err
    assert "\n" not in err


def test_cli_without_a_cluster_says_where_credentials_were_looked_for(tmp_path: Path) -> None:
    missing = tmp_path / "nope.kubeconfig"
    proc = subprocess.run(
        [sys.executable, "-m", "autoscaler", "operator", "--kubeconfig", str(missing),
         "--config", str(ROOT / "tests/kube/table-settings.yaml")],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert str(missing) in proc.stderr and "Traceback" not in proc.stderr


# -- manifests --------------------------------------------------------------------------------
VERBS = {"GET": "get", "PATCH": "patch", "POST": "create", "PUT": "update", "WATCH": "watch"}


def _granted(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(group, resource, verb) for rule in rules for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def _used(api: FakeKubeApi) -> set[tuple[str, str, str]]:
    """(apiGroup, resource[/sub], verb) of every request the fake server saw."""
    used = set()
    for method, path in api.log:
        parts = path.strip("/").split("/")
        group = "" if parts[0] == "api" else parts[1]
        rest = parts[2:] if parts[0] == "api" else parts[3:]
        if rest and rest[0] == "namespaces":
            rest = rest[2:]
        resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
        verb = "list" if method == "GET" and len(rest) == 1 else VERBS[method]
        used.add((group, resource, verb))
    return used


def test_the_manifests_rbac_grants_every_request_the_operator_makes(api: FakeKubeApi) -> None:
    docs = list(yaml.safe_load_all((ROOT / "operator/rbac.yaml").read_text()))
    cluster_rules = _granted(next(d for d in docs if d["kind"] == "ClusterRole")["rules"])
    lease_rules = _granted(next(d for d in docs if d["kind"] == "Role")["rules"])
    api.add(PYTORCHJOB, pytorchjob("a", 8, opt_in(mode="enforce", max_replicas="4")))
    api.add(STATEFULSET, statefulset("s", 8, opt_in(mode="enforce", max_replicas="4")))
    api.log.clear()  # the test's own set-up is not the operator's doing
    loop = loop_for(api, "op")
    loop.cache.relist()
    for i in range(3):
        for s in range(loop.cache.stream_count):
            loop.cache.watch_once(s, timeout_s=1)
        loop.tick(1_800_000_000.0 + 30 * i)
    api.fail_next("PATCH", "/scale", 409)  # make the operator re-read: GET /scale and GET object
    api.fail_next("PATCH", "/pytorchjobs/a", 409)
    loop.core.jobs.clear()
    loop.tick(1_800_000_100.0)
    loop.elector.release(1_800_000_100.0)  # type: ignore[union-attr]
    used = _used(api)
    assert ("kubeflow.org", "pytorchjobs/scale", "patch") in used
    assert ("coordination.k8s.io", "leases", "update") in used
    missing = {u for u in used if u not in cluster_rules | lease_rules}
    assert missing == set()


def test_the_chart_defaults_match_the_code_and_the_plain_manifests() -> None:
    values = yaml.safe_load((ROOT / "charts/energy-autoscaler/values.yaml").read_text())
    settings = OperatorSettings()
    assert [BUILTIN_KINDS[name] for name in values["kinds"]] == list(DEFAULT_KINDS)
    assert OperatorSettings(kinds=values["kinds"]).kinds == settings.kinds
    assert values["dryRun"] is True
    deployment = yaml.safe_load((ROOT / "operator/deployment.yaml").read_text())
    assert "--dry-run" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert deployment["spec"]["replicas"] == values["replicaCount"]
    configmap = yaml.safe_load((ROOT / "operator/configmap.yaml").read_text())
    parsed = OperatorSettings.model_validate(yaml.safe_load(configmap["data"]["settings.yaml"]))
    assert parsed.interval_s == values["settings"]["interval_s"]
    assert parsed.source.power == values["settings"]["source"]["power"]
    kustomization = yaml.safe_load((ROOT / "operator/kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (ROOT / "operator" / resource).is_file()


def test_the_running_loop_watches_decides_and_releases_its_lease_on_stop(
        api: FakeKubeApi) -> None:
    import threading
    import time

    from autoscaler.testing.fakeapi import LEASES

    api.add(PYTORCHJOB, pytorchjob("a", 2, opt_in()))
    settings = OperatorSettings(interval_s=0.2, tick_s=0.05, identity="op-run", metrics_port=0,
                                lease=LeaseSettings(namespace="ops", duration_s=15))
    loop = OperatorLoop(settings, KubeClient(api.transport()),
                        table_measurer())
    stop = threading.Event()
    runner = threading.Thread(target=loop.run, args=(stop,))
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and api.count("PATCH", "/pytorchjobs/a") < 2:
            time.sleep(0.05)
        api.add(PYTORCHJOB, pytorchjob("b", 2, opt_in()))  # arrives through the watch thread
        while time.monotonic() < deadline and api.count("PATCH", "/pytorchjobs/b") < 1:
            time.sleep(0.05)
        assert loop.live() and loop.ready() and loop.leading
    finally:
        stop.set()
        runner.join(timeout=20)
    assert not runner.is_alive()
    assert api.count("PATCH", "/pytorchjobs/a") >= 2 and api.count("PATCH", "/pytorchjobs/b") >= 1
    [lease] = api.objects(LEASES)
    assert lease["spec"]["holderIdentity"] is None  # released: a standby may take over at once


def test_the_dashboard_queries_only_series_the_operator_exports() -> None:
    import json
    import re

    metrics = OperatorMetrics()
    metrics.current.labels("ml", "a", "PyTorchJob").set(1)
    metrics.resizes.labels("ml", "a", "PyTorchJob").inc()
    metrics.api_errors.labels("x").inc()
    for g in (metrics.measured_jps, metrics.predicted_jps, metrics.energy_used,
              metrics.budget_left):
        g.labels("ml", "a", "PyTorchJob", "dcgm").set(1)
    metrics.recommended.labels("ml", "a", "PyTorchJob").set(1)
    metrics.jobs.labels("served").set(1)
    metrics.decision_s.observe(0.1)
    metrics.pass_s.observe(0.1)
    exported = set(re.findall(r"^(energy_autoscaler_\w+)", metrics.exposition().decode(), re.M))
    dashboard = json.loads((ROOT / "dashboards/grafana-energy-autoscaler.json").read_text())
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"energy_autoscaler_\w+", target["expr"])}
    assert used and used <= exported, used - exported
