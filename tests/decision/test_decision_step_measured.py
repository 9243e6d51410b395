"""A measured degree's synchronisation is its own measurement, not the fitted line's.

Placements of one size differ (which links, which neighbours), so the sync of degrees across
nodes scatters about any line through them; the line fitted through several cannot follow
each, and at a measured degree it must not overrule what that degree's windows said.
"""

from __future__ import annotations

import numpy as np
import pytest

from autoscaler.decision.step_model import StepModel, StepStats

# (degrees, sync seconds per step): across nodes, not on a line (placement scatter)
CASES = [
    ((4, 8, 12, 16), (0.01, 0.17, 0.12, 0.19)),
    ((2, 6, 9, 14, 16), (0.02, 0.30, 0.05, 0.25, 0.11)),
    ((5, 8), (0.2, 0.1)),  # a falling pair: the line's slope is held at 0 (c >= 0)
]


@pytest.mark.parametrize(("degrees", "sync"), CASES)
def test_measured_degrees_keep_their_measured_sync(
    degrees: tuple[int, ...], sync: tuple[float, ...]
) -> None:
    n = np.array(degrees)
    stats = StepStats(replicas=n, nodes=np.ceil(n / 4).astype(np.int64),
                      batch=np.full(n.size, 32.0), compute_s=np.full(n.size, 0.1),
                      sync_s=np.array(sync))
    model = StepModel(stats, np.full(n.size, 0.01), 4, "per-worker")
    pred = model.predict(n.astype(float))
    np.testing.assert_allclose(pred.sync_s, sync, rtol=1e-12)
    np.testing.assert_allclose(pred.sync_sd_s, np.array(sync) * 0.01, rtol=1e-12)
    np.testing.assert_allclose(pred.throughput_sps, n * 32.0 / (0.1 + np.array(sync)),
                               rtol=1e-12)
    # Unmeasured degrees still come from the line, with at least the floor's doubt.
    others = np.array([m for m in range(2, 17) if m not in degrees], dtype=float)
    rest = model.predict(others)
    assert np.all(rest.sync_sd_s >= 0.4 * rest.sync_s - 1e-12)
