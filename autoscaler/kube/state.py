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
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

STATE_VERSION = 1
_PREFIX = f"v{STATE_VERSION}:"


class StateError(ValueError):
    """The state annotation cannot be read (other version, damaged)."""


@dataclass
class JobMemory:
    """A job's learned model and counters.

    ``energy_used_j`` counts against ``budget_text`` (the ``energy-budget`` annotation value it
    was counted under): the budget is "for the rest of the job" from when it was set, so a new
    budget restarts the count. ``last_resize_s``/``last_target`` make a restart idempotent: a
    resize recorded here is never repeated. ``events`` maps an Event reason to the signature of
    the last one sent, so a restarted operator does not repeat Events either.
    """

    controller: dict[str, Any] | None = None
    samples_done: float = 0.0
    energy_used_j: float = 0.0
    budget_text: str = ""
    last_resize_s: float | None = None
    last_target: int | None = None
    last_window_end_s: float | None = None
    events: dict[str, str] = field(default_factory=dict)


def encode(memory: JobMemory) -> str:
    raw = json.dumps({"version": STATE_VERSION, **asdict(memory)}, separators=(",", ":"))
    return _PREFIX + base64.b64encode(zlib.compress(raw.encode(), 6)).decode("ascii")


def decode(text: str) -> JobMemory:
    if not text.startswith(_PREFIX):
        version = text.split(":", 1)[0] if ":" in text else "?"
        raise StateError(f"state version {version!r} is not {_PREFIX[:-1]!r}")
    try:
        data = json.loads(zlib.decompress(base64.b64decode(text[len(_PREFIX) :])))
    except (ValueError, zlib.error) as e:
        raise StateError(f"state is damaged: {e}") from e
    if not isinstance(data, dict) or data.pop("version", None) != STATE_VERSION:
        raise StateError("state JSON carries no matching version")
    known = set(JobMemory.__dataclass_fields__)
    try:
        return JobMemory(**{k: v for k, v in data.items() if k in known})
    except TypeError as e:
        raise StateError(f"state fields are wrong: {e}") from e
