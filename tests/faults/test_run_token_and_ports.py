"""Local mode's scrapes trust only this run's workers: a per-run token proven per scrape (HMAC
over a fresh nonce and the body), a port someone else took is not fatal, and a reporter with no
token still serves plain Prometheus text as before. Real HTTP servers on loopback, no torch."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest

from autoscaler.decision.types import Quality
from autoscaler.sources import ScrapeSource, SourceError, compute_window
from autoscaler.worker import NullSource, Reporter, ReporterConfig, ReporterConfigError
from autoscaler.worker.serve import NONCE_HEADER, PROOF_HEADER, proof

TOKEN = "a-secret-of-this-run"
IMPOSTOR_TEXT = b"# TYPE ea_samples counter\nea_samples_total 123456789\n"


def _reporter(**config: object) -> Reporter:
    cfg = ReporterConfig(addr="127.0.0.1", **config)  # type: ignore[arg-type]
    return Reporter(cfg, sources=[NullSource("none", "test")]).start()


@pytest.fixture
def impostor() -> Iterator[int]:
    """Another user's process on a worker's port: answers /metrics with made-up numbers."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header(PROOF_HEADER, "0" * 64)  # a guess
            self.end_headers()
            self.wfile.write(IMPOSTOR_TEXT)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_worker_with_the_token_proves_it_and_is_scraped() -> None:
    rep = _reporter(port=_free_port(), token=TOKEN)
    try:
        rep.step(samples=32)
        source = ScrapeSource([f"127.0.0.1:{rep.port}"], token=TOKEN)
        snap = source.snapshot()
        assert [w.samples for w in snap.workers.values()] == [32.0]
        assert snap.errors == ()
        # the answer is bound to the nonce and to the body
        r = httpx.get(f"http://127.0.0.1:{rep.port}/metrics",
                      headers={NONCE_HEADER: "n1", "Accept-Encoding": "identity"})  # fmt: skip
        assert r.headers[PROOF_HEADER] == proof(TOKEN, "n1", r.content)
        assert r.headers[PROOF_HEADER] != proof(TOKEN, "n2", r.content)
        source.close()
    finally:
        rep.close()


def test_impostor_on_a_workers_port_is_refused_with_a_note(impostor: int) -> None:
    rep = _reporter(port=_free_port(), token=TOKEN)
    try:
        rep.step(samples=10)
        source = ScrapeSource([f"127.0.0.1:{rep.port}", f"127.0.0.1:{impostor}"], token=TOKEN)
        before = source.snapshot()
        rep.step(samples=10)
        after = source.snapshot()
        assert len(after.workers) == 1 and "did not prove" in after.errors[0]
        window = compute_window(before, after, replicas=2)
        assert window.quality is Quality.MISSING
        assert "did not prove it is this run's worker" in window.note
        with pytest.raises(SourceError, match="did not prove"):
            ScrapeSource([f"127.0.0.1:{impostor}"], token=TOKEN).snapshot()
    finally:
        rep.close()


def test_a_worker_with_another_token_is_refused() -> None:
    rep = _reporter(port=_free_port(), token="another-run")
    try:
        with pytest.raises(SourceError, match="did not prove"):
            ScrapeSource([f"127.0.0.1:{rep.port}"], token=TOKEN).snapshot()
    finally:
        rep.close()


def test_reporter_without_a_token_serves_plain_prometheus_as_before() -> None:
    rep = _reporter(port=_free_port())
    try:
        rep.step(samples=7)
        r = httpx.get(f"http://127.0.0.1:{rep.port}/metrics", headers={NONCE_HEADER: "x"})
        assert PROOF_HEADER not in r.headers and "ea_samples_total" in r.text
        snap = ScrapeSource([f"127.0.0.1:{rep.port}"]).snapshot()  # no token: no check
        assert [w.samples for w in snap.workers.values()] == [7.0]
    finally:
        rep.close()


def test_the_token_is_never_in_the_config_repr() -> None:
    assert TOKEN not in repr(ReporterConfig(token=TOKEN))
    cfg = ReporterConfig.from_env({"EA_RUN_TOKEN": TOKEN, "EA_METRICS_PORT_DIR": "/d"})
    assert cfg.token == TOKEN and cfg.port_dir == "/d" and TOKEN not in repr(cfg)


def test_a_taken_port_falls_back_to_an_ephemeral_one_named_in_the_port_dir(
    impostor: int, tmp_path: Path
) -> None:
    rep = _reporter(port=impostor, token=TOKEN, port_dir=str(tmp_path), local_rank=0)
    try:
        assert rep.port is not None and rep.port != impostor
        assert int((tmp_path / "rank-0.port").read_text()) == rep.port
        rep.step(samples=5)
        snap = ScrapeSource([f"127.0.0.1:{rep.port}"], token=TOKEN).snapshot()
        assert [w.samples for w in snap.workers.values()] == [5.0]
    finally:
        rep.close()
    assert json.loads((tmp_path / "rank-0.final").read_text()) == {"samples": 5.0}


def test_without_a_port_dir_a_taken_port_is_still_a_clear_error(impostor: int) -> None:
    with pytest.raises(ReporterConfigError, match="cannot serve /metrics"):
        _reporter(port=impostor)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
