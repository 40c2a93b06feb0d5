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
"""

from __future__ import annotations

import math
import re
from statistics import NormalDist

import numpy as np
import pandas as pd

RAW, ERR, P16, P84 = "_err_raw", "_err", "_p16", "_p84"
ERROR_SUFFIXES = (RAW, ERR, P16, P84)
"""Suffixes of a method's uncertainty columns: ``g1_flux_<col><suffix>``."""
ONE_SIGMA = math.erf(1 / math.sqrt(2))  # 0.6827: the level of a 1-sigma interval
LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, ONE_SIGMA, 0.8, 0.9, 0.95, 0.99)
"""Nominal levels the calibration is fitted at (the reliability figure's abscissae)."""
REPORTED = {"68": ONE_SIGMA, "95": 0.95}
"""Levels of the coverage columns of the metrics (suffix -> level)."""


def is_uncertainty_column(column: str) -> bool:
    """Whether a catalogue column holds a method's uncertainty rather than its flux."""
    return re.match(r"g\d+_flux_", column) is not None and column.endswith(ERROR_SUFFIXES)


def role_prefixes(catalog: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Role -> (own prefix, the other galaxy's prefix) of every slot of the catalogue."""
    from blendphot.evaluate.metrics import catalog_roles, other_prefix

    return {role: (g, other_prefix(role)) for role, g in catalog_roles(catalog).items()}


def gaussian_quantile(level: float) -> float:
    """z such that a Gaussian's central interval +-z sigma holds ``level``."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def role_arrays(catalog: pd.DataFrame, column: str, role: str) -> dict[str, np.ndarray]:
    """One role's flux, the other galaxy's flux (same method), truth and raw width (NaN
    when the method has none)."""
    own, other = role_prefixes(catalog)[role]
    raw = f"{own}_flux_{column}{RAW}"
    n = len(catalog)
    return {
        "flux": catalog[f"{own}_flux_{column}"].to_numpy(float),
        "other": catalog[f"{other}_flux_{column}"].to_numpy(float),
        "true": catalog[f"{own}_flux"].to_numpy(float),
        "raw": catalog[raw].to_numpy(float) if raw in catalog else np.full(n, np.nan),
        "detection": catalog["detection"].to_numpy(float),
        "separation": (
            catalog["sep_separation"].to_numpy(float)
            if "sep_separation" in catalog
            else np.full(n, np.nan)
        ),
    }


def has_raw_widths(catalog: pd.DataFrame, column: str) -> bool:
    """Whether the method of this column gives its own widths."""
    return f"g1_flux_{column}{RAW}" in catalog and f"g2_flux_{column}{RAW}" in catalog


def scales(flux: np.ndarray, raw: np.ndarray, own_widths: bool) -> np.ndarray:
    """The normalising scale: the raw width, or |flux| for a method without widths."""
    return raw if own_widths else np.abs(flux)


def bad_widths(flux: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Where the flux is finite but its scale is not a usable width (non-finite or <= 0)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(flux) & ~(np.isfinite(scale) & (scale > 0))


def groups(
    arrays: dict[str, np.ndarray],
    edges: list[float],
    by_detection: bool,
    separation_edges: list[float] | None = None,
) -> np.ndarray:
    """Group of each galaxy: the bin of its measured magnitude difference (own - other's,
    from the method's own fluxes) between ``edges``, ``len(edges) + 1`` where the method has
    no positive flux for one of the two; within that, an observable of how much the two
    overlap (:func:`n_groups` in all): with ``separation_edges``, the bin of sep's distance
    between the two detections in units of their sizes (a group of its own where sep did not
    find both), else with ``by_detection`` the blends where sep found exactly the two
    galaxies and the others."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dmag = -2.5 * np.log10(arrays["flux"] / arrays["other"])
    out = np.searchsorted(np.asarray(edges, float), dmag, side="right")
    out = np.where(np.isfinite(dmag), out, len(edges) + 1)
    if separation_edges is not None:
        separation = arrays["separation"]
        overlap = np.searchsorted(np.asarray(separation_edges, float), separation, side="right")
        overlap = np.where(np.isfinite(separation), overlap, len(separation_edges) + 1)
        out = out + (len(edges) + 2) * overlap
    elif by_detection:
        out = out + (len(edges) + 2) * (arrays["detection"] != 2)
    return out


def n_groups(
    edges: list[float], by_detection: bool, separation_edges: list[float] | None = None
) -> int:
    """How many groups :func:`groups` makes."""
    if separation_edges is not None:
        return (len(edges) + 2) * (len(separation_edges) + 2)
    return (len(edges) + 2) * (2 if by_detection else 1)


def conformal_bounds(t: np.ndarray, level: float) -> tuple[float, float]:
    """Lower and upper split-conformal bounds of residuals ``t`` for a central interval of
    ``level``: the floor((n + 1)(1 - level) / 2)-th and ceil((n + 1)(1 + level) / 2)-th
    smallest, so that each tail holds at most (1 - level) / 2 of a new residual; the
    smallest and largest residuals where n is too small for that."""
    ordered = np.sort(np.asarray(t, float))
    n = len(ordered)
    upper = math.ceil((n + 1) * (1 + level) / 2 - 1e-9)
    lower = math.floor((n + 1) * (1 - level) / 2 + 1e-9)
    return float(ordered[max(lower, 1) - 1]), float(ordered[min(upper, n) - 1])


def fit_method(
    catalog: pd.DataFrame,
    column: str,
    edges: list[float],
    min_group: int,
    by_detection: bool,
    separation_edges: list[float] | None = None,
) -> dict:
    """Calibration of one method on a (validation) catalogue, both roles pooled.

    Returns ``{normaliser, edges, by_detection, separation_edges, levels, lower, upper, n,
    n_bad_width}`` (groups: :func:`groups`):
    ``lower``/``upper``
    hold one list per group of the quantiles at each of :data:`LEVELS`; a group with fewer
    than ``min_group`` galaxies takes the pooled quantiles.
    """
    own = has_raw_widths(catalog, column)
    parts = [role_arrays(catalog, column, role) for role in role_prefixes(catalog)]
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    flux, true = arrays["flux"], arrays["true"]
    scale = scales(flux, arrays["raw"], own)
    bad = bad_widths(flux, scale)
    ok = np.isfinite(flux) & np.isfinite(true) & ~bad
    t = (true[ok] - flux[ok]) / scale[ok]
    if t.size == 0:
        raise ValueError(f"method {column}: no galaxy with a flux and a width to calibrate on")
    group = groups({k: v[ok] for k, v in arrays.items()}, edges, by_detection, separation_edges)
    pooled = [conformal_bounds(t, p) for p in LEVELS]
    lower, upper, counts = [], [], []
    for g in range(n_groups(edges, by_detection, separation_edges)):
        inside = t[group == g]
        bounds = (
            [conformal_bounds(inside, p) for p in LEVELS] if inside.size >= min_group else pooled
        )
        lower.append([b[0] for b in bounds])
        upper.append([b[1] for b in bounds])
        counts.append(int(inside.size))
    return {
        "normaliser": "own width" if own else "relative",
        "edges": [float(e) for e in edges],
        "by_detection": bool(by_detection),
        "separation_edges": (
            None if separation_edges is None else [float(e) for e in separation_edges]
        ),
        "levels": list(LEVELS),
        "lower": lower,
        "upper": upper,
        "n": counts,
        "n_bad_width": int(bad.sum()),
    }


def fit_calibration(
    catalog: pd.DataFrame,
    columns: list[str],
    edges: list[float],
    min_group: int,
    by_detection: bool = True,
    separation_edges: list[float] | None = None,
) -> dict[str, dict]:
    """Calibration of every method (catalogue column suffix) of a validation catalogue;
    ``separation_edges`` needs the catalogue's ``sep_separation``."""
    if separation_edges is not None and "sep_separation" not in catalog:
        raise ValueError("separation groups need sep's detection separation (sep_separation)")
    return {
        col: fit_method(catalog, col, edges, min_group, by_detection, separation_edges)
        for col in columns
    }


def interval(
    arrays: dict[str, np.ndarray], fit: dict, level: float, own_widths: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated interval (low, high) at a fitted ``level`` of one role's galaxies; NaN where
    the flux or its width is unusable."""
    k = int(np.argmin(np.abs(np.asarray(fit["levels"]) - level)))
    if not math.isclose(fit["levels"][k], level, abs_tol=1e-6):
        raise ValueError(f"level {level} was not fitted (levels {fit['levels']})")
    scale = scales(arrays["flux"], arrays["raw"], own_widths)
    g = groups(arrays, fit["edges"], fit["by_detection"], fit.get("separation_edges"))
    lo = np.asarray(fit["lower"], float)[g, k]
    hi = np.asarray(fit["upper"], float)[g, k]
    usable = ~bad_widths(arrays["flux"], scale) & np.isfinite(arrays["flux"])
    with np.errstate(invalid="ignore"):
        low = np.where(usable, arrays["flux"] + lo * scale, np.nan)
        high = np.where(usable, arrays["flux"] + hi * scale, np.nan)
    return low, high


def raw_interval(arrays: dict[str, np.ndarray], level: float) -> tuple[np.ndarray, np.ndarray]:
    """The method's own Gaussian interval flux +- z sigma (NaN where it has no width)."""
    z = gaussian_quantile(level)
    with np.errstate(invalid="ignore"):
        usable = arrays["raw"] > 0
        half = np.where(usable, z * arrays["raw"], np.nan)
    return arrays["flux"] - half, arrays["flux"] + half


def calibrated_columns(catalog: pd.DataFrame, column: str, fit: dict) -> dict[str, np.ndarray]:
    """The catalogue's calibrated columns of one method: ``g1_flux_<col>_err`` (half-width of
    the 68% interval), ``_p16`` and ``_p84`` (its ends), for both galaxies."""
    own = has_raw_widths(catalog, column)
    out = {}
    for role, (prefix, _) in role_prefixes(catalog).items():
        low, high = interval(role_arrays(catalog, column, role), fit, ONE_SIGMA, own)
        out[f"{prefix}_flux_{column}{ERR}"] = (high - low) / 2
        out[f"{prefix}_flux_{column}{P16}"] = low
        out[f"{prefix}_flux_{column}{P84}"] = high
    return out


def gaussian_nll(true: np.ndarray, centre: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Negative log-likelihood of ``true`` under N(centre, sigma^2), per galaxy."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (true - centre) / sigma
        return 0.5 * z**2 + np.log(sigma) + 0.5 * math.log(2 * math.pi)


def coverage_flags(
    arrays: dict[str, np.ndarray], fit: dict | None, own: bool, level: float, raw: bool
) -> np.ndarray:
    """Whether each galaxy's truth lies in its interval (calibrated, or the method's own with
    ``raw``); a bad width counts as not covered."""
    if raw:
        low, high = raw_interval(arrays, level)
    else:
        low, high = interval(arrays, fit, level, own)
    with np.errstate(invalid="ignore"):
        return (arrays["true"] >= low) & (arrays["true"] <= high)


def uncertainty_summary(
    arrays: dict[str, np.ndarray], fit: dict | None, own: bool
) -> dict[str, float]:
    """Coverage (per cent) of the 68% and 95% intervals, calibrated and raw; median relative
    width (68% half-width / true flux); mean Gaussian NLL (flux units of the catalogue),
    calibrated and raw; bad widths. Over the galaxies with a finite flux."""
    measured = np.isfinite(arrays["flux"]) & np.isfinite(arrays["true"])
    sub = {k: v[measured] for k, v in arrays.items()}
    nan = float("nan")
    row: dict[str, float] = {
        "n_bad_width": int(bad_widths(sub["flux"], scales(sub["flux"], sub["raw"], own)).sum())
    }
    if not measured.any():
        return row
    for name, level in REPORTED.items():
        row[f"coverage{name}"] = (
            100 * float(np.mean(coverage_flags(sub, fit, own, level, False))) if fit else nan
        )
        row[f"coverage{name}_raw"] = (
            100 * float(np.mean(coverage_flags(sub, fit, own, level, True))) if own else nan
        )
    if fit:
        low, high = interval(sub, fit, ONE_SIGMA, own)
        half = (high - low) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            row["median_relative_width"] = float(np.nanmedian(half / np.abs(sub["true"])))
        nll = gaussian_nll(sub["true"], (low + high) / 2, half)
        row["nll"] = float(np.mean(nll)) if np.isfinite(nll).all() else nan
    if own:
        nll = gaussian_nll(sub["true"], sub["flux"], sub["raw"])
        row["nll_raw"] = float(np.mean(nll)) if np.isfinite(nll).all() else nan
    return row


def reliability_table(catalog: pd.DataFrame, methods: list, calibration: dict) -> pd.DataFrame:
    """Empirical against nominal coverage (per cent) at every fitted level, per method, both
    roles pooled, calibrated and raw (NaN for a method without its own widths)."""
    rows = []
    for method in methods:
        fit = calibration.get(method.column)
        own = has_raw_widths(catalog, method.column)
        parts = [role_arrays(catalog, method.column, role) for role in role_prefixes(catalog)]
        arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        measured = np.isfinite(arrays["flux"]) & np.isfinite(arrays["true"])
        arrays = {k: v[measured] for k, v in arrays.items()}
        for level in LEVELS:
            cal = coverage_flags(arrays, fit, own, level, False) if fit else None
            raw = coverage_flags(arrays, fit, own, level, True) if own else None
            rows.append(
                {
                    "method": method.label,
                    "nominal": 100 * level,
                    "coverage": 100 * float(np.mean(cal)) if cal is not None else np.nan,
                    "coverage_raw": 100 * float(np.mean(raw)) if raw is not None else np.nan,
                }
            )
    return pd.DataFrame(rows)


def uncertainty_table(catalog: pd.DataFrame, methods: list, calibration: dict) -> pd.DataFrame:
    """One row per (selection, method, role) as the metrics table, role 'both' pooling the
    two galaxies, with the columns of :func:`uncertainty_summary`."""
    from blendphot.evaluate.metrics import catalog_selections

    rows = []
    for sel_name, masks in catalog_selections(catalog).items():
        for method in methods:
            fit = calibration.get(method.column)
            own = has_raw_widths(catalog, method.column)
            parts = {
                role: {
                    k: v[masks[role]] for k, v in role_arrays(catalog, method.column, role).items()
                }
                for role in role_prefixes(catalog)
            }
            every = list(parts.values())
            parts["both"] = {k: np.concatenate([p[k] for p in every]) for k in every[0]}
            for role, arrays in parts.items():
                rows.append(
                    {
                        "selection": sel_name,
                        "method": method.label,
                        "role": role,
                        **uncertainty_summary(arrays, fit, own),
                    }
                )
    return pd.DataFrame(rows)


def bin_masks(x: np.ndarray, edges: np.ndarray) -> list[np.ndarray]:
    """One boolean mask per bin between consecutive ``edges`` (the last bin closed), finite
    values only."""
    last = len(edges) - 2
    return [
        np.isfinite(x) & (x >= lo) & ((x <= hi) if k == last else (x < hi))
        for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))
    ]


def binned_coverage(catalog: pd.DataFrame, methods: list, calibration: dict) -> pd.DataFrame:
    """Calibrated coverage (per cent) of the 68% and 95% intervals in the bins of the binned
    metrics (magnitude difference, distance / radius; figure-5 selection), per method and
    role (and 'both'), keyed as :func:`blendphot.evaluate.metrics.binned_table`'s rows of
    type 'all'. Galaxies with a flux but a bad width count as not covered."""
    from blendphot.evaluate.metrics import (
        BINNED_AXES,
        axis_edges,
        catalog_selections,
        role_quantities,
    )

    mask = catalog_selections(catalog)["figure5"]
    rows = []
    for method in methods:
        fit = calibration.get(method.column)
        if fit is None:
            continue
        own = has_raw_widths(catalog, method.column)
        per_role = {}
        for role in role_prefixes(catalog):
            arrays = {
                k: v[mask[role]] for k, v in role_arrays(catalog, method.column, role).items()
            }
            quantities = {k: v[mask[role]] for k, v in role_quantities(catalog, role).items()}
            flags = {n: coverage_flags(arrays, fit, own, p, False) for n, p in REPORTED.items()}
            # every galaxy with a flux (a bad width counts as not covered)
            kept = np.isfinite(arrays["flux"]) & np.isfinite(arrays["true"])
            per_role[role] = (quantities, flags, kept)
        per_role["both"] = tuple(
            {
                k: np.concatenate([per_role[r][i][k] for r in role_prefixes(catalog)])
                for k in per_role["central"][i]
            }
            for i in (0, 1)
        ) + (np.concatenate([per_role[r][2] for r in role_prefixes(catalog)]),)
        for role, (quantities, flags, kept) in per_role.items():
            for axis in BINNED_AXES:
                x = quantities[axis]
                edges = axis_edges(axis, x)  # as the binned metrics: all selected galaxies
                for lo, hi, inside in zip(edges[:-1], edges[1:], bin_masks(x, edges), strict=True):
                    inside = kept & inside
                    row = {
                        "method": method.label,
                        "role": role,
                        "axis": axis,
                        "type": "all",
                        "bin_low": lo,
                        "bin_high": hi,
                        "n_coverage": int(inside.sum()),
                    }
                    for name, covered in flags.items():
                        row[f"coverage{name}"] = (
                            100 * float(np.mean(covered[inside])) if inside.any() else np.nan
                        )
                    rows.append(row)
    return pd.DataFrame(rows)


MIN_BIN = 20
"""Bins with fewer galaxies are left out of the worst-bin columns of the report."""


def uncertainty_report(
    metrics: pd.DataFrame, binned: pd.DataFrame, bootstrap: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per method: the uncertainty columns of the metrics (selection 'all', role
    'both') and the largest distance (points) of a bin's calibrated coverage from its nominal
    level over the binned metrics (role 'both', bins of at least :data:`MIN_BIN` galaxies);
    with ``bootstrap`` (:func:`bootstrap_table`), each coverage's standard error beside it
    and each worst bin's noise level after it."""
    rows = metrics[(metrics["selection"] == "all") & (metrics["role"] == "both")]
    columns = [
        "method",
        "n",
        "n_bad_width",
        "coverage68_raw",
        "coverage68",
        "coverage95_raw",
        "coverage95",
        "median_relative_width",
        "nll_raw",
        "nll",
    ]
    report = rows[[c for c in columns if c in rows]].reset_index(drop=True)
    bins = binned[
        (binned["role"] == "both") & (binned["type"] == "all") & (binned["n_coverage"] >= MIN_BIN)
    ]
    for name, level in REPORTED.items():
        for axis in ("mag_difference", "distance_over_radius"):
            part = bins[bins["axis"] == axis]
            worst = (part[f"coverage{name}"] - 100 * level).abs().groupby(part["method"]).max()
            report[f"worst_bin{name}_{axis}"] = report["method"].map(worst)
    if bootstrap is None:
        return report
    extra = bootstrap.set_index("method")
    ordered = ["method", "n", "n_galaxies"]
    for column in report.columns[1:]:
        ordered.append(column)
        for name in (f"{column}_se", column.replace("worst_bin", "worst_bin_noise", 1)):
            if name != column and name in extra:
                ordered.append(name)
    for column in extra.columns:
        report[column] = report["method"].map(extra[column])
    return report[[c for c in dict.fromkeys(ordered) if c in report]]


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


def _pooled(catalog: pd.DataFrame, column: str, masks: dict[str, np.ndarray]) -> dict:
    """Both roles' arrays of one method over the rows ``masks[role]``, with the galaxy ids
    and the binned quantities, concatenated (central first)."""
    from blendphot.evaluate.metrics import role_quantities

    parts = []
    for role in role_prefixes(catalog):
        part = {**role_arrays(catalog, column, role), **role_quantities(catalog, role)}
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
    from blendphot.evaluate.metrics import BINNED_AXES, axis_edges, catalog_selections

    chosen = catalog_selections(catalog)
    rows = []
    for method in methods:
        fit = calibration.get(method.column)
        if fit is None:
            continue
        own = has_raw_widths(catalog, method.column)
        row: dict = {"method": method.label}
        for selection in ("all", "figure5"):
            arrays = _pooled(catalog, method.column, chosen[selection])
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
                    x = arrays[axis]
                    row[f"worst_bin_noise{name}_{axis}"] = bootstrap_worst_bin_noise(
                        flags, bin_masks(x, axis_edges(axis, x)), weights, MIN_BIN
                    )
        rows.append(row)
    return pd.DataFrame(rows)
