"""Checking a trained model file (``model.keras``) before Keras reads it.

Keras answers a truncated or corrupt ``.keras`` file with "File not found" for a file that
exists; :func:`check_model_file` says what is wrong with it instead, naming the file.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from blendphot.errors import InputError

KERAS_MEMBERS = ("config.json", "model.weights.h5")
"""What every ``.keras`` archive holds: the model's configuration and its weights."""

RETRAIN = "retrain the model (delete the file and rerun its training)"


def check_model_file(path: str | Path) -> None:
    """InputError naming ``path`` unless it is a whole Keras model file: one that exists, is
    not empty, is a zip archive whose members all read back (CRC checked) and that holds
    ``config.json`` and ``model.weights.h5``."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "model file does not exist (has the model been trained?)")
    if path.is_dir():
        raise InputError(path, "is a directory, not a Keras model (.keras zip) file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(
            path, f"model file is empty (0 bytes): not a readable Keras model; {RETRAIN}"
        )
    problem = "not a readable Keras model (.keras zip) file"
    if not zipfile.is_zipfile(path):
        raise InputError(
            path, f"{problem}: not a zip archive ({size} bytes: truncated or corrupt); {RETRAIN}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise InputError(path, f"{problem}: {exc} (truncated or corrupt); {RETRAIN}") from exc
    if bad is not None:
        raise InputError(path, f"{problem}: member {bad} is corrupt (bad CRC); {RETRAIN}")
    missing = [m for m in KERAS_MEMBERS if m not in names]
    if missing:
        raise InputError(path, f"{problem}: the archive lacks {', '.join(missing)}; {RETRAIN}")


def load_model_file(path: str | Path, **kwargs):
    """``keras.models.load_model`` on a file that :func:`check_model_file` passed; anything
    Keras still cannot read is an InputError naming the file."""
    import keras

    check_model_file(path)
    try:
        return keras.models.load_model(path, **kwargs)
    except Exception as exc:  # Keras raises ValueError, TypeError, KeyError, OSError ...
        raise InputError(
            path, f"Keras cannot load this model file: {type(exc).__name__}: {exc}"
        ) from exc
