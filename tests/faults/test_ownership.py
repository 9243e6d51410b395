"""Local mode owns its processes, without torch: the watchdog ends a job whose controller was
SIGKILLed, the run lock refuses a second run of the same job in one line, torchrun's failure
table becomes "worker rank R was killed by SIGKILL", and ``python -c`` gets a command line
torchrun accepts."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from autoscaler.actuators import runlock
from autoscaler.actuators.processes import TAG_VARIABLE, end_tagged, tagged_pids
from autoscaler.actuators.torchrun_cmd import (
    AGENT_SCRIPT,
    failure_cause,
    gate_supported,
    torchrun_argv,
    worker_output_tail,
)
from autoscaler.cli import main

REPO = Path(__file__).resolve().parents[2]


def _wait_present(tag: str, count: int, timeout_s: float) -> list[int]:
    """Poll until ``count`` tagged processes show: a process just past ``execve`` shows an
    empty ``/proc/<pid>/environ`` until the kernel has laid out its new stack, although
    ``Popen`` in its parent has already returned (a loaded CI machine hit that window)."""
    deadline = time.monotonic() + timeout_s
    while len(found := tagged_pids(tag)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _wait_gone(tag: str, timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (left := tagged_pids(tag)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_watchdog_ends_the_job_when_its_controller_is_sigkilled(tmp_path: Path) -> None:
    """A stand-in controller starts the watchdog and a tagged 'worker' in a session of its own
    (as torchrun does), then dies by SIGKILL: the worker must not outlive it."""
    tag = uuid.uuid4().hex
    controller = textwrap.dedent(f"""
        import os, subprocess, sys, time
        from pathlib import Path
        from autoscaler.actuators.owned import Watchdog
        w = Watchdog(); w.start({tag!r}, 5.0, (), Path({str(tmp_path / "run")!r}))
        subprocess.Popen(["sleep", "60"], env={{**os.environ, {TAG_VARIABLE!r}: {tag!r}}},
                         start_new_session=True)
        print("ready", flush=True); time.sleep(60)
    """)
    (tmp_path / "run").mkdir()
    proc = subprocess.Popen([sys.executable, "-c", controller], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert len(_wait_present(tag, 1, 10.0)) == 1
        proc.kill()
        proc.wait()
        assert _wait_gone(tag, 10.0) == []
        deadline = time.monotonic() + 5
        while (tmp_path / "run").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not (tmp_path / "run").exists()  # the private run directory is removed
    finally:
        proc.kill()
        end_tagged(tag, 0.1)


def test_watchdog_told_done_leaves_everything_alone(tmp_path: Path) -> None:
    from autoscaler.actuators.owned import Watchdog

    tag = uuid.uuid4().hex
    sleeper = subprocess.Popen(["sleep", "30"], env={**os.environ, TAG_VARIABLE: tag})
    try:
        w = Watchdog()
        w.start(tag, 1.0, (), tmp_path)
        w.done()
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.fixture
def private_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "rt"
    monkeypatch.setenv(runlock.RUNTIME_DIR_VARIABLE, str(base))
    return base


def test_a_second_run_of_the_same_job_is_refused_naming_the_holder(private_base: Path) -> None:
    cmd = ["python", "train.py", "--checkpoint", "ckpt.pt"]
    first = runlock.acquire(runlock.lock_keys(cmd, Path("/w"), None))
    try:
        with pytest.raises(runlock.RunLocked, match=rf"\(pid {os.getpid()}\) is using"):
            runlock.acquire(runlock.lock_keys(cmd, Path("/w"), None))
        # other flags, same checkpoint: still the same job's files
        other = ["python", "train.py", "--lr", "2", "--checkpoint=ckpt.pt"]
        with pytest.raises(runlock.RunLocked, match=r"--checkpoint /w/ckpt\.pt"):
            runlock.acquire(runlock.lock_keys(other, Path("/w"), None))
        # another checkpoint in another directory: a different job
        runlock.acquire(runlock.lock_keys(["python", "train.py", "--ckpt", "b.pt"],
                                          Path("/x"), None)).release()  # fmt: skip
    finally:
        first.release()
    runlock.acquire(runlock.lock_keys(cmd, Path("/w"), None)).release()  # free again
    assert (os.stat(private_base).st_mode & 0o777) == 0o700


def test_a_shared_runtime_directory_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(runlock.ActuatorError, match="not a directory owned by this user"):
        runlock.private_dir(link)


def test_cli_refuses_a_locked_run_with_one_line_and_exit_2(
    private_base: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    cmd = [sys.executable, "examples/train_elastic.py", "--checkpoint", "x.pt"]
    held = runlock.acquire(runlock.lock_keys(cmd, REPO, None))
    try:
        assert main(["local", "--no-live", "--", *cmd]) == 2
    finally:
        held.release()
    err = capsys.readouterr().err.strip()
    assert "another energy-autoscaler local run" in err and len(err.splitlines()) == 1


FAILURE_TABLE = """\
[rank1]: ...
W0101 torch/distributed/elastic/multiprocessing/api.py:900] Sending process 12 signal SIGTERM
E0101 torch/distributed/elastic/multiprocessing/api.py:874] failed (exitcode: -9) local_rank: 1
Traceback (most recent call last):
  File ".../torch/distributed/run.py", line 9, in main
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
train.py FAILED
------------------------------------------------------------
Failures:
[1]:
  time      : 2026-01-01_00:00:00
  host      : vm
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 12)
  error_file: <N/A>
  traceback : Signal 15 (SIGTERM) received by PID 12
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-01-01_00:00:00
  host      : vm
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 13)
  error_file: <N/A>
  traceback : Signal 9 (SIGKILL) received by PID 13
