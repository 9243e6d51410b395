"""Pollux's performance model as a JSON filter; runs ONLY in the peer venv (never imported).

    benchmarks/.peer-venv/bin/python benchmarks/peer_pollux.py < jobs.json > predictions.json

Input: a list of jobs ``{"id", "num_nodes", "num_replicas", "local_bsz", "step_time",
"sync_time", "predict": [[num_nodes, num_replicas, local_bsz], ...]}``. Each job is fitted
exactly as Pollux's simulator feeds its model (adaptdl ``simulator/simulator.py``,
``Job.update_params``): ``fit_perf_params(num_nodes, num_replicas, local_bsz,
step_time - sync_time, step_time)``; throughput is ``GoodputFunction.throughput`` with no
gradient accumulation. Output: ``{id: [samples/s, ...]}`` in the order of ``predict``.

Kept separate from ``peer_model.py`` so that our process never imports adaptdl, which is not a
dependency of the package (``adaptdl==0.2.11`` is installed with ``--no-deps`` into
``benchmarks/.peer-venv`` by ``peer_model.py --setup``).
"""

import json
import sys

import numpy as np
from adaptdl.goodput import GoodputFunction, fit_perf_params


def main() -> None:
    out = {}
    for job in json.load(sys.stdin):
        step = np.asarray(job["step_time"], dtype=float)
        sync = np.asarray(job["sync_time"], dtype=float)
        params = fit_perf_params(
            np.asarray(job["num_nodes"]), np.asarray(job["num_replicas"]),
            np.asarray(job["local_bsz"], dtype=float), step - sync, step,
        )
        # Gradient statistics only enter efficiency(), not throughput(); any value will do.
        fn = GoodputFunction(params, (1.0, 1.0), 1)
        out[job["id"]] = [
            float(fn.throughput(nodes, replicas, bsz, 0)) for nodes, replicas, bsz in job["predict"]
        ]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
