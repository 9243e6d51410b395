"""The example loads its checkpoint with ``weights_only=True``: a checkpoint file someone else
wrote cannot run code when the job resumes, and a real checkpoint still round-trips."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

from tests.local.conftest import EXAMPLE


def _example() -> ModuleType:
    pytest.importorskip("torch", reason="the 'train' extra (torch) is not installed")
    spec = importlib.util.spec_from_file_location("train_elastic_under_test", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Payload:
    """Unpickling this runs ``os.system``: what a poisoned checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_a_poisoned_checkpoint_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    import torch

    ex = _example()
    marker, ckpt = tmp_path / "pwned", tmp_path / "ckpt.pt"
    torch.save({"model": {}, "optimizer": {}, "step": 3, "x": _Payload(marker)}, ckpt)
    model = ex.build_model(8)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(Exception, match="Weights only load failed"):
        ex.load_checkpoint(ckpt, model, opt)
    assert not marker.exists()


def test_a_real_checkpoint_round_trips_with_weights_only(tmp_path: Path) -> None:
    import torch

    ex = _example()
    model = ex.build_model(8)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 8)).sum().backward()
    opt.step()  # momentum buffers exist: the optimizer state is not empty
    ex.save_checkpoint(tmp_path / "c.pt", model, opt, 7, 256, 2)
    fresh = ex.build_model(8)
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    assert ex.load_checkpoint(tmp_path / "c.pt", fresh, fresh_opt) == 7
    pairs = zip(model.parameters(), fresh.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
