"""The command-line dispatcher: help works without heavy imports, bad usage exits 2."""

from __future__ import annotations

import subprocess
import sys

from autoscaler.cli import SUBCOMMANDS, main


def test_help_lists_every_subcommand(capsys: object) -> None:
    try:
        main(["--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    for name in SUBCOMMANDS:
        assert name in out


def test_no_subcommand_prints_help_and_exits_2() -> None:
    assert main([]) == 2


def test_help_does_not_import_torch_scipy_or_kubernetes() -> None:
    code = (
        "import sys; from autoscaler.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'scipy', 'kubernetes', 'kopf') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_output_cut_short_by_a_closed_pipe_is_not_a_traceback() -> None:
    # `energy-autoscaler probe --json | head`: here the reader (`true`) is gone before the
    # probe's first write, so the write always meets a closed pipe.
    cmd = f"{sys.executable} -m autoscaler probe --json --duration-s 0.1 | true"
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in out.stderr, out.stderr
