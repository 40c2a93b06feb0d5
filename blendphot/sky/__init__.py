"""Sky sources: where galaxies come from (paper section 2.1)."""

from blendphot.sky.synthetic import (
    CATALOG_COLUMNS,
    GALAXY_TYPES,
    draw_galaxy_catalog,
    make_synthetic_sky,
    read_catalog,
    read_mosaic,
    render_mosaic,
)

__all__ = [
    "CATALOG_COLUMNS",
    "GALAXY_TYPES",
    "draw_galaxy_catalog",
    "make_synthetic_sky",
    "read_catalog",
    "read_mosaic",
    "render_mosaic",
]
