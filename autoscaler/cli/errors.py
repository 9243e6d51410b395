"""Errors that are the user's to fix: the CLI prints them in one line and exits 2."""


class UserError(Exception):
    """Bad input from the user (a file, a flag, an annotation): say what and where, no traceback."""
