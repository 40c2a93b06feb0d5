"""The trained-model file's contract: a Keras 3 archive (``.keras``, a zip)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from blendphot.errors import InputError

ARCHIVE_MEMBERS = ("config.json", "model.weights.h5")
"""What every Keras 3 ``.keras`` archive holds."""


def check_model_file(path: str | Path) -> None:
    """InputError naming the file when it is missing, empty, not a zip archive (a truncated
    copy is not) or lacks a Keras archive's members."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "trained model does not exist")
    if path.stat().st_size == 0:
        raise InputError(path, "trained model file is empty")
    if not zipfile.is_zipfile(path):
        raise InputError(path, "not a Keras model archive (.keras zip): truncated or corrupt")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, f"unreadable Keras model archive ({exc})") from exc
    missing = [m for m in ARCHIVE_MEMBERS if m not in names]
    if missing:
        raise InputError(path, f"Keras model archive lacks {', '.join(missing)}")
    if damaged is not None:
        raise InputError(path, f"Keras model archive member {damaged} is corrupt")