============================================================
"""


def test_a_workers_sigkill_is_said_first_in_words() -> None:
    cause = failure_cause(FAILURE_TABLE)
    assert cause == "worker rank 1 was killed by SIGKILL"  # torchrun's own SIGTERM: no news
    assert failure_cause(FAILURE_TABLE.replace("-9 (pid", "3 (pid")) is not None
    assert "exited with code 3" in str(failure_cause(FAILURE_TABLE.replace("-9 (pid", "3 (pid")))
    assert failure_cause("Traceback: ValueError in my script") is None


@pytest.mark.parametrize(
    ("command", "tail", "no_python"),
    [
        (["python", "-c", "print(1)", "a"], ["python", "-c", "print(1)", "a"], True),
        (["python3", "-u", "train.py"], ["python3", "-u", "train.py"], True),
        (["python", "train.py", "--x"], ["train.py", "--x"], False),
        (["python", "-m", "pkg.train"], ["-m", "pkg.train"], False),
    ],
)
def test_python_dash_c_and_interpreter_options_get_a_command_line_torchrun_accepts(
    command: list[str], tail: list[str], no_python: bool
) -> None:
    argv = torchrun_argv(command, 2, 29500, "job")
    assert argv[-len(tail) :] == tail
    assert ("--no-python" in argv) is no_python
    assert argv[argv.index("--local-addr") + 1] == "127.0.0.1"
    assert argv[1].endswith("autoscaler/actuators/agent.py")


def test_overlapped_restarts_run_dash_c_under_the_gated_launcher() -> None:
    assert gate_supported(["python", "-c", "x"]) and not gate_supported(["python", "-u", "t.py"])
    argv = torchrun_argv(["python", "-c", "print(1)"], 2, 1, "j", gate=Path("/t/g"))
    assert argv[-5:] == ["-m", "autoscaler.actuators.prestart", "/t/g", "-c", "print(1)"]


def test_prestart_runs_dash_c_code_after_the_gate(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    out = subprocess.run(
        [sys.executable, "-m", "autoscaler.actuators.prestart", str(gate), "-c",
         "import sys; print('ran', __name__, sys.argv)", "a", "b"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "LOCAL_RANK": "0"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ran __main__ ['-c', 'a', 'b']"


def test_the_agents_own_traceback_is_cut_from_the_workers_tail() -> None:
    log = (
        "train: my script failed here\n"
        "Traceback (most recent call last):\n"
        f'  File "{AGENT_SCRIPT}", line 86, in <module>\n'
        "    main()\n" + FAILURE_TABLE
    )
    assert worker_output_tail(log) == "train: my script failed here"
