"""The host's static power (issue 13): parsed with units, charged once per window whatever the
degree, labelled as part of the estimate; and the training command's bare ``python`` runs with
the autoscaler's own interpreter."""

from __future__ import annotations

import argparse
import math
import sys

import pytest

from autoscaler.cli import local as local_cli
from autoscaler.cli import main
from autoscaler.cli.train_command import with_this_python
from autoscaler.decision.types import Quality, Window
from autoscaler.runtime.local.static_power import (
    parse_power_w,
    source_label,
    static_power_setting,
    with_static_power,
)


@pytest.mark.parametrize(
    ("text", "watts"), [("30W", 30.0), ("30", 30.0), ("0.2kW", 200.0), (" 12.5 W ", 12.5), ("0", 0)]
)
def test_power_parses_with_units(text: str, watts: float) -> None:
    assert parse_power_w(text) == pytest.approx(watts)


@pytest.mark.parametrize("text", ["-5W", "30 J", "thirty", "nan", "inf", "1e9W", "30w", ""])
def test_bad_powers_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_power_w(text)


def test_flag_wins_over_the_environment_which_wins_over_nothing() -> None:
    assert static_power_setting("40W", {"EA_STATIC_POWER": "10W"}) == 40.0
    assert static_power_setting(None, {"EA_STATIC_POWER": "10W"}) == 10.0
    assert static_power_setting(None, {}) == 0.0
    with pytest.raises(ValueError, match=r"\$EA_STATIC_POWER"):
        static_power_setting(None, {"EA_STATIC_POWER": "lots"})


def _win(n: int, source: str = "estimate", energy: float = 40.0) -> Window:
    return Window(0.0, 4.0, n, 1000.0, energy / 4, energy, 4000.0, source, Quality.OK)


def test_static_power_is_charged_once_per_window_not_per_worker() -> None:
    for n in (1, 2, 8):
        w = with_static_power(_win(n), 30.0)
        assert w.energy_j == pytest.approx(40.0 + 30.0 * 4.0)
        assert w.power_w == pytest.approx(10.0 + 30.0)
        assert w.source == "estimate"


def test_static_power_makes_a_measured_source_part_estimate_and_skips_unusable_windows() -> None:
    assert with_static_power(_win(1, "rapl"), 30.0).source == "rapl+estimate"
    broken = _win(1, energy=math.nan)
    assert with_static_power(broken, 30.0) is broken
    assert with_static_power(_win(1), 0.0) == _win(1)


def test_text_label_names_the_static_share() -> None:
    assert source_label("estimate", 30) == "estimate(static 30 W)"
    assert source_label("rapl", 30) == "rapl+estimate(static 30 W)"
    assert source_label("nvml", 0) == "nvml"


def test_bad_static_power_flag_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "--static-power", "lots", "--", sys.executable, "x.py"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--static-power" in err


@pytest.mark.parametrize(
    ("command", "first"),
    [
        (["python", "train.py"], sys.executable),
        (["python3", "-m", "pkg"], sys.executable),
        (["/usr/bin/python3", "train.py"], "/usr/bin/python3"),  # a path is the user's choice
        (["python3.7", "train.py"], "python3.7"),  # another version too
        (["./train.sh"], "./train.sh"),
    ],
)
def test_a_bare_python_is_the_autoscalers_interpreter(command: list[str], first: str) -> None:
    assert with_this_python(command)[0] == first


def test_local_hands_torchrun_this_interpreter(tmp_path: object) -> None:
    parser = argparse.ArgumentParser()
    local_cli.add_arguments(parser)
    args = parser.parse_args(["--static-power", "25W", "--", "python", "examples/x.py"])
    settings = local_cli.settings_from_args(args)
    assert settings.command == (sys.executable, "examples/x.py")
    assert settings.static_power_w == 25.0


def test_probe_shows_the_static_power_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EA_STATIC_POWER", "30W")
    assert main(["probe", "--duration-s", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "static    set" in out and "30 W of host static power" in out
    monkeypatch.delenv("EA_STATIC_POWER")
    assert main(["probe", "--duration-s", "0.05"]) == 0
    assert "fewest workers by construction" in capsys.readouterr().out
