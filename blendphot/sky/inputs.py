"""Reading sky inputs: FITS mosaics and catalogues (FITS or CSV) into the catalogue contract.

A catalogue from elsewhere gets its columns renamed by a mapping (contract name -> name in the
file, ``sky.fits.columns`` in the config); everything is checked on the way in, and every
problem is an :class:`~blendphot.errors.InputError` naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS

from blendphot.errors import InputError
from blendphot.sky.synthetic import GALAXY_TYPES

REQUIRED = ("id", "mag", "radius")
"""Columns every catalogue needs (besides a position and a morphology)."""

PROBABILITIES = ("p_sph", "p_disk", "p_irr")


def read_mosaic(path: str | Path, hdu: int | None = None) -> tuple[np.ndarray, fits.Header]:
    """Read a FITS mosaic (``hdu``, or the first HDU holding a 2-D image) as float32."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "mosaic does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyUserWarning)  # truncation: raised below
            with fits.open(path) as hdul:
                candidates = [hdul[hdu]] if hdu is not None else list(hdul)
                for unit in candidates:
                    if unit.data is not None and unit.data.ndim == 2:
                        return np.ascontiguousarray(unit.data, dtype=np.float32), unit.header
    except (OSError, IndexError) as exc:
        raise InputError(path, f"not a readable FITS file or HDU ({exc})") from exc
    except (TypeError, ValueError) as exc:  # astropy's reading of a data block cut short
        size = path.stat().st_size
        raise InputError(
            path, f"FITS image data cut short: the file ({size} bytes) is truncated ({exc})"
        ) from exc
    raise InputError(path, "no 2-D image HDU found")


def _read_table(path: Path) -> pd.DataFrame:
    """A CSV or FITS table as a DataFrame (byte strings decoded)."""
    try:
        if path.suffix.lower() in (".csv", ".txt"):
            table = pd.read_csv(path)
        else:
            table = Table.read(path).to_pandas()
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file
        raise InputError(path, f"cannot read catalogue ({exc})") from exc
    for name in table.columns:
        if table[name].dtype.kind in "SO":
            table[name] = table[name].map(
                lambda v: v.decode().strip() if isinstance(v, bytes) else v
            )
    return table


def _rename(table: pd.DataFrame, columns: dict, path: Path) -> pd.DataFrame:
    """Rename file columns to contract names; a mapped column that is absent is an error."""
    mapping = {v: k for k, v in columns.items() if v is not None}
    absent = [f"'{v}' (for {k})" for k, v in columns.items() if v and v not in table.columns]
    if absent:
        raise InputError(path, f"catalogue is missing mapped column(s): {', '.join(absent)}")
    clashes = [k for k in mapping.values() if k in table.columns and k not in mapping]
    table = table.drop(columns=clashes).rename(columns=mapping)
    return table


def check_catalog(catalog: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Check the contract: required columns, a position, a morphology, unique ids, finite
    magnitudes, finite and positive radii."""
    missing = [c for c in REQUIRED if c not in catalog.columns]
    has_xy = {"x", "y"} <= set(catalog.columns)
    has_radec = {"ra", "dec"} <= set(catalog.columns)
    if not (has_xy or has_radec):
        missing.append("x and y (or ra and dec)")
    has_probs = set(PROBABILITIES) <= set(catalog.columns)
    if not (has_probs or "type" in catalog.columns):
        missing.append("p_sph, p_disk and p_irr (or type)")
    if missing:
        raise InputError(path, f"catalogue is missing column(s): {', '.join(missing)}")
    duplicated = catalog["id"].duplicated()
    if duplicated.any():
        raise InputError(
            path,
            f"duplicate id {catalog.loc[duplicated, 'id'].iloc[0]} in catalogue "
            f"({int(duplicated.sum())} repeated row(s))",
        )
    mags = pd.to_numeric(catalog["mag"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(mags)
    if bad.any():
        raise InputError(
            path,
            f"{int(bad.sum())} NaN/infinite/non-numeric magnitude(s), first at id "
            f"{catalog['id'][bad].iloc[0]}",
        )
    radius = pd.to_numeric(catalog["radius"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(radius) & (radius > 0))
    if bad.any():
        raise InputError(
            path,
            f"column radius: {int(bad.sum())} radius/radii not finite and positive (pixels), "
            f"first at id {catalog['id'][bad].iloc[0]} ({catalog['radius'][bad].iloc[0]}); "
            "the isolation cut and the cleaning need every object's size",
        )
    if "type" in catalog.columns:
        catalog["type"] = catalog["type"].astype(str).str.strip()
        unknown = sorted(set(catalog["type"]) - set(GALAXY_TYPES) - {""})
        if unknown and not has_probs:
            raise InputError(
                path, f"unknown galaxy type(s) {unknown}; expected one of {list(GALAXY_TYPES)}"
            )
    return catalog


def read_catalog(
    path: str | Path, columns: dict | None = None, zeropoint: float | None = None
) -> pd.DataFrame:
    """Read and check a catalogue (FITS or CSV), renaming its columns by ``columns``.

    ``columns`` maps contract names (id, x, y, ra, dec, mag, radius, z, type, p_sph, p_disk,
    p_irr) to the file's names; unmapped contract names are looked up as they are. A missing
    ``flux`` is computed from ``mag`` and ``zeropoint``; a missing ``z`` is NaN.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "catalogue does not exist")
    catalog = _rename(_read_table(path), columns or {}, path)
    catalog = check_catalog(catalog, path)
    catalog["mag"] = catalog["mag"].astype(float)
    if "flux" not in catalog.columns:
        if zeropoint is None:
            raise InputError(path, "catalogue is missing column(s): flux")
        catalog["flux"] = 10.0 ** (-0.4 * (catalog["mag"] - zeropoint))
    if "z" not in catalog.columns:
        catalog["z"] = np.nan
    if "primary" not in catalog.columns:
        catalog["primary"] = True
    return catalog


def pixel_positions(
    catalog: pd.DataFrame,
    header: fits.Header,
    mosaic_path: str | Path,
    catalog_path: str | Path,
    pixel_origin: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel positions of the catalogue objects: x, y if given, else ra, dec + WCS."""
    if {"x", "y"} <= set(catalog.columns):
        x = pd.to_numeric(catalog["x"], errors="coerce").to_numpy(dtype=float) - pixel_origin
        y = pd.to_numeric(catalog["y"], errors="coerce").to_numpy(dtype=float) - pixel_origin
        return x, y
    try:
        wcs = WCS(header)
    except Exception as exc:  # noqa: BLE001 - astropy raises several kinds
        raise InputError(mosaic_path, f"unreadable WCS in the header ({exc})") from exc
    if not wcs.has_celestial:
        raise InputError(
            mosaic_path,
            f"the mosaic has no celestial WCS, and the catalogue {catalog_path} gives only "
            "ra/dec: map the catalogue's x and y columns, or use a mosaic with a WCS",
        )
    ra = pd.to_numeric(catalog["ra"], errors="coerce").to_numpy(dtype=float)
    dec = pd.to_numeric(catalog["dec"], errors="coerce").to_numpy(dtype=float)
    x, y = wcs.celestial.all_world2pix(ra, dec, 0)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
