"""Errors raised on bad input: each names the file and the problem."""

from __future__ import annotations

import errno
import re
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


DISK_ERRNOS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
"""Errors of the file system a user can act on (free space, a writable output folder)."""
DISK_MESSAGES = {
    "No space left on device": errno.ENOSPC,
    "Disk quota exceeded": errno.EDQUOT,
    "Read-only file system": errno.EROFS,
    "Permission denied": errno.EACCES,
}
"""The same, as libraries that drop the errno (HDF5, Keras) still spell them."""


def user_error(exc: BaseException) -> str | None:
    """The one line a user can act on for a bad input or a full or read-only disk; None for
    anything else (a programming error keeps its traceback)."""
    if isinstance(exc, InputError):
        return " ".join(str(exc).split())  # one line, whatever a library's message held
    if not isinstance(exc, OSError):
        return None
    code = exc.errno if exc.errno in DISK_ERRNOS else None
    if code is None:
        text = str(exc)
        code = next((c for m, c in DISK_MESSAGES.items() if m in text), None)
    if code is None:
        return None
    found = re.search(r"filename = '([^']+)'", str(exc))  # HDF5 names it in its text
    where = exc.filename or (found.group(1) if found else "an output file")
    return f"{output_of(str(where))}: cannot write: {DISK_ERRNOS[code]}"


def output_of(path: str) -> str:
    """The output a temporary file of :func:`blendphot.io.atomic_path` stands for
    (``dir/.train.k3j9x0ab.part.h5`` -> ``dir/train.h5``); other paths as they are."""
    folder, _, name = path.rpartition("/")
    found = re.fullmatch(r"\.(.+)\.[A-Za-z0-9_]+\.part(\.[^/]*)?", name)
    if not found:
        return path
    target = found.group(1) + (found.group(2) or "")
    return f"{folder}/{target}" if folder else target
