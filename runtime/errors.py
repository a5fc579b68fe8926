"""Errors the CLI turns into one line on stderr and an exit code, never a traceback."""

from __future__ import annotations


class CommandError(Exception):
    """Something the operator can fix; the message is already in their language."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
