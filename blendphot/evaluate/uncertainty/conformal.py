"""Split-conformal calibration of the widths: fitted per group on the validation blends
(:func:`fit_calibration`), applied to any catalogue (:func:`interval`,
:func:`calibrated_columns`).

The calibration is split conformal on the signed normalised residual ``t = (true - flux) / s``
of the validation blends: for each nominal level ``p`` the ``(1 - p) / 2`` and ``(1 + p) / 2``
quantiles of ``t`` (with the finite-sample correction), per group
(:func:`~blendphot.evaluate.uncertainty.grouping.groups`). The interval at level ``p`` is
``[flux + q_lo s, flux + q_hi s]``: asymmetric where the residuals are (a biased method's
interval is shifted). The catalogue gets the 68% interval (``_p16``, ``_p84``) and its
half-width (``_err``, the calibrated 1 sigma). A fit is a plain dict (written as JSON by the
calibration stage).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from blendphot.evaluate.uncertainty.columns import (
    ERR,
    ONE_SIGMA,
    P16,
    P84,
    bad_widths,
    has_raw_widths,
    role_arrays,
    role_prefixes,
    scales,
)
from blendphot.evaluate.uncertainty.grouping import groups, magnitude_edges, n_groups

LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, ONE_SIGMA, 0.8, 0.9, 0.95, 0.99)
"""Nominal levels the calibration is fitted at (the reliability figure's abscissae)."""


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
    magnitude_groups: int = 1,
) -> dict:
    """Calibration of one method on a (validation) catalogue, both roles pooled.

    Returns ``{normaliser, edges, by_detection, separation_edges, magnitude_edges, levels,
    lower, upper, n, n_bad_width}`` (groups: :func:`groups`; ``magnitude_edges``: the
    ``magnitude_groups`` equal-count groups of the method's own measured magnitudes on these
    blends, :func:`magnitude_edges`):
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
    bright = magnitude_edges(flux[ok], magnitude_groups)
    group = groups(
        {k: v[ok] for k, v in arrays.items()}, edges, by_detection, separation_edges, bright
    )
    pooled = [conformal_bounds(t, p) for p in LEVELS]
    lower, upper, counts = [], [], []
    for g in range(n_groups(edges, by_detection, separation_edges, bright)):
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
        "magnitude_edges": bright,
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
    magnitude_groups: int = 1,
) -> dict[str, dict]:
    """Calibration of every method (catalogue column suffix) of a validation catalogue;
    ``separation_edges`` needs the catalogue's ``sep_separation``."""
    if separation_edges is not None and "sep_separation" not in catalog:
        raise ValueError("separation groups need sep's detection separation (sep_separation)")
    return {
        col: fit_method(
            catalog, col, edges, min_group, by_detection, separation_edges, magnitude_groups
        )
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
    g = groups(
        arrays,
        fit["edges"],
        fit["by_detection"],
        fit.get("separation_edges"),
        fit.get("magnitude_edges"),
    )
    lo = np.asarray(fit["lower"], float)[g, k]
    hi = np.asarray(fit["upper"], float)[g, k]
    usable = ~bad_widths(arrays["flux"], scale) & np.isfinite(arrays["flux"])
    with np.errstate(invalid="ignore"):
        low = np.where(usable, arrays["flux"] + lo * scale, np.nan)
        high = np.where(usable, arrays["flux"] + hi * scale, np.nan)
    return low, high


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
