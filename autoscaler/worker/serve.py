"""The reporter's HTTP endpoint, and the proof that a scraped endpoint is this run's worker.

Why a proof: in local mode the workers serve ``/metrics`` on loopback ports that any local user
could take first (or answer on after a worker died). The controller must not steer a job by
numbers someone else serves. So local mode gives every worker a per-run secret
(``EA_RUN_TOKEN``, random, passed by environment only, never printed), and each scrape carries
a fresh random nonce in ``X-EA-Nonce``; the worker answers with
``X-EA-Proof: hex(HMAC-SHA256(token, nonce + "\\n" + body))``. Only a process that holds the
token can answer, the nonce makes a recorded answer useless, and the body is covered too, so a
relay cannot alter the numbers. Without a token (a script run outside local mode, a pod) the
endpoint is plain Prometheus exposition, exactly as before.

Standard library and prometheus-client only (the worker package's import rule).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

from autoscaler.worker.config import ReporterConfig

log = logging.getLogger(__name__)

NONCE_HEADER = "X-EA-Nonce"
PROOF_HEADER = "X-EA-Proof"
_MAX_NONCE_CHARS = 128  # a nonce is 32 hex characters; refuse to hash arbitrary junk

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def proof(token: str, nonce: str, body: bytes) -> str:
    """The answer to ``nonce`` for ``body``: what only a holder of ``token`` can compute."""
    return hmac.new(token.encode(), nonce.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def proof_is_valid(token: str, nonce: str, body: bytes, answer: str | None) -> bool:
    """Constant-time check of an endpoint's ``X-EA-Proof`` answer."""
    return answer is not None and hmac.compare_digest(proof(token, nonce, body), answer)


def _proving(app: WsgiApp, token: str) -> WsgiApp:
    """Wrap the metrics app: answer a nonce header with the proof over the response body."""

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        nonce = environ.get("HTTP_X_EA_NONCE")
        if not nonce or len(nonce) > _MAX_NONCE_CHARS:
            return app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        body = b"".join(app(environ, capture))
        headers = [*captured["headers"], (PROOF_HEADER, proof(token, nonce, body))]
        start_response(captured["status"], headers)
        return [body]

    return wrapped


def serve_metrics(
    addr: str, port: int, registry: CollectorRegistry, token: str = ""
) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``registry`` on ``addr:port`` (0: an ephemeral port) in a daemon thread, as
    ``prometheus_client.start_http_server`` does, answering nonces when ``token`` is set.
    Raises ``OSError`` when the port cannot be bound."""
    app: WsgiApp = make_wsgi_app(registry)
    if token:
        app = _proving(app, token)

    class Server(ThreadingWSGIServer):
        """Per call, so the address family (IPv4 or IPv6, from ``addr``) stays local."""

    Server.address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    httpd = make_server(addr, port, app, Server, handler_class=_SilentHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread


def serve_for(
    config: ReporterConfig, registry: CollectorRegistry
) -> tuple[WSGIServer, threading.Thread]:
    """Serve as ``config`` says. With a port directory (local mode) a port someone else holds
    is not fatal: the worker binds an ephemeral port and writes the port it bound to
    ``rank-<LOCAL_RANK>.port`` there, where the controller reads it. Raises ``OSError``
    otherwise."""
    try:
        server, thread = serve_metrics(config.addr, config.port, registry, config.token)
    except OSError as e:
        if not config.port_dir or e.errno != errno.EADDRINUSE:
            raise
        log.warning("port %s:%d is taken; serving /metrics on an ephemeral port instead",
                    config.addr, config.port)  # fmt: skip
        server, thread = serve_metrics(config.addr, 0, registry, config.token)
    if config.port_dir:
        _write(config, "port", str(int(server.server_address[1])))
    return server, thread


def write_final_samples(config: ReporterConfig, samples: float) -> None:
    """On close (local mode): this worker's final sample count, so the controller's report
    counts the samples trained after its last scrape too."""
    if config.port_dir:
        _write(config, "final", json.dumps({"samples": samples}))


def _write(config: ReporterConfig, kind: str, text: str) -> None:
    """Atomic write of ``rank-<LOCAL_RANK>.<kind>`` in the port directory (never fatal)."""
    path = os.path.join(config.port_dir, f"rank-{config.local_rank}.{kind}")
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        log.warning("cannot write %s: %s", path, e)
