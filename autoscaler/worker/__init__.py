"""The worker-side reporter, imported by training scripts.

May import: prometheus-client and, lazily, pynvml. May not import: torch, or any other autoscaler
layer (a training image installs this package for one class). Public API:

- ``Reporter`` (``reporter.py``): ``Reporter.from_env().start()``, ``step(samples=n)``, ``close()``;
  the sync wait per step through ``ddp.attach`` / ``sync()`` / ``step(sync_s=)``.
- ``ddp`` (``ddp.py``, imports torch, so not imported here): ``attach(ddp_model, reporter)``
  installs a timed all-reduce comm hook that measures each step's wait on synchronisation.
- ``ReporterConfig`` / ``ReporterConfigError`` (``config.py``): the environment contract.
- ``metrics`` (``metrics.py``): every exported metric and label name, as constants.
- Power sources (``power.py`` Protocol + ``NullSource``; ``nvml.py``, ``rapl.py``,
  ``estimate.py``) and ``discover.py`` (``probe_sources``, ``open_reporter_sources``).
"""

from autoscaler.worker import metrics
from autoscaler.worker.config import ReporterConfig, ReporterConfigError
from autoscaler.worker.discover import open_reporter_sources, probe_sources
from autoscaler.worker.estimate import CpuTimeEstimate
from autoscaler.worker.metrics import EnergySource
from autoscaler.worker.nvml import NvmlSource
from autoscaler.worker.power import DeviceEnergy, NullSource, PowerSource, PowerSourceError
from autoscaler.worker.rapl import RaplSource
from autoscaler.worker.reporter import Reporter

__all__ = [
    "CpuTimeEstimate",
    "DeviceEnergy",
    "EnergySource",
    "NullSource",
    "NvmlSource",
    "PowerSource",
    "PowerSourceError",
    "RaplSource",
    "Reporter",
    "ReporterConfig",
    "ReporterConfigError",
    "metrics",
    "open_reporter_sources",
    "probe_sources",
]
