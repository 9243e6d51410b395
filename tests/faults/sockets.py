"""Which TCP ports a set of processes listens on, and on which address: read from ``/proc``
(no psutil). The loopback tests use it to prove that nothing a local run opens listens on
``0.0.0.0`` or ``::``."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path

_LISTEN = "0A"


def _addr(hex_addr: str) -> str:
    """``/proc/net/tcp*`` address (little-endian 32-bit words) → text."""
    raw = bytes.fromhex(hex_addr)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def _listening_by_inode() -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] != _LISTEN:
                continue
            host, port = cols[1].split(":")
            found[cols[9]] = (_addr(host), int(port, 16))
    return found


def listening(pids: Iterable[int]) -> list[tuple[int, str, int]]:
    """``(pid, address, port)`` for every listening TCP socket the given processes hold."""
    by_inode = _listening_by_inode()
    out = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = target[len("socket:[") : -1]
                if inode in by_inode:
                    out.append((pid, *by_inode[inode]))
    return sorted(set(out))
