"""``energy-autoscaler operator`` without the ``kube`` extra (issue 11, item 6): the Kubernetes
client is an optional dependency, so a user who installed only the base package must be told in
one line how to get it, with exit status 2, not shown a ModuleNotFoundError traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# ``None`` in sys.modules makes every ``import kubernetes`` (and ``from kubernetes import x``)
# raise ModuleNotFoundError, exactly as when the package is not installed.
WITHOUT_KUBE = (
    "import sys; sys.modules['kubernetes'] = None; "
    "from autoscaler.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.parametrize("argv", [
    ["operator"],
    ["operator", "--kubeconfig", "/nonexistent/kubeconfig", "--dry-run", "--metrics-port", "0"],
])
def test_operator_without_the_kube_extra_says_how_to_install_it(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", WITHOUT_KUBE, *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("energy-autoscaler operator: error: ")
    assert "pip install 'energy-autoscaler[kube]'" in line
    assert proc.stdout == ""
