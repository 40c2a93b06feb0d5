"""Sky sources: where galaxies come from (paper section 2.1).

Names are imported on first use (blendphot.lazy), so importing the package stays light."""

from blendphot.lazy import lazy_exports

_EXPORTS = {
    "CATALOG_COLUMNS": "blendphot.sky.synthetic",
    "GALAXY_TYPES": "blendphot.sky.synthetic",
    "SHAPE_COLUMNS": "blendphot.sky.synthetic",
    "SkySettings": "blendphot.sky.settings",
    "draw_galaxy_catalog": "blendphot.sky.synthetic",
    "make_synthetic_sky": "blendphot.sky.synthetic",
    "mosaic_noise": "blendphot.sky.synthetic",
    "pixel_positions": "blendphot.sky.inputs",
    "read_candels_blender": "blendphot.sky.candels",
    "read_catalog": "blendphot.sky.inputs",
    "read_mosaic": "blendphot.sky.inputs",
    "render_mosaic": "blendphot.sky.synthetic",
    "render_truth_stamp": "blendphot.sky.synthetic",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
