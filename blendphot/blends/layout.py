"""The blend-set HDF5 layout, written down once, and a checker for it.

One file per split (train, val, test), N blends of S x S pixels:

- ``blend``    (N, S, S) float32: the blended image (pixel sum of the two stamps)
- ``isolated`` (N, 2, S, S) float32: central and (shifted) companion stamps, cleaned
- ``mask``     (N, 2, S, S) uint8: central and (shifted) companion segmentation masks
- ``flux``     (N, 2) float64: true fluxes of central and companion
- ``isolated_true`` (N, 2, S, S) float32, optional: the two noiseless (shifted) stamps, where
  the sky source knows them (the synthetic sky); absent for real inputs
- ``table/``   one dataset per column: id, distance, shift_x, shift_y, g1_id, g1_mag, g1_rad,
  g1_z, g1_type, g1_flux, g2_... (g1 = central, g2 = companion)
- attributes: split, seed, config_hash, version, noise, zeropoint, recipe
"""

from __future__ import annotations

from pathlib import Path

import h5py

from blendphot.errors import InputError
from blendphot.io import open_h5

BLEND_DATASETS = ("blend", "isolated", "mask", "flux", "table")
OPTIONAL_DATASETS = ("isolated_true",)
GALAXY_FIELDS = ("id", "mag", "rad", "z", "type", "flux")
TABLE_COLUMNS = ("id", "distance", "shift_x", "shift_y") + tuple(
    f"g{k}_{f}" for k in (1, 2) for f in GALAXY_FIELDS
)
ATTRIBUTES = ("split", "seed", "config_hash", "version", "noise", "zeropoint", "recipe")


def check_blend_file(h5: h5py.File, path: str | Path) -> int:
    """Check an open blend set against the layout; return N or raise InputError."""
    missing = [d for d in BLEND_DATASETS if d not in h5]
    if missing:
        raise InputError(path, f"blend set lacks dataset(s): {', '.join(missing)}")
    n, size = h5["blend"].shape[0], h5["blend"].shape[-1]
    expected = {
        "blend": (n, size, size),
        "isolated": (n, 2, size, size),
        "mask": (n, 2, size, size),
        "flux": (n, 2),
    }
    if "isolated_true" in h5:
        expected["isolated_true"] = (n, 2, size, size)
    for name, shape in expected.items():
        if h5[name].shape != shape:
            raise InputError(path, f"dataset {name} has shape {h5[name].shape}, expected {shape}")
    absent = [c for c in TABLE_COLUMNS if c not in h5["table"]]
    if absent:
        raise InputError(path, f"blend table lacks column(s): {', '.join(absent)}")
    missing_attrs = [a for a in ATTRIBUTES if a not in h5.attrs]
    if missing_attrs:
        raise InputError(path, f"blend set lacks attribute(s): {', '.join(missing_attrs)}")
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
