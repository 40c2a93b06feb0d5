"""sep baseline (paper 3.3, Table 3), a Kron flux and the isolated reference.

Names are imported on first use (blendphot.lazy), so importing the package stays light."""

from blendphot.lazy import lazy_exports

_EXPORTS = {
    "BaselineSettings": "blendphot.baseline.settings",
    "COLUMNS": "blendphot.baseline.run",
    "DetectionSettings": "blendphot.baseline.settings",
    "DETECTION_CODES": "blendphot.baseline.sep_photometry",
    "KronSettings": "blendphot.baseline.settings",
    "PROBLEMS": "blendphot.baseline.sep_photometry",
    "PassSettings": "blendphot.baseline.settings",
    "ScarletSettings": "blendphot.baseline.settings",
    "associate": "blendphot.baseline.sep_photometry",
    "associate_indices": "blendphot.baseline.sep_photometry",
    "gather_shards": "blendphot.baseline.run",
    "kron_fluxes": "blendphot.baseline.kron",
    "measure_blend": "blendphot.baseline.sep_photometry",
    "measure_isolated": "blendphot.baseline.sep_photometry",
    "measure_set": "blendphot.baseline.run",
    "prepare_image": "blendphot.baseline.sep_photometry",
    "problem_counts": "blendphot.baseline.run",
    "run_baseline": "blendphot.baseline.run",
    "sep_pass": "blendphot.baseline.sep_photometry",
    "shard_rows": "blendphot.baseline.run",
    "table3": "blendphot.baseline.sep_photometry",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
