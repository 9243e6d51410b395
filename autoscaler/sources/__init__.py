"""Readings for the decision engine: worker-reported throughput, NVML, RAPL, Prometheus
(DCGM exporter, Kepler), estimated CPU power. Turns raw series into steady-state windows,
flagging (never averaging in) resets, stale series and absurd values."""
