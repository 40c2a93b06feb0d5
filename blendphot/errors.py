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


def describe_rows(rows, shown: int = 5) -> str:
    """Rows (0-based indices) for a message: ``row 3``, ``rows 3, 7`` or ``rows 3, 7, 9, 12,
    15 and 40 more (45 rows)``."""
    rows = [int(r) for r in rows]
    if len(rows) == 1:
        return f"row {rows[0]}"
    text = ", ".join(str(r) for r in rows[:shown])
    if len(rows) > shown:
        text += f" and {len(rows) - shown} more ({len(rows)} rows)"
    return f"rows {text}"
