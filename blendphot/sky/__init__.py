"""Sky sources: where galaxies come from (paper section 2.1)."""

from blendphot.sky.candels import read_candels_blender
from blendphot.sky.inputs import pixel_positions, read_catalog, read_mosaic
from blendphot.sky.synthetic import (
    CATALOG_COLUMNS,
    GALAXY_TYPES,
    SHAPE_COLUMNS,
    draw_galaxy_catalog,
    make_synthetic_sky,
    mosaic_noise,
    render_mosaic,
    render_truth_stamp,
)

__all__ = [
    "CATALOG_COLUMNS",
    "GALAXY_TYPES",
    "SHAPE_COLUMNS",
    "draw_galaxy_catalog",
    "make_synthetic_sky",
    "mosaic_noise",
    "pixel_positions",
    "read_candels_blender",
    "read_catalog",
    "read_mosaic",
    "render_mosaic",
    "render_truth_stamp",
]
