"""The stamps file's contract, readable without the sky and cleaning code (no GalSim, no sep)."""

from __future__ import annotations

from pathlib import Path

import h5py
import pandas as pd

from blendphot.errors import InputError
from blendphot.io import open_h5, read_table

STAMPS_DATASETS = ("image_raw", "segmap_raw", "image", "mask", "catalog")
"""Contract of a stamps file: raw and cleaned images, raw segmentation, central mask, rows."""
TRUTH_DATASET = "image_true"
"""Optional (synthetic sky only): the noiseless central galaxy alone, same grid as ``image``."""
SKIP_REASONS = ("outside", "edge", "no_data", "no_detection", "inspection")
"""Why a selected galaxy gets no stamp (counted in the file's ``skipped_<reason>`` attributes):
off the image, too close to its edge, blank or non-finite pixels in the cut, nothing detected
at the centre, excluded by the automatic inspection (cleaning removed too much of the
central's light, or another rule of :mod:`blendphot.stamps.exclusion`). Counted, never
fatal."""


def read_stamps(path: str | Path) -> tuple[h5py.File, pd.DataFrame]:
    """Open a stamps file (checked against the contract) and read its catalogue rows."""
    from blendphot.contracts import check_stamps

    h5 = open_h5(path, required=STAMPS_DATASETS)
    try:
        check_stamps(h5, path)
    except InputError:
        h5.close()
        raise
    return h5, read_table(h5["catalog"])
