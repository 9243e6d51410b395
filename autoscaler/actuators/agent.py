"""torchrun's agent as local mode runs it: dies with its controller, listens on loopback only.

Run as a *script path* (``python .../agent.py TORCHRUN_ARGS...``), not as a module, so that it
works under any python that has torch, even one that cannot import ``autoscaler``: it imports
only the standard library and torch. Two things differ from plain ``torchrun``:

- **Parent death.** ``prctl(PR_SET_PDEATHSIG, SIGTERM)``: when the controller dies (even by
  SIGKILL) the kernel sends this agent SIGTERM, and torchrun's own handling then stops its
  workers (SIGTERM to each worker's process group, SIGKILL after 30 s). The watchdog
  (:mod:`autoscaler.actuators.watchdog`) covers the case where the agent dies too. The
  controller's pid travels in ``EA_CONTROLLER_PID``: if it died before the ``prctl``, the
  agent stops at once.
- **Loopback stores.** torch's ``TCPStore`` server listens on every interface (``::``) whatever
  host it is given: both the c10d rendezvous store and the store shared with the workers
  (``MASTER_ADDR``/``MASTER_PORT``). Here both are handed a listening socket bound to
  127.0.0.1 (``master_listen_fd``), so nothing but local processes can reach them. Together
  with ``--local-addr 127.0.0.1`` and ``GLOO_SOCKET_IFNAME=lo`` (set by the actuator), nothing
  the job opens listens beyond loopback.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1
_LOOPBACK = "127.0.0.1"


def die_with_parent(expected_parent: int | None) -> None:
    """Ask the kernel for SIGTERM when the parent dies; stop now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the watchdog still covers it
        return
    if expected_parent is not None and os.getppid() != expected_parent:
        os.kill(os.getpid(), signal.SIGTERM)


def loopback_listener(port: int) -> tuple[int, int]:
    """A listening socket on 127.0.0.1:``port`` (0: any); returns (fd, port). The fd is the
    store's from now on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((_LOOPBACK, port))
    sock.listen(128)
    bound = int(sock.getsockname()[1])
    return sock.detach(), bound


def _patch_stores() -> None:
    from torch.distributed import TCPStore  # type: ignore[attr-defined]
    from torch.distributed.elastic.rendezvous import c10d_rendezvous_backend, dynamic_rendezvous

    def store(host_name: str, port: int, *args: Any, **kwargs: Any) -> TCPStore:
        is_master = kwargs.get("is_master", args[1] if len(args) > 1 else False)
        if is_master and kwargs.get("master_listen_fd") is None:
            kwargs["master_listen_fd"], port = loopback_listener(port)
        return TCPStore(host_name, port, *args, **kwargs)

    def shared_server(self: Any, master_addr: str, master_port: int) -> TCPStore:
        return store(master_addr, master_port, is_master=True, multi_tenant=True)

    c10d_rendezvous_backend.TCPStore = store  # type: ignore[attr-defined,assignment]
    dynamic_rendezvous.DynamicRendezvousHandler._create_tcp_store_server = shared_server  # type: ignore[method-assign]


def main() -> None:
    if sys.path and os.path.dirname(os.path.abspath(__file__)) == os.path.abspath(sys.path[0]):
        del sys.path[0]  # this script's folder holds modules named like others (base, torchrun)
    parent = os.environ.get("EA_CONTROLLER_PID", "")
    die_with_parent(int(parent) if parent.isdigit() else None)
    _patch_stores()
    from torch.distributed.run import main as torchrun_main

    sys.argv[0] = "torchrun"
    torchrun_main()


if __name__ == "__main__":
    main()
