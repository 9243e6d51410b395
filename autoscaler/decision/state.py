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

import math
from dataclasses import asdict, dataclass
from typing import Any

from autoscaler.decision.history import window_is_fittable
from autoscaler.decision.types import MAX_REPLICAS, Quality, Window

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


def window_from_dict(data: dict[str, Any], *, fittable: bool = False) -> Window:
    """A window from its checkpoint form; ValueError unless every field has its type and a sane
    range. ``fittable``: the window comes from the fitted history, so it must be one the engine
    would have fitted (a checkpoint is input like any other: it may have been edited)."""
    if not isinstance(data, dict):
        raise ValueError(f"controller state: a window must be an object, got {type(data).__name__}")
    try:
        window = Window(
            start_s=number(data["start_s"], TIME_LIMIT_S),
            end_s=number(data["end_s"], TIME_LIMIT_S),
            replicas=whole(data["replicas"], 0, MAX_REPLICAS),
            throughput_sps=number(data["throughput_sps"], VALUE_LIMIT, finite=fittable),
            power_w=number(data["power_w"], VALUE_LIMIT, finite=fittable),
            energy_j=number(data["energy_j"], VALUE_LIMIT, finite=False),
            samples=number(data["samples"], VALUE_LIMIT, finite=False),
            source=_text(data.get("source", "unknown")), quality=Quality(data.get("quality", "ok")),
            note=_text(data.get("note", "")),
            step_s=_opt_num(data.get("step_s")), sync_s=_opt_num(data.get("sync_s")),
            batch_per_worker=_opt_num(data.get("batch_per_worker")),
            nodes=None if data.get("nodes") is None else whole(data["nodes"], 0, MAX_REPLICAS),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"controller state: bad window: {_short(e)}") from e
    if fittable and not window_is_fittable(window):
        raise ValueError("controller state: a fitted window is not one the engine would fit")
    return window


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


# Sanity limits on a checkpoint (the engine never writes anything near them): they keep a
# crafted state from costing memory or time, or from overflowing a float conversion later.
MAX_WINDOWS = 20_000  # 240 per degree by default: 83 fully measured degrees
MAX_TEXT = 1024  # a window's source or note
MAX_DISCARDED_KEYS = 16
TIME_LIMIT_S = 1e12  # about the year 33,658 as POSIX seconds
VALUE_LIMIT = 1e15  # throughput, power, energy, samples, counts


def _short(e: BaseException) -> str:
    text = str(e)
    return text if len(text) <= 200 else text[:200] + "..."


def number(value: Any, limit: float, *, finite: bool = True) -> float:
    """A JSON number as a float: never a bool, a string or an int too large for a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    x = float(value)  # OverflowError for a 400-digit int: the caller turns it into ValueError
    if finite and not math.isfinite(x):
        raise ValueError(f"expected a finite number, got {x}")
    if math.isfinite(x) and abs(x) > limit:
        raise ValueError(f"number out of range (|x| <= {limit:g}), got {x:g}")
    return x


def optional_number(value: Any, limit: float = VALUE_LIMIT) -> float | None:
    """None, or a finite number within ``limit``."""
    return None if value is None else number(value, limit)


def _opt_num(value: Any) -> float | None:
    return None if value is None else number(value, VALUE_LIMIT, finite=False)


def optional_time(value: Any) -> float | None:
    return None if value is None else number(value, TIME_LIMIT_S)


def whole(value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"whole number out of range [{lo}, {hi}]")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"expected a string of at most {MAX_TEXT} characters")
    return value


def load_state(state: dict[str, Any]) -> LoadedState:
    """Parse a version-1 state; ValueError on any other version or a malformed body (wrong
    types, numbers out of range, too many windows) — never another exception type."""
    if not isinstance(state, dict):
        raise ValueError(f"controller state must be an object, got {type(state).__name__}")
    version = state.get("version")
    if version != STATE_VERSION:
        raise ValueError(
            f"controller state version {_short(ValueError(repr(version)))} is not supported "
            f"(expected {STATE_VERSION})"
        )
    try:
        windows = state.get("windows", [])
        if not isinstance(windows, list) or len(windows) > MAX_WINDOWS:
            raise ValueError(f"windows must be a list of at most {MAX_WINDOWS}")
        discarded = state.get("discarded", {})
        if not isinstance(discarded, dict) or len(discarded) > MAX_DISCARDED_KEYS:
            raise ValueError(f"discarded must be an object of at most {MAX_DISCARDED_KEYS} keys")
        newest = state.get("newest")
        replicas = state.get("last_resize_replicas")
        return LoadedState(
            windows=[window_from_dict(w, fittable=True) for w in windows],
            newest=None if newest is None else window_from_dict(newest),
            last_resize_s=optional_time(state.get("last_resize_s")),
            last_resize_replicas=None if replicas is None else whole(replicas, 0, MAX_REPLICAS),
            drift_at_s=optional_time(state.get("drift_at_s")),
            discarded={_text(k)[:64]: whole(v, 0, int(VALUE_LIMIT))
                       for k, v in discarded.items()},
        )
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"controller state is malformed: {_short(e)}") from e
