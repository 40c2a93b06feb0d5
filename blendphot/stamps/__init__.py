"""Selection, cut-outs and neighbour cleaning (paper section 2.1)."""

from blendphot.stamps.cleaning import (
    clean_stamp,
    cut_stamp,
    segment_stamp,
)
from blendphot.stamps.selection import classify_morphology, select_galaxies
from blendphot.stamps.stage import STAMPS_DATASETS, build_stamps, read_stamps

__all__ = [
    "STAMPS_DATASETS",
    "build_stamps",
    "classify_morphology",
    "clean_stamp",
    "cut_stamp",
    "read_stamps",
    "segment_stamp",
    "select_galaxies",
]
