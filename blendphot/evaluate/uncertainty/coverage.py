"""Coverage of the intervals, calibrated and raw: the metrics' uncertainty columns
(:func:`uncertainty_table`), the reliability curve (:func:`reliability_table`), the coverage
per bin (:func:`binned_coverage`) and the report (:func:`uncertainty_report`). A bad width
counts as not covered in every coverage figure."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

from blendphot.evaluate.uncertainty.columns import (
    ONE_SIGMA,
    bad_widths,
    has_raw_widths,
    role_arrays,
    role_prefixes,
    scales,
)
from blendphot.evaluate.uncertainty.conformal import LEVELS, interval

REPORTED = {"68": ONE_SIGMA, "95": 0.95}
"""Levels of the coverage columns of the metrics (suffix -> level)."""


def gaussian_quantile(level: float) -> float:
    """z such that a Gaussian's central interval +-z sigma holds ``level``."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def raw_interval(arrays: dict[str, np.ndarray], level: float) -> tuple[np.ndarray, np.ndarray]:
    """The method's own Gaussian interval flux +- z sigma (NaN where it has no width)."""
    z = gaussian_quantile(level)
    with np.errstate(invalid="ignore"):
        usable = arrays["raw"] > 0
        half = np.where(usable, z * arrays["raw"], np.nan)
    return arrays["flux"] - half, arrays["flux"] + half


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
    metrics (:data:`~blendphot.evaluate.metrics.BINNED_AXES`: magnitude difference, distance /
    radius, the method's own magnitude, sep's separation; figure-5 selection), per method and
    role (and 'both'), keyed as :func:`blendphot.evaluate.metrics.binned_table`'s rows of
    type 'all'. Galaxies with a flux but a bad width count as not covered."""
    from blendphot.evaluate.metrics import (
        BINNED_AXES,
        binned_edges,
        catalog_selections,
        method_quantities,
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
            quantities = {
                k: v[mask[role]] for k, v in method_quantities(catalog, method, role).items()
            }
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
                edges = binned_edges(axis, quantities)  # as the binned metrics
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
    level over each axis of the binned metrics (role 'both', bins of at least :data:`MIN_BIN`
    galaxies);
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
    from blendphot.evaluate.metrics import BINNED_AXES

    for name, level in REPORTED.items():
        for axis in BINNED_AXES:
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
