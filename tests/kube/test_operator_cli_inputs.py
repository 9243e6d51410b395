"""The operator's command line and settings file: durations through the one parser, and a
broken kubeconfig reported as what it is (one line, exit 2), not as an HTTP error."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler.cli import main
from autoscaler.errors import AutoscalerError
from autoscaler.kube.client import KubeClient
from autoscaler.kube.errors import KubeApiError, KubeConfigError
from autoscaler.runtime.operator.settings import SettingsError, load_settings


@pytest.mark.parametrize(("given", "seconds"), [
    (45, 45.0), ("45", 45.0), ("30s", 30.0), ("2m", 120.0), ("1h30m", 5400.0), (2.5, 2.5),
])
def test_the_interval_is_a_duration_in_flags_and_files(given: object, seconds: float,
                                                       tmp_path: Path) -> None:
    assert load_settings(None, {"interval_s": given}).interval_s == seconds
    path = tmp_path / "settings.yaml"
    path.write_text(f"interval_s: {given}\ncheckpoint_every_s: 10m\n")
    loaded = load_settings(str(path), {})
    assert (loaded.interval_s, loaded.checkpoint_every_s) == (seconds, 600.0)


@pytest.mark.parametrize("given", ["2x", "-5s", "soon", "0"])
def test_a_bad_duration_is_one_settings_error(given: str) -> None:
    with pytest.raises(SettingsError, match="interval_s"):
        load_settings(None, {"interval_s": given})


def test_a_broken_kubeconfig_is_a_config_error_not_an_http_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("this: [is not a kubeconfig")
    with pytest.raises(KubeConfigError) as caught:
        KubeClient.from_config(str(path))
    assert not isinstance(caught.value, KubeApiError)
    assert isinstance(caught.value, AutoscalerError) and not caught.value.temporary
    assert "HTTP" not in str(caught.value)


def test_the_operator_says_so_in_one_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["operator", "--kubeconfig", str(tmp_path / "missing"), "--interval", "1m"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "cannot load credentials" in err and "HTTP" not in err
