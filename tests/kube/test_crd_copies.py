"""The tests' copy of the real CRDs is the shared one, unmodified (where the shared one exists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler.testing.crdschema import load_crds

COPY = Path(__file__).parent / "crds"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "kube" / "crds"


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/kube/crds beside this checkout")
def test_the_copy_is_the_shared_crds_unmodified() -> None:
    shared = sorted(p.name for p in SHARED.glob("*.yaml"))
    assert shared == sorted(p.name for p in COPY.glob("*.yaml"))
    for name in shared:
        assert (COPY / name).read_bytes() == (SHARED / name).read_bytes(), name


def test_the_copy_holds_every_kind_the_fake_checks() -> None:
    kinds = load_crds(str(COPY))
    assert {("kubeflow.org", "pytorchjobs"), ("batch.volcano.sh", "jobs"),
            ("ray.io", "rayclusters"), ("jobset.x-k8s.io", "jobsets"),
            ("trainer.kubeflow.org", "trainjobs")} <= set(kinds)
