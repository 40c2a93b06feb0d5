"""Selection, cut-outs and neighbour cleaning (paper section 2.1)."""

from blendphot.stamps.cleaning import (
    clean_stamp,
    cut_stamp,
    estimate_noise,
    neighbour_region,
    segment_stamp,
)
from blendphot.stamps.selection import classify_morphology, select_galaxies
from blendphot.stamps.stage import (
    SKIP_REASONS,
    STAMPS_DATASETS,
    TRUTH_DATASET,
    build_stamps,
    build_stamps_candels,
    read_stamps,
    stamps_stage_name,
)
from blendphot.stamps.validation import stamp_cleaning_metrics, summarise_cleaning

__all__ = [
    "SKIP_REASONS",
    "STAMPS_DATASETS",
    "TRUTH_DATASET",
    "build_stamps",
    "build_stamps_candels",
    "classify_morphology",
    "clean_stamp",
    "cut_stamp",
    "estimate_noise",
    "neighbour_region",
    "read_stamps",
    "segment_stamp",
    "select_galaxies",
    "stamp_cleaning_metrics",
    "stamps_stage_name",
    "summarise_cleaning",
]
