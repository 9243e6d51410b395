"""Pure pieces of local mode: the torchrun command line and the live view's text."""

from __future__ import annotations

import io
import sys

from autoscaler.actuators.torchrun_cmd import torchrun_argv
from autoscaler.decision.types import Decision, DegreePrediction, Reason, Window
from autoscaler.runtime.local.view import LiveView, ViewState, decision_line, render_table


def test_python_commands_run_under_that_interpreters_torchrun() -> None:
    argv = torchrun_argv(["/venv/bin/python3", "train.py", "--lr", "1"], 3, 29500, "job")
    assert argv[0] == "/venv/bin/python3"
    assert argv[1].endswith("autoscaler/actuators/agent.py")  # torchrun, owned by local mode
    assert argv[argv.index("--nproc-per-node") + 1] == "3"
    assert argv[argv.index("--rdzv-endpoint") + 1] == "127.0.0.1:29500"
    assert argv[argv.index("--rdzv-backend") + 1] == "c10d"
    assert "--no-python" not in argv
    assert argv[-3:] == ["train.py", "--lr", "1"]


def test_overlapped_starts_run_python_commands_under_the_gated_launcher() -> None:
    from pathlib import Path

    argv = torchrun_argv(["python", "train.py", "--x"], 2, 1, "j", gate=Path("/t/gate-2"))
    assert argv[-5:] == ["-m", "autoscaler.actuators.prestart", "/t/gate-2", "train.py", "--x"]
    module = torchrun_argv(["python", "-m", "pkg.train"], 2, 1, "j", gate=Path("/t/g"))
    assert module[-5:] == ["-m", "autoscaler.actuators.prestart", "/t/g", "-m", "pkg.train"]


def test_module_commands_keep_dash_m_and_other_programs_get_no_python() -> None:
    assert torchrun_argv(["python", "-m", "pkg.train"], 1, 1, "j")[-2:] == ["-m", "pkg.train"]
    argv = torchrun_argv(["./train.sh", "x"], 2, 1, "j")
    assert argv[0] == sys.executable and argv[-3:] == ["--no-python", "./train.sh", "x"]


def _state(dry_run: bool) -> ViewState:
    preds = (
        DegreePrediction(1, 1000.0, 10.0, 0.01, 0.001, True),
        DegreePrediction(2, 1400.0, 20.0, 0.0143, 0.002, False),
    )
    d = Decision(
        50.0, 1, 2, Reason.EXPLORE, "measuring 2 could change the decision", predictions=preds
    )
    w = Window(40.0, 50.0, 1, 1000.0, 10.0, 100.0, 10_000.0, "rapl+estimate")
    return ViewState(50.0, 1, 12_345.0, 100_000.0, w, d, dry_run)


def test_live_table_shows_degree_power_source_predictions_and_reason() -> None:
    text = render_table(_state(dry_run=False))
    assert "degree 1" in text and "12,345 / 100,000 (12%)" in text
    assert "(rapl+estimate)" in text and "10.000 mJ/sample" in text
    assert "1,400" in text and "fitted" in text and "measured" in text
    assert "decision: 2 worker(s) — Explore" in text


def test_plain_line_per_decision_says_recommend_in_dry_run() -> None:
    line = decision_line(_state(dry_run=True))
    assert "\n" not in line
    assert "power=10.0W[rapl+estimate]" in line and "recommend=2 Explore" in line


def test_view_prints_one_line_per_decision_when_not_a_terminal() -> None:
    out = io.StringIO()
    view = LiveView(out)  # StringIO is not a TTY
    view.show(_state(False), new_decision=False)
    view.show(_state(False), new_decision=True)
    assert not view.live and len(out.getvalue().splitlines()) == 1
    assert "\x1b" not in out.getvalue()


TORCHRUN_CRASH_LOG = """\
$ python -m torch.distributed.run --nproc-per-node 2 train.py
/venv/torch/cuda/__init__.py:64: FutureWarning: The pynvml package is deprecated.
  import pynvml  # type: ignore[import]
*****************************************
Setting OMP_NUM_THREADS environment variable for each process to be 1 in default
*****************************************
my_script: cannot open data/train.bin
W1126 22:07:30.029000 18387 torch/distributed/elastic/multiprocessing/api.py:1028] Sending 18401
Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "<frozen runpy>", line 88, in _run_code
  File "/venv/torch/distributed/run.py", line 1032, in <module>
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
  exitcode  : 1 (pid: 18402)
"""


def test_crash_tail_shows_the_scripts_error_not_torchruns_summary() -> None:
    from autoscaler.actuators.torchrun_cmd import worker_output_tail

    assert worker_output_tail(TORCHRUN_CRASH_LOG) == "my_script: cannot open data/train.bin"
    # a log without torchrun's summary keeps its last lines as they are
    assert worker_output_tail("a\nb\nc", lines=2) == "b\nc"
