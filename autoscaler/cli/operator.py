"""``energy-autoscaler operator``: run the Kubernetes operator for annotated jobs."""

from __future__ import annotations

import argparse
import importlib
import signal
import threading
from typing import Any

from autoscaler.cli.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH",
                        help="settings YAML (see docs/operator.md); flags below override it")
    parser.add_argument("--namespace", action="append", dest="namespaces", metavar="NS",
                        help="watch only this namespace (repeatable; default: all namespaces)")
    parser.add_argument("--dry-run", action="store_true", default=None,
                        help="recommend only, for every job, whatever its mode annotation says")
    parser.add_argument("--kubeconfig", metavar="PATH",
                        help="use this kubeconfig (default: the in-cluster service account)")
    parser.add_argument("--interval", dest="interval_s", metavar="DURATION",
                        help="measure-decide-write cycle per job: seconds, or 30s, 2m, 1h "
                             "(default 30s)")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="port for /metrics, /healthz, /readyz (default 8080; 0: off)")
    parser.add_argument("--no-leader-election", action="store_true",
                        help="act without a Lease (only when exactly one replica runs)")


def _require_kube_extra() -> None:
    """The operator loads credentials with the official Kubernetes client, an optional extra
    (local mode and the simulator do not need it): without it, one line saying how to get it,
    before the settings are read, instead of a ModuleNotFoundError deep in the client."""
    try:
        importlib.import_module("kubernetes")
    except ModuleNotFoundError as e:
        if e.name != "kubernetes":  # installed but broken: that traceback is the useful one
            raise
        raise UserError("the Kubernetes client is not installed; "
                        "install it with: pip install 'energy-autoscaler[kube]'") from e


def run(args: argparse.Namespace) -> int:
    _require_kube_extra()
    from autoscaler.kube.client import KubeClient
    from autoscaler.kube.errors import KubeConfigError
    from autoscaler.runtime.operator.loop import OperatorLoop
    from autoscaler.runtime.operator.measure import MeasurerError
    from autoscaler.runtime.operator.settings import SettingsError, load_settings
    from autoscaler.runtime.operator.sources import build_measurer

    overrides: dict[str, Any] = {
        "namespaces": args.namespaces,
        "dry_run": args.dry_run,
        "kubeconfig": args.kubeconfig,
        "interval_s": args.interval_s,
        "metrics_port": args.metrics_port,
    }
    try:
        settings = load_settings(args.config, overrides)
        if args.no_leader_election:
            settings.lease.enabled = False
        measurer = build_measurer(settings.source)
        client = KubeClient.from_config(settings.kubeconfig)
    except (SettingsError, MeasurerError) as e:
        raise UserError(str(e)) from e
    except KubeConfigError as e:  # no request was made: not an HTTP error
        raise UserError(str(e)) from e

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return OperatorLoop(settings, client, measurer).run(stop)
