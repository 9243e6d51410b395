"""The what-if simulator: runs the real decision engine against a workload with known true
curves, in simulated time, and compares it with an oracle and baselines. No I/O but reading
the scenario file; no wall clock.

May import: the decision engine (``autoscaler.decision``), numpy, pydantic, pyyaml.
Must not import: any other autoscaler layer (sources, actuators, kube, runtime, cli), a clock,
or anything that touches hardware or the network. The CLI turns :class:`ScenarioError` into its
``UserError``; the simulator never exits the process itself.

Modules, in the order data flows:

- ``specs``: the curve specifications (throughput, step, power, noise) and the numeric limits;
- ``scenario``: the scenario file's schema and loading (one clear error per mistake, and the
  bound on a run's length);
- ``workload``: the true curves per phase (a ``step:`` workload becomes a throughput curve) and
  the measurement noise;
- ``engine``: runs one policy in simulated time (windows, resizes, downtime, exact accounting);
- ``baselines``: static-initial, static-max, throughput-max, sweep;
- ``oracle``: the best plan knowing the truth, and the objective value runs are scored by;
- ``compare``: runs ours + baselines + oracle on one scenario and scores regrets;
- ``output``: the ``--json`` object (a contract) and the summary table.
"""
