"""The deblended catalogue: its flags, its columns, its files (FITS and CSV, written whole or
not at all) and the merge of the tiles.

One row per object of the mosaic's catalogue: ``id, ra, dec, x, y, mag, radius, group_id,
group_size, slot`` (1 the central, then the companions by decreasing brightness; 0 for an
object no network measured), ``tile``, then per method (each network's column, ``sep`` the
paper's isophotal flux and ``kron`` sep's Kron flux, measured on the same stamp)
``flux_<m>``, ``flux_<m>_err`` (calibrated 1 sigma), ``flux_<m>_p16``, ``flux_<m>_p84``;
``flux``, ``flux_err``, ``flux_p16``, ``flux_p84`` and ``flux_method``: the first network's
where it measured the object within its training domain, else sep's Kron, else its
isophotal flux (:func:`best_flux`); ``detection`` (sep's detection code on the group's
stamp), ``flags`` (bits of :data:`FLAGS`) and ``flag_names``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table

from blendphot.io import atomic_path, write_csv

FLAGS = {
    "isolated": (1, "in no blend: sep's photometry"),
    "group_over_k": (2, "its group has more members than the networks' slots"),
    "beyond_k": (4, "not among the K brightest of its group: not measured"),
    "near_edge": (8, "its group's stamp runs off the mosaic (filled with noise)"),
    "mag_outside": (16, "its magnitude lies outside the training galaxies'"),
    "size_outside": (32, "its radius lies outside the training galaxies'"),
    "contrast_outside": (64, "its magnitude minus the central's lies outside the training's"),
    "distance_outside": (128, "its distance from the central lies outside the training's"),
    "member_outside": (256, "another member of its group lies outside the training domain"),
    "nonfinite": (512, "non-finite pixels in its group's stamp: not measured"),
    "sep_missed": (1024, "sep found no detection of it on the stamp"),
}
"""Flag name -> (bit, meaning)."""
OWN_DOMAIN = ("mag_outside", "size_outside", "contrast_outside", "distance_outside")
"""Flags of an object outside the training domain by its own measures (the other members of
its group get ``member_outside``)."""
DOMAIN_FLAGS = (*OWN_DOMAIN, "near_edge", "group_over_k", "member_outside")
"""Flags that put an object, its stamp or its group outside what the networks learnt."""

SEP_METHODS = {"sep": "sex", "kron": "kron"}
"""The sep fluxes of the deblended catalogue -> their column in the blend catalogues (and in
the calibration)."""

ERROR_SUFFIXES = ("_err", "_p16", "_p84")


def flag_bit(name: str) -> int:
    """The bit of a flag name."""
    return FLAGS[name][0]


def flag_names(flags: np.ndarray) -> list[str]:
    """Each flag word as its names joined by ``|`` (empty where none is set)."""
    return [
        "|".join(name for name, (bit, _) in FLAGS.items() if int(word) & bit)
        for word in np.asarray(flags, dtype=np.int64)
    ]


def flag_mask(names) -> int:
    """The flag word of the named flags."""
    return sum(flag_bit(name) for name in names)


def best_flux(table: pd.DataFrame, networks: list[str]) -> pd.DataFrame:
    """``flux``, its errors and ``flux_method``: the first network's where it measured the
    object within its training domain (no flag of :data:`DOMAIN_FLAGS`), else sep's Kron flux
    (the better of sep's two on the drawn field, isolated objects and blends alike:
    docs/studies/deblend-survey.md), else sep's isophotal flux."""
    out = pd.DataFrame(index=table.index)
    chosen = np.full(len(table), "", dtype=object)
    for s in ("", *ERROR_SUFFIXES):
        out[f"flux{s}"] = np.nan
    outside = (table["flags"].to_numpy(np.int64) & flag_mask(DOMAIN_FLAGS)) != 0
    candidates = [(networks[0], ~outside)] if networks else []
    candidates += [("kron", True), ("sep", True)]
    for method, allowed in candidates:
        take = (chosen == "") & allowed & np.isfinite(table[f"flux_{method}"].to_numpy(float))
        for s in ("", *ERROR_SUFFIXES):
            out.loc[take, f"flux{s}"] = table[f"flux_{method}{s}"].to_numpy(float)[take]
        chosen[take] = method
    out["flux_method"] = chosen
    return out


def flags_header() -> fits.Header:
    """FITS header cards stating each flag bit's meaning."""
    header = fits.Header()
    for name, (bit, meaning) in FLAGS.items():
        header[f"FLAG{bit.bit_length() - 1}"] = (name, meaning[:46])
    return header


def write_catalog(table: pd.DataFrame, fits_path: Path, csv_path: Path | None = None) -> None:
    """Write the catalogue as a FITS table (flag meanings in its header) and, if asked, as
    CSV; each file whole or not at all."""
    out = Table.from_pandas(table.reset_index(drop=True))
    out.meta.update(dict(flags_header()))
    with atomic_path(fits_path) as tmp:
        out.write(tmp, format="fits", overwrite=True)
    if csv_path is not None:
        write_csv(table, csv_path)


def read_catalog_table(path: str | Path) -> pd.DataFrame:
    """A deblended (or tile) catalogue written by :func:`write_catalog`."""
    table = Table.read(path).to_pandas()
    for name in table.columns:
        if table[name].dtype.kind in "SO":
            table[name] = table[name].map(lambda v: v.decode() if isinstance(v, bytes) else v)
    return table


def merge_tiles(paths: list[str | Path]) -> pd.DataFrame:
    """The tiles' catalogues as one, in order of id; ValueError if an object appears twice
    (each group belongs to one tile)."""
    parts = [read_catalog_table(p) for p in paths]
    parts = [p for p in parts if len(p)]
    table = pd.concat(parts, ignore_index=True) if parts else read_catalog_table(paths[0])
    repeated = table["id"].duplicated()
    if repeated.any():
        raise ValueError(f"object id {table.loc[repeated, 'id'].iloc[0]} written by two tiles")
    return table.sort_values("id", kind="stable").reset_index(drop=True)
