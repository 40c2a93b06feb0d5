"""Sampling noise of the coverage figures: a bootstrap over the distinct galaxies (a galaxy
is in many blends), giving each coverage's standard error and the worst-bin distance that
noise alone gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from blendphot.evaluate.uncertainty.columns import has_raw_widths, role_arrays, role_prefixes
from blendphot.evaluate.uncertainty.coverage import MIN_BIN, REPORTED, bin_masks, coverage_flags

BOOTSTRAP_SEED = 14
"""Seed of the galaxy-level bootstrap of the report (fixed: reproducible standard errors)."""
N_BOOTSTRAP = 1000
"""Replicates of that bootstrap (0.3 s for seven methods on 600 test blends)."""


def galaxy_ids(catalog: pd.DataFrame, role: str) -> np.ndarray:
    """Identifier of each blend's galaxy in ``role`` (the catalogue's ``g1_id``/``g2_id``)."""
    return catalog[f"{role_prefixes(catalog)[role][0]}_id"].to_numpy()


def bootstrap_weights(ids: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Weights (n_boot, len(ids)) of a bootstrap over the distinct galaxies: each replicate
    draws as many galaxies as there are distinct ones, with replacement, and every entry of
    a galaxy (it is in many blends) counts as often as the galaxy was drawn. Blends sharing a
    galaxy have correlated residuals: resampling entries would understate the noise."""
    distinct, inverse = np.unique(np.asarray(ids), return_inverse=True)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, distinct.size, size=(n_boot, distinct.size))
    counts = np.zeros((n_boot, distinct.size))
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
    return counts[:, inverse.ravel()]


def weighted_fraction(flags: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per cent of ``flags`` true under each replicate's weights (NaN for an empty one)."""
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100 * (weights @ np.asarray(flags, float)) / total


def bootstrap_coverage_error(flags: np.ndarray, weights: np.ndarray) -> float:
    """Standard error (points) of a coverage over the bootstrap replicates' weights."""
    return float(np.nanstd(weighted_fraction(flags, weights), ddof=1))


def bootstrap_worst_bin_noise(
    flags: np.ndarray, bins: list[np.ndarray], weights: np.ndarray, min_bin: int
) -> float:
    """The worst-bin distance that sampling noise alone gives: the median over the bootstrap
    replicates of the largest |replicate's bin coverage - the observed one| over the bins of
    at least ``min_bin`` galaxies (``bins``: one boolean mask per bin). A worst bin well
    above it is miscalibration; one near it is noise of the few distinct galaxies."""
    flags = np.asarray(flags, float)
    deviations = []
    for inside in bins:
        if inside.sum() < min_bin:
            continue
        observed = 100 * flags[inside].mean()
        deviations.append(np.abs(weighted_fraction(flags[inside], weights[:, inside]) - observed))
    if not deviations:
        return float("nan")
    return float(np.nanmedian(np.nanmax(np.vstack(deviations), axis=0)))


def _pooled(catalog: pd.DataFrame, method, masks: dict[str, np.ndarray]) -> dict:
    """Both roles' arrays of one method over the rows ``masks[role]``, with the galaxy ids
    and the binned quantities, concatenated (central first)."""
    from blendphot.evaluate.metrics import method_quantities

    parts = []
    for role in role_prefixes(catalog):
        part = {
            **role_arrays(catalog, method.column, role),
            **method_quantities(catalog, method, role),
        }
        part["id"] = galaxy_ids(catalog, role)
        parts.append({k: v[masks[role]] for k, v in part.items()})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def bootstrap_table(
    catalog: pd.DataFrame, methods: list, calibration: dict, n_boot: int, seed: int
) -> pd.DataFrame:
    """Per method (role 'both'): the galaxy-level bootstrap standard error (points) of the
    calibrated 68% and 95% coverage (selection 'all'; also of the raw one for a method with
    its own widths) and the worst-bin distance sampling
    noise alone gives (:func:`bootstrap_worst_bin_noise`) over the bins of
    :func:`binned_coverage` (figure-5 selection), as columns ``coverage68_se`` and
    ``worst_bin_noise68_<axis>``; the distinct galaxies in ``n_galaxies``."""
    from blendphot.evaluate.metrics import BINNED_AXES, binned_edges, catalog_selections

    chosen = catalog_selections(catalog)
    rows = []
    for method in methods:
        fit = calibration.get(method.column)
        if fit is None:
            continue
        own = has_raw_widths(catalog, method.column)
        row: dict = {"method": method.label}
        for selection in ("all", "figure5"):
            arrays = _pooled(catalog, method, chosen[selection])
            kept = np.isfinite(arrays["flux"]) & np.isfinite(arrays["true"])
            arrays = {k: v[kept] for k, v in arrays.items()}
            weights = bootstrap_weights(arrays["id"], n_boot, seed)
            for name, level in REPORTED.items():
                flags = coverage_flags(arrays, fit, own, level, False)
                if selection == "all":
                    row["n_galaxies"] = int(np.unique(arrays["id"]).size)
                    row[f"coverage{name}_se"] = bootstrap_coverage_error(flags, weights)
                    if own:
                        raw = coverage_flags(arrays, fit, own, level, True)
                        row[f"coverage{name}_raw_se"] = bootstrap_coverage_error(raw, weights)
                    continue
                for axis in BINNED_AXES:
                    bins = bin_masks(arrays[axis], binned_edges(axis, arrays))
                    row[f"worst_bin_noise{name}_{axis}"] = bootstrap_worst_bin_noise(
                        flags, bins, weights, MIN_BIN
                    )
        rows.append(row)
    return pd.DataFrame(rows)
