"""The Kubernetes operator: watch opted-in jobs, measure them, decide, write ``/scale``.

Imports nothing from :mod:`autoscaler.runtime.local` (an import-linter independence contract).
Nothing is imported here, so the CLI pays for the operator only when it runs it.

- ``loop``: leader election and the pass timer (``OperatorLoop``); ``core``: one pass
  (``OperatorCore``); ``jobs``: one job's plan; ``writes``: the API writes of a plan;
- ``measure``: the measurer protocol, its target and its error; ``sources``: the measurer the
  settings name; ``prometheus`` and ``table``: the two measurers;
- ``settings``: the settings file; ``metrics``: Prometheus metrics and the probe server.
"""
