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
  first companion), g1_id, g1_mag, g1_rad, g1_z, g1_type, g1_flux, g2_..., and where the set
  was drawn with K > 2: ``n_galaxies`` and, for each slot k = 3..K, g{k}_shift_x,
  g{k}_shift_y, g{k}_distance and g{k}_<field> (absent slot: id -1, type "", numbers NaN)
- attributes: split, seed, config_hash, version, noise, zeropoint, recipe (and, with K > 2,
  ``galaxy_counts``: the configured share of each count, as JSON)

Slot order (the same in the networks' outputs, the baseline, the oracle and the catalogue):
slot 1 (``g1``) is the central, on the stamp centre; slots 2..n hold the companions by
decreasing brightness, the brightest first (increasing catalogue magnitude; ties in the
order they were drawn); slots n+1..K are absent. Brightness, not distance: a network learns
it far better (measured: README, "Blends of more than two galaxies"), and where two
companions are close to a tie, taking one for the other costs little flux error. A set with
K = 2 is the paper's layout, byte for byte: no ``n_galaxies`` column, and every blend a
pair.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from blendphot.errors import InputError
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


def check_blend_file(h5: h5py.File, path: str | Path) -> int:
    """Check an open blend set against the layout; return N or raise InputError."""
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
    absent = [c for c in TABLE_COLUMNS + slot_columns(k) if c not in h5["table"]]
    if absent:
        raise InputError(path, f"blend table lacks column(s): {', '.join(absent)}")
    missing_attrs = [a for a in ATTRIBUTES if a not in h5.attrs]
    if missing_attrs:
        raise InputError(path, f"blend set lacks attribute(s): {', '.join(missing_attrs)}")
    if k > 2:
        counts = galaxy_counts(h5)
        bad = np.flatnonzero((counts < 2) | (counts > k))
        if bad.size:
            raise InputError(
                path, f"{COUNT_COLUMN} {counts[bad[0]]} of row {bad[0]} is not in 2..{k}"
            )
        finite = np.isfinite(h5["flux"][()])
        wrong = np.flatnonzero((finite != present_slots(counts, k)).any(axis=1))
        if wrong.size:
            raise InputError(
                path,
                f"row {wrong[0]}: fluxes {h5['flux'][wrong[0]].tolist()} do not match its "
                f"{counts[wrong[0]]} galaxies (NaN must mark exactly the absent slots)",
            )
    return n


def open_blend_set(path: str | Path) -> h5py.File:
    """Open a blend set for reading and check it against the layout."""
    h5 = open_h5(path)
    try:
        check_blend_file(h5, path)
    except InputError:
        h5.close()
        raise
    return h5
