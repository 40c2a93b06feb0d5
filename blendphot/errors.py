"""Errors raised on bad input: each names the file and the problem."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A user-supplied file or value is unusable; the message says which and why."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{problem}")


class ConfigError(InputError):
    """The configuration does not match the schema."""
