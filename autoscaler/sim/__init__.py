"""The what-if simulator: runs the real decision engine against a workload with known true
curves, in simulated time, and compares it with an oracle and baselines. No I/O but reading
the scenario file; no wall clock."""
