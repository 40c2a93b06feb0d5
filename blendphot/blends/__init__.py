"""Blend sets (paper sections 2.2-2.3)."""

from blendphot.blends.layout import BLEND_DATASETS, check_blend_file, open_blend_set
from blendphot.blends.pairing import draw_pairs, draw_shift, split_galaxies
from blendphot.blends.stage import (
    build_blend_sets,
    check_disjoint_splits,
    shift_stamp,
    uncovered_pixels,
)

__all__ = [
    "BLEND_DATASETS",
    "build_blend_sets",
    "check_blend_file",
    "check_disjoint_splits",
    "draw_pairs",
    "draw_shift",
    "open_blend_set",
    "shift_stamp",
    "split_galaxies",
    "uncovered_pixels",
]
