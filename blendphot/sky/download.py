"""Download of the published candels-blender data set from Zenodo (needs internet)."""

from __future__ import annotations

import logging
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from blendphot.errors import InputError

log = logging.getLogger(__name__)

ZENODO_RECORD = 2604740
ARCHIVE = "candels-blender-data.tar.gz"
URL = f"https://zenodo.org/records/{ZENODO_RECORD}/files/{ARCHIVE}?download=1"
FILES = {"images": "candels_img.npy", "segmaps": "candels_seg.npy", "catalog": "candels_cat.csv"}
"""Output key -> file name inside the archive."""


def _extract(archive: Path, where: Path) -> None:
    """Extract a tar archive, refusing members that would land outside ``where``."""
    with tarfile.open(archive, "r:*") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(where, filter="data")
            return
        root = where.resolve()
        for member in tar.getmembers():
            if not (where / member.name).resolve().is_relative_to(root):
                raise InputError(archive, f"unsafe path in archive: {member.name}")
        tar.extractall(where)  # noqa: S202 - members checked above


def find_files(where: Path) -> dict[str, Path]:
    """The data set's three files anywhere under ``where``."""
    found = {}
    for key, name in FILES.items():
        hits = sorted(where.rglob(name))
        if not hits:
            raise InputError(where, f"{name} not found in the downloaded archive")
        found[key] = hits[0]
    return found


def download_candels_blender(targets: dict[str, Path], url: str = URL) -> None:
    """Download and unpack the archive; move its three files to ``targets`` (same keys)."""
    first = Path(next(iter(targets.values())))
    first.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=first.parent) as tmp:
        archive = Path(tmp) / ARCHIVE
        log.info("downloading %s", url)
        with urllib.request.urlopen(url, timeout=60) as response, open(archive, "wb") as out:
            shutil.copyfileobj(response, out)
        log.info("downloaded %.1f MB; extracting", archive.stat().st_size / 1e6)
        _extract(archive, Path(tmp) / "data")
        for key, path in find_files(Path(tmp) / "data").items():
            Path(targets[key]).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, targets[key])
            log.info("%s -> %s", path.name, targets[key])
