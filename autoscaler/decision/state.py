"""Checkpoint format of a controller's learned state (after VPA's versioned checkpoints).

Version 1 is a JSON object::

    {"version": 1, "windows": [<window>...], "newest": <window> | null,
     "last_resize_s": float | null, "last_resize_replicas": int | null,
     "drift_at_s": float | null, "discarded": {"warmup": int, ...}}

where a window is an object with the :class:`~autoscaler.decision.types.Window` fields
(``quality`` as its string value). Fits are not stored: they are recomputed from the windows.
An unknown version is refused with ValueError rather than misread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from autoscaler.decision.types import Quality, Window

STATE_VERSION = 1


@dataclass(frozen=True)
class LoadedState:
    windows: list[Window]
    newest: Window | None
    last_resize_s: float | None
    last_resize_replicas: int | None
    drift_at_s: float | None
    discarded: dict[str, int]


def window_to_dict(window: Window) -> dict[str, Any]:
    data = asdict(window)
    data["quality"] = window.quality.value
    return data


def window_from_dict(data: dict[str, Any]) -> Window:
    try:
        return Window(
            start_s=float(data["start_s"]), end_s=float(data["end_s"]),
            replicas=int(data["replicas"]), throughput_sps=float(data["throughput_sps"]),
            power_w=float(data["power_w"]), energy_j=float(data["energy_j"]),
            samples=float(data["samples"]), source=str(data.get("source", "unknown")),
            quality=Quality(data.get("quality", "ok")), note=str(data.get("note", "")),
            step_s=_opt_float(data.get("step_s")), sync_s=_opt_float(data.get("sync_s")),
            batch_per_worker=_opt_float(data.get("batch_per_worker")),
            nodes=None if data.get("nodes") is None else int(data["nodes"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"controller state: bad window {data!r}: {e}") from e


def dump_state(
    *, windows: list[Window], newest: Window | None, last_resize_s: float | None,
    last_resize_replicas: int | None, drift_at_s: float | None, discarded: dict[str, int],
) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "windows": [window_to_dict(w) for w in windows],
        "newest": None if newest is None else window_to_dict(newest),
        "last_resize_s": last_resize_s,
        "last_resize_replicas": last_resize_replicas,
        "drift_at_s": drift_at_s,
        "discarded": dict(discarded),
    }


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def load_state(state: dict[str, Any]) -> LoadedState:
    """Parse a version-1 state; ValueError on any other version or a malformed body."""
    if not isinstance(state, dict):
        raise ValueError(f"controller state must be an object, got {type(state).__name__}")
    version = state.get("version")
    if version != STATE_VERSION:
        raise ValueError(
            f"controller state version {version!r} is not supported (expected {STATE_VERSION})"
        )
    try:
        newest = state.get("newest")
        replicas = state.get("last_resize_replicas")
        return LoadedState(
            windows=[window_from_dict(w) for w in state.get("windows", [])],
            newest=None if newest is None else window_from_dict(newest),
            last_resize_s=_opt_float(state.get("last_resize_s")),
            last_resize_replicas=None if replicas is None else int(replicas),
            drift_at_s=_opt_float(state.get("drift_at_s")),
            discarded={str(k): int(v) for k, v in dict(state.get("discarded", {})).items()},
        )
    except (TypeError, ValueError) as e:
        raise ValueError(f"controller state is malformed: {e}") from e
