"""Private run directories and the lock that keeps two local runs off one job's files.

Why a lock: a rerun of ``energy-autoscaler local`` while an earlier run of the same job still
trains (a controller killed with -9 used to leave its workers running) makes two jobs train the
same steps into one checkpoint. So a run takes an exclusive ``fcntl.flock`` for each thing that
identifies the job's files, before it starts anything:

- the training command in this working directory (same argv, same cwd);
- every path the command names with a checkpoint-like flag (``--checkpoint``, ``--ckpt``,
  ``--output-dir``, ``--save-dir``, ``--run-dir`` and their ``_``/``=`` spellings), resolved,
  so a rerun with other flags but the same checkpoint is refused too;
- the report directory.

A second run that finds one held is refused in one line (exit 2), naming the pid that holds it.
The lock files live in a private per-user directory (mode 0700, owned by this user, not a
symlink: checked, since ``/tmp`` is shared), each holding the holder's pid. ``flock`` is
released by the kernel when its last holder exits, so a crash never leaves a stale lock; the
watchdog (:mod:`autoscaler.actuators.watchdog`) inherits the lock's descriptors, so the lock is
held until the job's last process is gone, not only until the controller died.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autoscaler.actuators.base import ActuatorError

RUNTIME_DIR_VARIABLE = "EA_LOCAL_RUNTIME_DIR"  # override of the private base directory
_CHECKPOINT_FLAG = re.compile(r"^--?(checkpoint|ckpt|output|save|run)([-_].*)?$|^--?resume$")


class RunLocked(ActuatorError):
    """Another live run holds one of this run's locks; the message says which and its pid."""


def runtime_base() -> Path:
    """This user's private directory for local runs: ``$EA_LOCAL_RUNTIME_DIR``, else
    ``$XDG_RUNTIME_DIR/energy-autoscaler``, else ``<tmp>/energy-autoscaler-<uid>``. Created
    0700; refused unless it is a real directory owned by this user and closed to others."""
    explicit = os.environ.get(RUNTIME_DIR_VARIABLE)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if explicit:
        base = Path(explicit)
    elif xdg and Path(xdg).is_dir():
        base = Path(xdg) / "energy-autoscaler"
    else:
        base = Path(tempfile.gettempdir()) / f"energy-autoscaler-{os.getuid()}"
    return private_dir(base)


def private_dir(path: Path) -> Path:
    """``path`` as a directory only this user can enter (created 0700 if missing)."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=False)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise ActuatorError(f"{path} is not a directory owned by this user; refusing to use it")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def lock_keys(command: Sequence[str], cwd: Path, report_dir: Path | None) -> dict[str, str]:
    """What identifies this run's files: ``{key: what a user reads in the refusal}``."""
    keys = {"cmd:" + str(cwd.resolve()) + "\0" + "\0".join(command): f"the same command in {cwd}"}
    args = list(command)
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if not _CHECKPOINT_FLAG.match(flag):
            continue
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("-"):
                continue
            value = args[i + 1]
        path = (cwd / value).resolve()
        keys["path:" + str(path)] = f"{flag} {path}"
    if report_dir is not None:
        path = (cwd / report_dir).resolve()
        keys["path:" + str(path)] = f"the report directory {path}"
    return keys


@dataclass
class RunLock:
    """Held locks (one open descriptor each). ``fds`` go to the watchdog."""

    fds: list[int] = field(default_factory=list)

    def release(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []


def acquire(keys: dict[str, str], base: Path | None = None) -> RunLock:
    """Take every lock or none; raises :class:`RunLocked` naming the holder's pid."""
    directory = private_dir((base or runtime_base()) / "locks")
    lock = RunLock()
    try:
        for key, what in keys.items():
            name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock"
            fd = os.open(directory / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise RunLocked(
                    f"another energy-autoscaler local run (pid {holder}) is using {what}; "
                    "stop it first (or give this run other files)"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            lock.fds.append(fd)
    except BaseException:
        lock.release()
        raise
    return lock
