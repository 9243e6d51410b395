"""The reporter's settings, read from the environment a launcher (torchrun, a pod spec) sets.

Environment variables (all optional):

==================  ============================================================================
EA_METRICS_PORT     base port of the ``/metrics`` endpoint; the worker binds base + LOCAL_RANK so
                    torchrun's workers on one host do not collide. 0 or unset: no endpoint.
EA_METRICS_ADDR     bind address (default ``0.0.0.0``: pods are scraped by IP)
EA_JOB              the job's name, exported as label ``ea_job``
RANK, LOCAL_RANK    set by torchrun; RANK becomes label ``rank``
WORLD_SIZE          set by torchrun; exported as ``ea_world_size``
EA_WATTS_PER_CORE   watts per fully busy core for the CPU-time estimate (default 10)
EA_ENERGY_SOURCES   ``auto`` (default: NVML GPUs + RAPL, else estimate for the CPU) or a comma
                    list of ``nvml``, ``rapl``, ``estimate``
EA_POWERCAP_ROOT    powercap root for RAPL (default ``/sys/class/powercap``)
EA_RUN_TOKEN        per-run secret (local mode): each scrape's nonce is answered with an HMAC
                    proof (``autoscaler.worker.serve``). Unset: plain exposition, as before
EA_METRICS_PORT_DIR a private directory (local mode): the worker writes the port it bound to
                    ``rank-<LOCAL_RANK>.port`` there and its final sample count to
                    ``rank-<LOCAL_RANK>.final`` on close. Set, a taken port is not fatal: the
                    worker binds an ephemeral port instead and says so in that file
==================  ============================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from autoscaler.errors import PermanentError
from autoscaler.worker.estimate import DEFAULT_WATTS_PER_CORE

KNOWN_SOURCES = ("nvml", "rapl", "estimate")


class ReporterConfigError(ValueError, PermanentError):
    """A reporter environment variable has a value we cannot use; the message names it."""


@dataclass(frozen=True)
class ReporterConfig:
    port: int = 0
    addr: str = "0.0.0.0"
    job: str = ""
    rank: int = 0
    world_size: int = 1
    watts_per_core: float = DEFAULT_WATTS_PER_CORE
    energy_sources: tuple[str, ...] = ()  # empty = auto
    powercap_root: str = "/sys/class/powercap"
    cuda_visible_devices: str | None = None
    local_rank: int = 0
    token: str = field(default="", repr=False)  # never printed
    port_dir: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReporterConfig:
        e = os.environ if env is None else env
        base_port = _int(e, "EA_METRICS_PORT", 0)
        local_rank = _int(e, "LOCAL_RANK", 0)
        if not 0 <= base_port <= 65535:
            raise ReporterConfigError(f"EA_METRICS_PORT must be 0..65535, got {base_port}")
        port = base_port + local_rank if base_port else 0
        wpc_raw = e.get("EA_WATTS_PER_CORE", "")
        try:
            wpc = float(wpc_raw) if wpc_raw.strip() else DEFAULT_WATTS_PER_CORE
        except ValueError:
            raise ReporterConfigError(
                f"EA_WATTS_PER_CORE must be a number of watts, got {wpc_raw!r}"
            ) from None
        if not wpc > 0 or wpc == float("inf"):
            raise ReporterConfigError(f"EA_WATTS_PER_CORE must be positive, got {wpc_raw!r}")
        raw_sources = e.get("EA_ENERGY_SOURCES", "auto").strip().lower()
        sources: tuple[str, ...] = ()
        if raw_sources not in ("", "auto"):
            sources = tuple(s.strip() for s in raw_sources.split(",") if s.strip())
            bad = [s for s in sources if s not in KNOWN_SOURCES]
            if bad:
                raise ReporterConfigError(
                    f"EA_ENERGY_SOURCES: unknown source {bad[0]!r} "
                    f"(use auto or a comma list of {', '.join(KNOWN_SOURCES)})"
                )
        return cls(
            port=port,
            addr=e.get("EA_METRICS_ADDR", "0.0.0.0") or "0.0.0.0",
            job=e.get("EA_JOB", ""),
            rank=_int(e, "RANK", 0),
            world_size=max(1, _int(e, "WORLD_SIZE", 1)),
            watts_per_core=wpc,
            energy_sources=sources,
            powercap_root=e.get("EA_POWERCAP_ROOT", "/sys/class/powercap"),
            cuda_visible_devices=e.get("CUDA_VISIBLE_DEVICES"),
            local_rank=local_rank,
            token=e.get("EA_RUN_TOKEN", ""),
            port_dir=e.get("EA_METRICS_PORT_DIR", ""),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ReporterConfigError(f"{name} must be an integer, got {raw!r}") from None
