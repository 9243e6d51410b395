"""A tiny training-like worker for the tests: steps at a fixed rate, reports through Reporter.

Each step busy-waits for ``--busy-fraction`` of the step (CPU time, so the estimate has something
to count) and sleeps the rest; steps are scheduled on absolute deadlines so the rate is exact.
``--dcgm-watts W`` also exports a DCGM-exporter-shaped energy counter (mJ) growing at W watts, with
the labels the real exporter uses, so the DCGM path through a real Prometheus can be checked.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

from autoscaler.worker import Reporter


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples-per-step", type=int, default=8)
    parser.add_argument("--steps-per-s", type=float, default=20.0)
    parser.add_argument("--busy-fraction", type=float, default=0.1)
    parser.add_argument("--dcgm-watts", type=float, default=0.0)
    parser.add_argument("--kepler-pod", default="", help="also export Kepler-shaped CPU joules")
    args = parser.parse_args()
    stop = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    reporter = Reporter.from_env().start()
    if args.dcgm_watts:
        _export_dcgm(reporter, args.dcgm_watts, args.kepler_pod)
    interval_s = 1.0 / args.steps_per_s
    next_s = time.perf_counter()
    while not stop:
        busy_until = time.perf_counter() + interval_s * args.busy_fraction
        while time.perf_counter() < busy_until:
            pass
        reporter.step(samples=args.samples_per_step)
        next_s += interval_s
        time.sleep(max(0.0, next_s - time.perf_counter()))
    reporter.close()
    return 0


def _export_dcgm(reporter: Reporter, watts: float, kepler_pod: str) -> None:
    """DCGM's metric shape: name without ``_total``, mJ since boot, per-GPU labels (exposed as
    gauge text because the real exporter's name has no ``_total`` suffix). With ``kepler_pod``,
    also Kepler's pod-level shape: the same energy in J, labelled by pod_name and zone."""
    from collections.abc import Iterator

    from prometheus_client.core import GaugeMetricFamily, Metric
    from prometheus_client.registry import Collector

    start_s = time.monotonic()
    labels = {"gpu": "0", "UUID": f"GPU-test-{reporter.config.rank}", "Hostname": "testhost"}

    class Dcgm(Collector):
        def collect(self) -> Iterator[Metric]:
            fam = GaugeMetricFamily(
                "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                "Total energy consumption since boot (in mJ).",
                labels=list(labels),
            )
            energy_j = (time.monotonic() - start_s) * watts
            fam.add_metric(list(labels.values()), energy_j * 1000.0)
            yield fam
            if kepler_pod:
                kepler = GaugeMetricFamily(
                    "kepler_pod_cpu_joules_total",
                    "Kepler-shaped pod CPU energy.",
                    labels=["pod_name", "pod_namespace", "zone"],
                )
                kepler.add_metric([kepler_pod, "ml", "package"], energy_j)
                kepler.add_metric([kepler_pod, "ml", "core"], energy_j / 2)  # inside package
                yield kepler

    reporter.registry.register(Dcgm())


if __name__ == "__main__":
    sys.exit(main())
