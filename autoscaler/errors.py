"""The package's one root exception, and what a caller should do about an error.

Every error the package raises on purpose derives from :class:`AutoscalerError`, so a caller
can catch ours without catching a bug (a ``TypeError`` from a mistake in our code is not one of
them). Each says whether trying again can help:

- ``temporary = True``: the same call may succeed later, unchanged (a busy or unreachable API
  server, a scrape that raced a restart, a conflicting write). Callers retry, with back-off.
- ``temporary = False``: it will not succeed until someone changes something (bad input, a
  missing object, no rights, a broken configuration). Callers report it once and do not retry.

Pure and dependency-free; sits outside the layer stack so every layer may use it.
"""

from __future__ import annotations


class AutoscalerError(Exception):
    """Root of the package's errors. ``temporary``: see the module docstring."""

    temporary: bool = False


class TemporaryError(AutoscalerError):
    """Trying again later, unchanged, may succeed."""

    temporary = True


class PermanentError(AutoscalerError):
    """Trying again will not help until something is changed."""

    temporary = False


__all__ = ["AutoscalerError", "PermanentError", "TemporaryError"]
