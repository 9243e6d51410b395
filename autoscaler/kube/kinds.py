"""The served kinds: :class:`KindRef` (:mod:`.kindref`: a kind as data, and reading an object
through it) and the built-in kinds (:mod:`.builtin_kinds`), gathered under one name."""

from __future__ import annotations

from autoscaler.kube.builtin_kinds import (
    BUILTIN_KINDS,
    DEFAULT_KINDS,
    DEPLOYMENT,
    JOB,
    JOBSET,
    JOBSET_ELASTIC,
    PYTORCHJOB,
    RAYCLUSTER,
    STATEFULSET,
    TRAINJOB,
    VOLCANO_JOB,
)
from autoscaler.kube.kindref import KindError, KindRef, ObjectRef, Reading, dig

__all__ = [
    "BUILTIN_KINDS", "DEFAULT_KINDS", "DEPLOYMENT", "JOB", "JOBSET", "JOBSET_ELASTIC",
    "PYTORCHJOB", "RAYCLUSTER", "STATEFULSET", "TRAINJOB", "VOLCANO_JOB", "KindError",
    "KindRef", "ObjectRef", "Reading", "dig",
]
