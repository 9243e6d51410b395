"""A real Prometheus server for tests: Debian's ``/usr/bin/prometheus`` on a free loopback port.

Reusable by any suite: ``from prometheus_server import prometheus_server`` in a conftest (this
directory is on ``sys.path`` for tests). The fixture is session-scoped: one server, scrape interval
1 s, targets from a ``file_sd`` file that ``set_targets`` rewrites (Prometheus watches it with
inotify, so new targets are scraped within a second or two — no restart, no reload).

A test should use its own label values (``ea_job``, pod names): series from an earlier test's
targets linger for a scrape or two after it replaces them, then go stale.

Binary: ``$EA_PROMETHEUS_BIN`` or ``prometheus`` on PATH or ``/usr/bin/prometheus``. Missing: the
fixture skips with the reason — except when ``CI=true``, where a missing server is a failure
(``scripts/test`` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from autoscaler.actuators.torchrun_cmd import free_port

SCRAPE_INTERVAL_S = 1.0


def _find_binary() -> str | None:
    explicit = os.environ.get("EA_PROMETHEUS_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    found = shutil.which("prometheus")
    if found:
        return found
    return "/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None




class PrometheusServer:
    """A running server: ``base_url``, ``set_targets``, ``wait_for_series``."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.workdir = workdir
        self.targets_file = workdir / "targets.json"
        self.config_file = workdir / "prometheus.yml"
        self.set_targets([])
        self.config_file.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL_S:g}s\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL_S:g}s\n"
            "scrape_configs:\n"
            "  - job_name: workers\n"
            "    scrape_timeout: 900ms\n"
            "    file_sd_configs:\n"
            f"      - files: ['{self.targets_file}']\n"
            "        refresh_interval: 1s\n"
        )
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 (closed in stop())
        self._proc = subprocess.Popen(
            [
                binary,
                f"--config.file={self.config_file}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(timeout=5.0)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._proc.returncode}: {self.log()}")
            try:
                if self.client.get(f"{self.base_url}/-/ready").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus not ready after {timeout_s} s: {self.log()}")

    def log(self) -> str:
        return (self.workdir / "prometheus.log").read_text(errors="replace")[-2000:]

    def set_targets(self, targets: Sequence[str], labels: Mapping[str, str] | None = None) -> None:
        """Replace the scrape targets (``host:port``), all with the same extra target labels."""
        self.set_target_groups([(list(targets), dict(labels or {}))])

    def set_target_groups(self, groups: Sequence[tuple[Sequence[str], Mapping[str, str]]]) -> None:
        """Replace the targets with several groups, each with its own target labels (e.g. one
        group per pod: ``[(["127.0.0.1:9001"], {"pod": "job-a-0", "namespace": "ns"})]``)."""
        doc = [{"targets": list(t), "labels": dict(lb)} for t, lb in groups if t]
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        tmp.replace(self.targets_file)  # atomic: Prometheus never reads half a file

    def query(self, promql: str) -> list[dict[str, Any]]:
        resp = self.client.post(f"{self.base_url}/api/v1/query", data={"query": promql})
        resp.raise_for_status()
        result: list[dict[str, Any]] = resp.json()["data"]["result"]
        return result

    def wait_for_series(self, promql: str, count: int, timeout_s: float = 20.0) -> None:
        """Until ``promql`` returns at least ``count`` series (targets are being scraped)."""
        deadline = time.monotonic() + timeout_s
        found = 0
        while time.monotonic() < deadline:
            found = len(self.query(promql))
            if found >= count:
                return
            time.sleep(0.25)
        raise AssertionError(f"{promql!r}: {found} series after {timeout_s} s, wanted {count}")

    def stop(self) -> None:
        self.client.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._log.close()


@pytest.fixture(scope="session")
def prometheus_server() -> Iterator[PrometheusServer]:
    """A real Prometheus on loopback, torn down at the end of the session."""
    binary = _find_binary()
    if binary is None:
        reason = (
            "Prometheus binary not found (apt-get install prometheus, or set EA_PROMETHEUS_BIN)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="ea-prometheus-") as tmp:
        server = PrometheusServer(binary, Path(tmp))
        try:
            server.wait_ready()
            yield server
        finally:
            server.stop()
