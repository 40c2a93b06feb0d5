"""The blend-set HDF5 layout, written down once, and a checker for it.

One file per split (train, val, test): N blends of S x S pixels, each of n galaxies
(2 <= n <= K), in K slots. K is the largest count the set was drawn with (2 for the paper's
pairs):

- ``blend``    (N, S, S) float32: the blended image (pixel sum of the n stamps)
- ``isolated`` (N, K, S, S) float32: each slot's cleaned stamp, shifted to its place; an
  absent slot (k >= n) is all zero
- ``mask``     (N, K, S, S) uint8: each slot's segmentation mask (shifted); absent slots zero
- ``flux``     (N, K) float64: true fluxes; NaN marks an absent slot (a flux is never 0)
- ``isolated_true`` (N, K, S, S) float32, optional: the noiseless (shifted) stamps, where the
  sky source knows them (the synthetic sky); absent for real inputs; absent slots zero
- ``table/``   one dataset per column: id, distance, shift_x, shift_y (those of slot 2, the
  first companion), g1_id, g1_mag, g1_rad, g1_z, g1_type, g1_flux, ``g2_...``, and where the set
  was drawn with K > 2: ``n_galaxies`` and, for each slot k = 3..K, g{k}_shift_x,
  g{k}_shift_y, g{k}_distance and g{k}_<field> (absent slot: id -1, type "", numbers NaN)
- attributes: split, seed, config_hash, version, noise, zeropoint, recipe (and, with K > 2,
  ``galaxy_counts``: the configured share of each count, as JSON); ``commit`` (the code's git
  commit, :mod:`blendphot.version`) in sets written from 0.2.0 on

Slot order (the same in the networks' outputs, the baseline, the oracle and the catalogue):
slot 1 (``g1``) is the central, on the stamp centre; slots 2..n hold the companions by
decreasing brightness, the brightest first (increasing catalogue magnitude; ties in the
order they were drawn); slots n+1..K are absent. Brightness, not distance: a network learns
it far better (measured: docs/studies/slot-order.md), and where two
companions are close to a tie, taking one for the other costs little flux error. A set with
K = 2 is the paper's layout, byte for byte: no ``n_galaxies`` column, and every blend a
pair.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from blendphot.errors import InputError, describe_rows
from blendphot.io import open_h5

BLEND_DATASETS = ("blend", "isolated", "mask", "flux", "table")
OPTIONAL_DATASETS = ("isolated_true",)
GALAXY_FIELDS = ("id", "mag", "rad", "z", "type", "flux")
TABLE_COLUMNS = ("id", "distance", "shift_x", "shift_y") + tuple(
    f"g{k}_{f}" for k in (1, 2) for f in GALAXY_FIELDS
)
ATTRIBUTES = ("split", "seed", "config_hash", "version", "noise", "zeropoint", "recipe")
COUNT_COLUMN = "n_galaxies"
SLOT_GEOMETRY = ("shift_x", "shift_y", "distance")
"""Per-slot geometry columns of slots 3..K (``g{k}_shift_x`` ...): slot 2 uses the bare names."""


def slot_prefix(slot: int) -> str:
    """The catalogue prefix of a 0-based slot: ``g1`` (the central), ``g2``, ..."""
    return f"g{slot + 1}"


def slot_names(n_slots: int) -> tuple[str, ...]:
    """How the per-blend CSVs (sep.csv, oracle.csv) name the slots in their column names:
    central, companion, then g3..gK."""
    return ("central", "companion") + tuple(slot_prefix(k) for k in range(2, n_slots))


def slot_columns(n_slots: int) -> tuple[str, ...]:
    """Table columns a set of ``n_slots`` slots must hold beyond :data:`TABLE_COLUMNS`."""
    if n_slots <= 2:
        return ()
    extra = [COUNT_COLUMN]
    for slot in range(2, n_slots):
        g = slot_prefix(slot)
        extra += [f"{g}_{f}" for f in SLOT_GEOMETRY] + [f"{g}_{f}" for f in GALAXY_FIELDS]
    return tuple(extra)


def slot_count(h5: h5py.File) -> int:
    """K, the number of slots of an open blend set (2 for pairs)."""
    return int(h5["flux"].shape[1])


def galaxy_counts(h5: h5py.File, rows: slice | None = None) -> np.ndarray:
    """Galaxies per blend (``rows`` of an open set, all by default): the table's
    ``n_galaxies``, or 2 for every blend of a pair set."""
    n = h5["blend"].shape[0]
    start, stop, _ = (rows or slice(0, n)).indices(n)
    if COUNT_COLUMN in h5["table"]:
        return np.asarray(h5["table"][COUNT_COLUMN][start:stop], dtype=np.int64)
    return np.full(stop - start, 2, dtype=np.int64)


def present_slots(counts: np.ndarray, n_slots: int) -> np.ndarray:
    """(N, K) booleans: which slots hold a galaxy, for blends of ``counts`` galaxies."""
    return np.arange(n_slots)[None, :] < np.asarray(counts)[:, None]


FLOAT_DATASETS = ("blend", "isolated", "isolated_true", "flux")
"""Datasets that must hold floating-point numbers (an integer image would be truncated)."""
MASK_DATASETS = ("mask",)
"""Datasets that must hold integers or booleans (0/1 masks)."""
FLUX_AGREEMENT = 1e-5
"""Relative tolerance between ``flux`` and its copies ``table/g<k>_flux``."""


def check_blend_file(h5: h5py.File, path: str | Path) -> int:
    """Check an open blend set against the layout; return N or raise InputError.

    The contract of a blend set, checked wherever one is read: datasets, shapes and dtypes;
    table columns of N rows with unique ids; attributes; true fluxes finite and positive in
    every present slot, NaN in exactly the absent ones, and equal to their copies in the
    table. Pixels are not read here (:func:`nonfinite_rows` does, where a reader needs it)."""
    missing = [d for d in BLEND_DATASETS if d not in h5]
    if missing:
        raise InputError(path, f"blend set lacks dataset(s): {', '.join(missing)}")
    n, size = h5["blend"].shape[0], h5["blend"].shape[-1]
    if h5["flux"].ndim != 2 or h5["flux"].shape[1] < 2:
        raise InputError(path, f"dataset flux has shape {h5['flux'].shape}, expected (N, K >= 2)")
    k = slot_count(h5)
    expected = {
        "blend": (n, size, size),
        "isolated": (n, k, size, size),
        "mask": (n, k, size, size),
        "flux": (n, k),
    }
    if "isolated_true" in h5:
        expected["isolated_true"] = (n, k, size, size)
    for name, shape in expected.items():
        if h5[name].shape != shape:
            raise InputError(path, f"dataset {name} has shape {h5[name].shape}, expected {shape}")
    for name in expected:
        kind = h5[name].dtype.kind
        if name in FLOAT_DATASETS and kind != "f":
            raise InputError(
                path, f"dataset {name} is stored as {h5[name].dtype}, expected floating point"
            )
        if name in MASK_DATASETS and kind not in "uib":
            raise InputError(
                path, f"dataset {name} is stored as {h5[name].dtype}, expected integer 0/1 masks"
            )
    absent = [c for c in TABLE_COLUMNS + slot_columns(k) if c not in h5["table"]]
    if absent:
        raise InputError(path, f"blend table lacks column(s): {', '.join(absent)}")
    short = [c for c in h5["table"] if h5["table"][c].shape[:1] != (n,)]
    if short:
        raise InputError(
            path, f"blend table column(s) {', '.join(short)} do not have the set's {n} rows"
        )
    missing_attrs = [a for a in ATTRIBUTES if a not in h5.attrs]
    if missing_attrs:
        raise InputError(path, f"blend set lacks attribute(s): {', '.join(missing_attrs)}")
    ids = h5["table"]["id"][()]
    unique, seen = np.unique(ids, return_counts=True)
    if (seen > 1).any():
        raise InputError(
            path, f"table/id: id {unique[seen > 1][0].item()!r} appears more than once"
        )
    counts = galaxy_counts(h5)
    if k > 2:
        bad = np.flatnonzero((counts < 2) | (counts > k))
        if bad.size:
            raise InputError(
                path, f"{COUNT_COLUMN} {counts[bad[0]]} of row {bad[0]} is not in 2..{k}"
            )
    flux = h5["flux"][()]
    present = present_slots(counts, k)
    wrong = np.flatnonzero((np.isfinite(flux) & ~present).any(axis=1))
    if wrong.size:
        raise InputError(
            path,
            f"row {wrong[0]}: fluxes {flux[wrong[0]].tolist()} do not match its "
            f"{counts[wrong[0]]} galaxies (NaN must mark exactly the absent slots)",
        )
    with np.errstate(invalid="ignore"):
        bad_flux = present & ~(np.isfinite(flux) & (flux > 0))
    if bad_flux.any():
        rows = np.flatnonzero(bad_flux.any(axis=1))
        row, slot = rows[0], int(np.flatnonzero(bad_flux[rows[0]])[0])
        raise InputError(
            path,
            f"dataset flux, {describe_rows(rows)}: a true flux must be finite and positive "
            f"(row {row}, slot {slot_prefix(slot)}: {flux[row, slot]})",
        )
    for slot in range(k):
        column = f"{slot_prefix(slot)}_flux"
        copy = np.asarray(h5["table"][column][()], dtype=np.float64)
        same = np.isclose(copy, flux[:, slot], rtol=FLUX_AGREEMENT, atol=0, equal_nan=True)
        if not same.all():
            rows = np.flatnonzero(~same)
            raise InputError(
                path,
                f"dataset flux and table/{column} disagree in {describe_rows(rows)} "
                f"(row {rows[0]}: {flux[rows[0], slot]} against {copy[rows[0]]})",
            )
    return n


def nonfinite_rows(h5: h5py.File, name: str = "blend", block: int = 256) -> np.ndarray:
    """Indices of the rows of dataset ``name`` (of an open blend set) holding a non-finite
    pixel, read ``block`` rows at a time (memory stays at one block)."""
    data = h5[name]
    bad = []
    for start in range(0, data.shape[0], block):
        values = data[start : start + block]
        finite = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
        bad.append(start + np.flatnonzero(~finite))
    return np.concatenate(bad) if bad else np.zeros(0, dtype=np.int64)


def open_blend_set(path: str | Path) -> h5py.File:
    """Open a blend set for reading and check it against the layout."""
    h5 = open_h5(path)
    try:
        check_blend_file(h5, path)
    except InputError:
        h5.close()
        raise
    return h5
