"""File helpers shared by every stage: atomic writes, HDF5 tables, checked opening."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from blendphot.errors import InputError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the extension: some writers (Keras) choose the format from it
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs follow the umask
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_csv(df: pd.DataFrame, path: str | Path, **kwargs) -> None:
    """Write a DataFrame as CSV atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, **kwargs)


def open_h5(path: str | Path, required: Sequence[str] = ()) -> h5py.File:
    """Open an HDF5 file for reading; a missing, corrupt or incomplete file is an InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file does not exist")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, f"not a readable HDF5 file ({exc})") from exc
    missing = [name for name in required if name not in h5]
    if missing:
        h5.close()
        raise InputError(path, f"missing HDF5 dataset(s): {', '.join(missing)}")
    return h5


def write_table(group: h5py.Group, table: pd.DataFrame) -> None:
    """Store a DataFrame as one dataset per column (strings as fixed-length UTF-8 bytes)."""
    for name in table.columns:
        values = table[name].to_numpy()
        if values.dtype.kind in "OUS":
            encoded = np.array([str(v).encode() for v in values])
            if encoded.size == 0:
                encoded = encoded.astype("S1")
            group.create_dataset(name, data=encoded, track_times=False)
        else:
            group.create_dataset(name, data=values, track_times=False)
    group.attrs["columns"] = json.dumps(list(table.columns))


def read_table(group: h5py.Group, rows: slice | np.ndarray | None = None) -> pd.DataFrame:
    """Read a table written by :func:`write_table` (optionally a subset of rows)."""
    columns = json.loads(group.attrs["columns"])
    data = {}
    for name in columns:
        values = group[name][()] if rows is None else group[name][rows]
        if values.dtype.kind == "S":
            values = values.astype(str)
        data[name] = values
    return pd.DataFrame(data, columns=columns)


def config_hash(params: dict) -> str:
    """A short, stable hash of a parameter dictionary (stored in output attributes)."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_csv_checked(
    path: str | Path, required: Sequence[str], absent: str = "file does not exist"
) -> pd.DataFrame:
    """Read a CSV; a missing or unreadable file, or missing columns, is one InputError.

    ``absent`` is the message for a file that is not there (say how to get it).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, absent)
    try:
        table = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file
        raise InputError(path, f"cannot read CSV ({exc})") from exc
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(path, f"missing column(s): {', '.join(missing)}")
    return table
