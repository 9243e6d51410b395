"""Errors that are the user's to fix: the CLI prints them in one line and exits 2."""

from autoscaler.errors import PermanentError


class UserError(PermanentError):
    """Bad input from the user (a file, a flag, an annotation): say what and where, no traceback."""
