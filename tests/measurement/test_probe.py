"""``energy-autoscaler probe``: each source available or not and why, a labelled reading from each
that works, exit 0 when one does; user mistakes exit 2 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoscaler.cli import main

from .conftest import write_rapl_zone


def _probe(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["probe", "--duration-s", "0.2", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_probe_json_reports_every_source_and_an_estimate_reading(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc, out, _ = _probe(capsys, "--json", "--powercap-root", str(tmp_path / "none"))
    doc = json.loads(out)
    by_name = {s["name"]: s for s in doc["sources"]}
    assert set(by_name) == {"NVML", "RAPL", "estimate"}
    assert rc == 0 and doc["ok"] is True
    assert not by_name["RAPL"]["available"]
    assert "no powercap tree" in by_name["RAPL"]["reason"]
    (reading,) = by_name["estimate"]["readings"]
    assert reading["source"] == "estimate"
    assert reading["power_w"] > 0  # the probe keeps a core busy while it reads
    if not by_name["NVML"]["available"]:
        assert by_name["NVML"]["reason"].startswith("NVML: ")


def test_probe_reads_rapl_from_a_powercap_tree_with_its_label(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1000)
    rc, out, _ = _probe(capsys, "--json", "--powercap-root", str(tmp_path))
    rapl = next(s for s in json.loads(out)["sources"] if s["name"] == "RAPL")
    assert rc == 0
    assert rapl["available"]
    assert [r["source"] for r in rapl["readings"]] == ["rapl"]


def test_probe_text_output_says_why_a_source_is_unavailable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc, out, _ = _probe(capsys, "--powercap-root", str(tmp_path / "none"))
    assert rc == 0
    assert "RAPL: no powercap tree" in out
    assert "[source=estimate]" in out


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--duration-s", "0"), {}, "--duration-s must be positive"),
        (("--watts-per-core", "-2"), {}, "--watts-per-core must be positive"),
        ((), {"EA_WATTS_PER_CORE": "lots"}, "EA_WATTS_PER_CORE"),
    ],
)
def test_probe_user_mistakes_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    message: str,
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(["probe", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
