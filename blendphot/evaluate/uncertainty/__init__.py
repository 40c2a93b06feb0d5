"""Per-galaxy flux uncertainties: raw widths, their calibration on the validation blends, and
the coverage metrics of the calibrated intervals.

Every method's flux of a galaxy comes with a scale ``s``: the method's own 1-sigma error
(``g1_flux_<col>_err_raw``: sep's noise errors, the oracle's Cramer-Rao error, a network's
width) or, for a method without one, its flux itself (relative residuals). The calibration is
split conformal on the signed normalised residual ``t = (true - flux) / s`` of the validation
blends: for each nominal level ``p`` the ``(1 - p) / 2`` and ``(1 + p) / 2`` quantiles of ``t``
(with the finite-sample correction), per group of the galaxy's magnitude difference as the
method itself measures it (own minus other's; a group of its own when the method has no flux
for the other galaxy), so that the coverage holds across blend configurations, not only on
average. The interval at level ``p`` is ``[flux + q_lo s, flux + q_hi s]``: asymmetric where
the residuals are (a biased method's interval is shifted). The catalogue gets the 68% interval
(``_p16``, ``_p84``) and its half-width (``_err``, the calibrated 1 sigma).

A scale that is not finite or not positive where the flux is finite is a bad width: counted
per method and role (``n_bad_width``), and counted as not covered in every coverage figure.

The modules, in the order of the work: :mod:`~blendphot.evaluate.uncertainty.columns` (the
catalogue's uncertainty columns, each role's arrays, bad widths),
:mod:`~blendphot.evaluate.uncertainty.grouping` (the groups),
:mod:`~blendphot.evaluate.uncertainty.conformal` (the fit and its application),
:mod:`~blendphot.evaluate.uncertainty.coverage` (coverage tables and the report),
:mod:`~blendphot.evaluate.uncertainty.bootstrap` (their sampling noise). Names are imported on
first use (blendphot.lazy).
"""

from blendphot.lazy import lazy_exports

_EXPORTS = {
    "BOOTSTRAP_SEED": "blendphot.evaluate.uncertainty.bootstrap",
    "ERR": "blendphot.evaluate.uncertainty.columns",
    "ERROR_SUFFIXES": "blendphot.evaluate.uncertainty.columns",
    "LEVELS": "blendphot.evaluate.uncertainty.conformal",
    "MIN_BIN": "blendphot.evaluate.uncertainty.coverage",
    "N_BOOTSTRAP": "blendphot.evaluate.uncertainty.bootstrap",
    "ONE_SIGMA": "blendphot.evaluate.uncertainty.columns",
    "P16": "blendphot.evaluate.uncertainty.columns",
    "P84": "blendphot.evaluate.uncertainty.columns",
    "RAW": "blendphot.evaluate.uncertainty.columns",
    "REPORTED": "blendphot.evaluate.uncertainty.coverage",
    "bad_widths": "blendphot.evaluate.uncertainty.columns",
    "bin_masks": "blendphot.evaluate.uncertainty.coverage",
    "binned_coverage": "blendphot.evaluate.uncertainty.coverage",
    "bootstrap_coverage_error": "blendphot.evaluate.uncertainty.bootstrap",
    "bootstrap_table": "blendphot.evaluate.uncertainty.bootstrap",
    "bootstrap_weights": "blendphot.evaluate.uncertainty.bootstrap",
    "bootstrap_worst_bin_noise": "blendphot.evaluate.uncertainty.bootstrap",
    "calibrated_columns": "blendphot.evaluate.uncertainty.conformal",
    "conformal_bounds": "blendphot.evaluate.uncertainty.conformal",
    "coverage_flags": "blendphot.evaluate.uncertainty.coverage",
    "fit_calibration": "blendphot.evaluate.uncertainty.conformal",
    "fit_method": "blendphot.evaluate.uncertainty.conformal",
    "galaxy_ids": "blendphot.evaluate.uncertainty.bootstrap",
    "gaussian_nll": "blendphot.evaluate.uncertainty.coverage",
    "gaussian_quantile": "blendphot.evaluate.uncertainty.coverage",
    "groups": "blendphot.evaluate.uncertainty.grouping",
    "has_raw_widths": "blendphot.evaluate.uncertainty.columns",
    "interval": "blendphot.evaluate.uncertainty.conformal",
    "is_uncertainty_column": "blendphot.evaluate.uncertainty.columns",
    "magnitude_edges": "blendphot.evaluate.uncertainty.grouping",
    "measured_magnitudes": "blendphot.evaluate.uncertainty.grouping",
    "n_groups": "blendphot.evaluate.uncertainty.grouping",
    "raw_interval": "blendphot.evaluate.uncertainty.coverage",
    "reliability_table": "blendphot.evaluate.uncertainty.coverage",
    "role_arrays": "blendphot.evaluate.uncertainty.columns",
    "role_prefixes": "blendphot.evaluate.uncertainty.columns",
    "scales": "blendphot.evaluate.uncertainty.columns",
    "uncertainty_report": "blendphot.evaluate.uncertainty.coverage",
    "uncertainty_summary": "blendphot.evaluate.uncertainty.coverage",
    "uncertainty_table": "blendphot.evaluate.uncertainty.coverage",
    "weighted_fraction": "blendphot.evaluate.uncertainty.bootstrap",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
