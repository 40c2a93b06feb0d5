"""Input adapter for the published candels-blender data set (Zenodo record 2604740).

Three files: ``candels_img.npy`` (N, 128, 128) float stamps of real CANDELS F160W galaxies that
still hold their neighbours, ``candels_seg.npy`` (N, 128, 128) their SExtractor segmentation
maps (the central object is the label at the centre pixel), and ``candels_cat.csv`` with one
row per stamp and the columns ID, mag, radius, z, galtype (sph, disk, sphd, irr).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from blendphot import STAMP_SIZE
from blendphot.errors import InputError
from blendphot.io import read_csv_checked
from blendphot.sky.inputs import check_catalog

CANDELS_COLUMNS = {"ID": "id", "mag": "mag", "radius": "radius", "z": "z", "galtype": "type"}
"""candels_cat.csv column -> catalogue contract column. Other columns (a galaxy key for the
split, say) are carried along unless they clash with the contract's names."""
CONTRACT = ("x", "y", "ra", "dec", "flux", "p_sph", "p_disk", "p_irr", "primary", "stamp_index")
CONTRACT = (*CONTRACT, *CANDELS_COLUMNS.values())


def _load_stack(path: Path, what: str) -> np.ndarray:
    """A (N, 128, 128) array from a .npy file, memory-mapped."""
    if not path.exists():
        raise InputError(path, f"{what} file does not exist")
    try:
        stack = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable .npy array ({exc})") from exc
    if stack.ndim != 3 or stack.shape[1:] != (STAMP_SIZE, STAMP_SIZE):
        raise InputError(
            path, f"{what} must have shape (N, {STAMP_SIZE}, {STAMP_SIZE}), not {stack.shape}"
        )
    return stack


def read_candels_catalog(path: str | Path, zeropoint: float) -> pd.DataFrame:
    """candels_cat.csv in the catalogue contract (one row per stamp, ``stamp_index`` kept)."""
    raw = read_csv_checked(path, list(CANDELS_COLUMNS), "catalogue does not exist")
    centre = float(STAMP_SIZE // 2)  # each stamp is centred on its galaxy
    extra = [c for c in raw.columns if c not in CANDELS_COLUMNS and c not in CONTRACT]
    catalog = raw[[*CANDELS_COLUMNS, *extra]].rename(columns=CANDELS_COLUMNS)
    catalog = check_catalog(catalog.assign(x=centre, y=centre), path)
    catalog = catalog.assign(
        ra=np.nan,
        dec=np.nan,
        mag=catalog["mag"].astype(float),
        flux=10.0 ** (-0.4 * (catalog["mag"].astype(float) - zeropoint)),
        p_sph=np.nan,
        p_disk=np.nan,
        p_irr=np.nan,
        primary=True,
        stamp_index=np.arange(len(catalog)),
    )
    return catalog


def read_candels_blender(
    images: str | Path, segmaps: str | Path, catalog: str | Path, zeropoint: float
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """The three files of the data set, checked against each other."""
    images, segmaps, catalog = Path(images), Path(segmaps), Path(catalog)
    img = _load_stack(images, "stamp images")
    seg = _load_stack(segmaps, "segmentation maps")
    if seg.shape != img.shape:
        raise InputError(segmaps, f"shape {seg.shape} differs from the images' {img.shape}")
    table = read_candels_catalog(catalog, zeropoint)
    if len(table) != img.shape[0]:
        raise InputError(
            catalog, f"{len(table)} catalogue rows for {img.shape[0]} stamps in {images}"
        )
    return img, seg, table
