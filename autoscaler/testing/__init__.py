"""Test doubles for the operator, public so that tests, benchmarks and users' own tests share
one copy (as ``kopf.testing`` does): nothing in the production layers imports this package (an
import-linter contract).

- ``fakeapi``: an in-memory Kubernetes API server behind an ``httpx.MockTransport``
  (resourceVersions, 409s, ``/scale``, watch, Events, Leases, injected failures);
- ``curves``: the known throughput and power curve the operator tests and the benchmark use,
  and a recorded-table measurer over it.

Nothing is imported here, so importing one helper does not pull in the others' dependencies.
"""
