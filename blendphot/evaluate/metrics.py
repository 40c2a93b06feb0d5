"""Photometric metrics of the paper (section 4.1): bias, scatter, outliers, MAPE."""

from __future__ import annotations

import numpy as np
import pandas as pd

ROLES = {"central": "g1", "companion": "g2"}


def magnitudes(flux: np.ndarray, zeropoint: float) -> np.ndarray:
    """AB magnitudes; NaN where the flux is missing or not positive."""
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, zeropoint - 2.5 * np.log10(flux), np.nan)


def photometry_summary(
    mag_pred: np.ndarray,
    mag_true: np.ndarray,
    flux_pred: np.ndarray,
    flux_true: np.ndarray,
    outlier_threshold: float = 0.75,
) -> dict[str, float]:
    """Bias (mean dmag), sigma_mag (std of dmag), outlier fraction |dmag| > threshold,
    MAPE on flux and on magnitude (per cent), over the entries with a finite dmag.

    dmag = mag_pred - mag_true (mag_blend - mag_isolated). ``n_invalid`` counts the entries
    dropped because the prediction was missing or not positive.
    """
    dmag = np.asarray(mag_pred, float) - np.asarray(mag_true, float)
    ok = np.isfinite(dmag)
    d = dmag[ok]
    mt = np.asarray(mag_true, float)[ok]
    fp, ft = np.asarray(flux_pred, float)[ok], np.asarray(flux_true, float)[ok]
    if d.size == 0:
        nan = float("nan")
        return {
            "n": 0,
            "n_invalid": int((~ok).sum()),
            "bias": nan,
            "sigma_mag": nan,
            "outlier_fraction": nan,
            "mape_flux": nan,
            "mape_mag": nan,
        }
    return {
        "n": int(d.size),
        "n_invalid": int((~ok).sum()),
        "bias": float(np.mean(d)),
        "sigma_mag": float(np.std(d)),
        "outlier_fraction": float(np.mean(np.abs(d) > outlier_threshold)),
        "mape_flux": float(100.0 * np.mean(np.abs((ft - fp) / ft))),
        "mape_mag": float(100.0 * np.mean(np.abs(d / mt))),
    }


def selections(detection: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Row selections by role, as in the paper's figures.

    all: every blend; figure5: centrals where sep found the central (0, 2), companions where
    it found the companion (1, 2); figure6_top: both where sep found exactly two (2);
    figure6_bottom: both where sep under- or over-deblended (0, 1, 3).
    """
    det = np.asarray(detection)
    every = np.ones(det.shape, dtype=bool)
    return {
        "all": {"central": every, "companion": every},
        "figure5": {"central": np.isin(det, (0, 2)), "companion": np.isin(det, (1, 2))},
        "figure6_top": {"central": det == 2, "companion": det == 2},
        "figure6_bottom": {
            "central": np.isin(det, (0, 1, 3)),
            "companion": np.isin(det, (0, 1, 3)),
        },
    }


def method_arrays(catalog: pd.DataFrame, method, role: str) -> tuple[np.ndarray, ...]:
    """(mag_pred, mag_true, flux_pred, flux_true) of one method for one role."""
    g = ROLES[role]
    flux_pred = catalog[f"{g}_flux_{method.column}"].to_numpy(dtype=float)
    flux_true = catalog[f"{g}_flux"].to_numpy(dtype=float)
    mag_true = catalog[f"{g}_mag"].to_numpy(dtype=float)
    return magnitudes(flux_pred, method.zeropoint), mag_true, flux_pred, flux_true


def metrics_table(catalog: pd.DataFrame, methods: list, outlier_threshold: float) -> pd.DataFrame:
    """One row per (selection, method, role), plus role 'both' pooling the two galaxies."""
    rows = []
    for sel_name, masks in selections(catalog["detection"].to_numpy()).items():
        for method in methods:
            pooled = []
            for role in ROLES:
                arrays = [a[masks[role]] for a in method_arrays(catalog, method, role)]
                pooled.append(arrays)
                summary = photometry_summary(*arrays, outlier_threshold)
                rows.append(
                    {"selection": sel_name, "method": method.label, "role": role, **summary}
                )
            both = [np.concatenate(parts) for parts in zip(*pooled, strict=True)]
            rows.append(
                {
                    "selection": sel_name,
                    "method": method.label,
                    "role": "both",
                    **photometry_summary(*both, outlier_threshold),
                }
            )
    return pd.DataFrame(rows)
