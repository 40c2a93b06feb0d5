"""Selection, cut-outs and neighbour cleaning (paper section 2.1).

Names are imported on first use (blendphot.lazy), so importing the package stays light."""

from blendphot.lazy import lazy_exports

_EXPORTS = {
    "SKIP_REASONS": "blendphot.stamps.stage",
    "STAMPS_DATASETS": "blendphot.stamps.layout",
    "TRUTH_DATASET": "blendphot.stamps.layout",
    "build_stamps": "blendphot.stamps.stage",
    "build_stamps_candels": "blendphot.stamps.stage",
    "classify_morphology": "blendphot.stamps.selection",
    "clean_stamp": "blendphot.stamps.cleaning",
    "cut_stamp": "blendphot.stamps.cleaning",
    "estimate_noise": "blendphot.stamps.cleaning",
    "neighbour_region": "blendphot.stamps.cleaning",
    "read_stamps": "blendphot.stamps.layout",
    "segment_stamp": "blendphot.stamps.cleaning",
    "select_galaxies": "blendphot.stamps.selection",
    "stamp_cleaning_metrics": "blendphot.stamps.validation",
    "summarise_cleaning": "blendphot.stamps.validation",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
