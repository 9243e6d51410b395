"""The only code that talks to the Kubernetes API: watch, /scale, annotations, Events, Lease.

May do: HTTP to the API server through :class:`~autoscaler.kube.client.KubeClient` (the one
seam), and pure parsing of what it reads (:mod:`~autoscaler.kube.annotations`,
:mod:`~autoscaler.kube.state`). May not: read a clock (callers pass ``now_s``), decide anything
about replicas (the decision engine does), or sleep and loop (the runtime does). Every API
failure leaves here as a :class:`~autoscaler.kube.errors.KubeApiError` that says whether
retrying can help. :mod:`~autoscaler.testing.fakeapi` is an in-memory API server for tests and
benchmarks.
"""
