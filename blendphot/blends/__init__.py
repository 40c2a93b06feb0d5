"""Blend sets (paper sections 2.2-2.3).

Names are imported on first use (blendphot.lazy), so importing the package stays light."""

from blendphot.lazy import lazy_exports

_EXPORTS = {
    "BLEND_DATASETS": "blendphot.blends.layout",
    "BlendSettings": "blendphot.blends.settings",
    "build_blend_sets": "blendphot.blends.build",
    "check_blend_file": "blendphot.blends.layout",
    "check_disjoint_splits": "blendphot.blends.build",
    "draw_pairs": "blendphot.blends.pairing",
    "galaxy_counts": "blendphot.blends.layout",
    "draw_shift": "blendphot.blends.pairing",
    "open_blend_set": "blendphot.blends.layout",
    "Pairing": "blendphot.blends.settings",
    "present_slots": "blendphot.blends.layout",
    "shift_stamp": "blendphot.blends.build",
    "slot_count": "blendphot.blends.layout",
    "slot_prefix": "blendphot.blends.layout",
    "split_by_galaxy": "blendphot.blends.pairing",
    "split_galaxies": "blendphot.blends.pairing",
    "uncovered_pixels": "blendphot.blends.build",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
