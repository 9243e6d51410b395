"""What a job's operator remembers, checkpointed in the job's own ``state`` annotation.

Why an annotation and not a ConfigMap: it travels in the same merge patch as the
recommendation (one API request per job per interval), it is deleted with the job, and it needs
no extra RBAC. The value is versioned (``v1:`` + base64 of zlib-compressed JSON): a model's
history of windows can run to tens of kilobytes of JSON, and all annotations of an object share
a 256 KiB limit. An unknown version or a damaged value is not an error the job's owner can fix:
the operator logs it and starts learning afresh (it never resizes on a model it cannot read).
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

from autoscaler.decision.state import TIME_LIMIT_S, VALUE_LIMIT
from autoscaler.decision.types import MAX_REPLICAS

STATE_VERSION = 2
_PREFIX = f"v{STATE_VERSION}:"
_V1_PREFIX = "v1:"  # before the job session: read and converted, never written

# Limits on what is read back (a state is input: the job's owner can write anything there).
MAX_ENCODED = 256 * 1024  # all annotations of an object share 256 KiB
MAX_INFLATED = 8 * 1024 * 1024  # 20,000 windows of ~300 bytes fit; a zlib bomb does not
MAX_EVENT_KINDS = 16
MAX_TEXT = 1024


class StateError(ValueError):
    """The state annotation cannot be read (other version, damaged)."""


@dataclass
class JobMemory:
    """What the operator checkpoints for one job.

    ``session`` is the job session's own checkpoint (model, ledger with the budget epoch, the
    last resize asked for, so that a restart never repeats one: see
    :class:`autoscaler.decision.session.JobSession`); it is validated when the session is
    rebuilt from it. ``events`` maps an Event reason to the signature of the last one sent, so
    a restarted operator does not repeat Events either.
    """

    session: dict[str, Any] | None = None
    events: dict[str, str] = field(default_factory=dict)


def encode(memory: JobMemory) -> str:
    raw = json.dumps({"version": STATE_VERSION, **asdict(memory)}, separators=(",", ":"))
    return _PREFIX + base64.b64encode(zlib.compress(raw.encode(), 6)).decode("ascii")


def decode(text: str) -> JobMemory:
    """Read a state annotation; :class:`StateError` (never another exception) when it is not a
    state this operator could have written: other version, damaged, too large once inflated
    (a zlib bomb), nested too deep, numbers out of range or fields of the wrong type."""
    if not isinstance(text, str) or not text.startswith((_PREFIX, _V1_PREFIX)):
        version = text.split(":", 1)[0][:20] if isinstance(text, str) and ":" in text else "?"
        raise StateError(f"state version {version!r} is not {_PREFIX[:-1]!r}")
    prefix = _PREFIX if text.startswith(_PREFIX) else _V1_PREFIX
    if len(text) > MAX_ENCODED:
        raise StateError(f"state is {len(text)} characters, more than {MAX_ENCODED}")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(text[len(prefix) :], validate=True),
                                  MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise StateError(f"state inflates to more than {MAX_INFLATED} bytes")
        if not inflater.eof:
            raise StateError("state is damaged: truncated zlib stream")
        data = json.loads(raw)
    except StateError:
        raise
    except RecursionError:
        raise StateError("state JSON is nested too deeply") from None
    except (ValueError, zlib.error) as e:  # binascii.Error and JSONDecodeError are ValueErrors
        raise StateError(f"state is damaged: {_short(e)}") from e
    current = prefix == _PREFIX
    if not isinstance(data, dict) or data.pop("version", None) != (STATE_VERSION if current
                                                                   else 1):
        raise StateError("state JSON carries no matching version")
    try:
        return _memory(data if current else _from_v1(data))
    except (TypeError, ValueError, OverflowError) as e:
        raise StateError(f"state fields are wrong: {_short(e)}") from e


def _memory(data: dict[str, Any]) -> JobMemory:
    """Field by field, each checked for type (the session's part is checked when the session
    is rebuilt from it: see :meth:`autoscaler.decision.session.JobSession.from_state`)."""
    session = data.get("session")
    if session is not None and not isinstance(session, dict):
        raise TypeError("session must be an object")
    events = data.get("events", {})
    if not isinstance(events, dict) or len(events) > MAX_EVENT_KINDS or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= MAX_TEXT
            for k, v in events.items()):
        raise TypeError(f"events must map at most {MAX_EVENT_KINDS} reasons to short strings")
    return JobMemory(session=session, events=dict(events))


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 state (counters beside the controller's state) in the session's form. Its
    budget epoch counted against the budget annotation's text, which the session does not
    keep: the converted ledger leaves ``budget_j`` out, so the epoch continues under whatever
    budget the job has now."""
    last_target = data.get("last_target")
    if last_target is not None and (isinstance(last_target, bool) or not isinstance(
            last_target, int) or not 0 <= last_target <= MAX_REPLICAS):
        raise ValueError(f"last_target must be a whole number in [0, {MAX_REPLICAS}]")
    energy = _number(data.get("energy_used_j", 0.0), VALUE_LIMIT)
    controller = data.get("controller")
    if controller is not None and not isinstance(controller, dict):
        raise TypeError("controller must be an object")
    return {"session": {
        "version": 1, "engine": controller,
        "ledger": {"samples": _number(data.get("samples_done", 0.0), VALUE_LIMIT),
                   "energy_j": {"unknown": energy}, "budget_energy_j": energy,
                   "last_end_s": _optional(data.get("last_window_end_s"), TIME_LIMIT_S)},
        "resize": {"at_s": _optional(data.get("last_resize_s"), TIME_LIMIT_S),
                   "to": last_target, "downtimes_s": []},
    }, "events": data.get("events", {})}


def _number(value: Any, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    x = float(value)  # OverflowError for a 400-digit integer
    if not math.isfinite(x) or abs(x) > limit:
        raise ValueError(f"number out of range: {x:g}")
    return x


def _optional(value: Any, limit: float) -> float | None:
    return None if value is None else _number(value, limit)


def _short(e: BaseException) -> str:
    text = str(e)
    return text if len(text) <= 200 else text[:200] + "..."
