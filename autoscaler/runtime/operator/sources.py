"""The measurer the operator's settings name (``source.kind``): Prometheus or a recorded table.

The protocol, its target and its error are in :mod:`.measure`; each measurer in its own module.
"""

from __future__ import annotations

from autoscaler.runtime.operator.measure import JobMeasurer, MeasurerError
from autoscaler.runtime.operator.prometheus import PrometheusMeasurer
from autoscaler.runtime.operator.settings import SourceSettings
from autoscaler.runtime.operator.table import TableMeasurer


def build_measurer(settings: SourceSettings) -> JobMeasurer:
    """The measurer named in the settings' ``source``."""
    if settings.kind == "table":
        if not settings.table_path:
            raise MeasurerError("source.table_path is required when source.kind is table")
        return TableMeasurer.from_file(settings.table_path)
    return PrometheusMeasurer(settings)
