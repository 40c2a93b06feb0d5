"""Selection, cut-outs and neighbour cleaning (paper section 2.1).

Names are imported on first use (blendphot.lazy), so importing the package stays light."""

from blendphot.lazy import lazy_exports

_EXPORTS = {
    "GalaxyMap": "blendphot.stamps.settings",
    "InspectionRules": "blendphot.stamps.settings",
    "MosaicInput": "blendphot.stamps.settings",
    "SKIP_REASONS": "blendphot.stamps.layout",
    "STAMPS_DATASETS": "blendphot.stamps.layout",
    "TRUTH_DATASET": "blendphot.stamps.layout",
    "StampSettings": "blendphot.stamps.settings",
    "build_stamps": "blendphot.stamps.build",
    "build_stamps_candels": "blendphot.stamps.build",
    "classify_morphology": "blendphot.stamps.selection",
    "clean_stamp": "blendphot.stamps.cleaning",
    "cut_stamp": "blendphot.stamps.cleaning",
    "estimate_noise": "blendphot.stamps.cleaning",
    "inspection_check": "blendphot.stamps.inspection",
    "inspection_on": "blendphot.stamps.inspection",
    "inspection_reasons": "blendphot.stamps.exclusion",
    "neighbour_region": "blendphot.stamps.cleaning",
    "process_stamp": "blendphot.stamps.process",
    "read_stamps": "blendphot.stamps.layout",
    "segment_stamp": "blendphot.stamps.cleaning",
    "select_galaxies": "blendphot.stamps.selection",
    "stamp_cleaning_metrics": "blendphot.stamps.validation",
    "summarise_cleaning": "blendphot.stamps.validation",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
