"""A method's uncertainty columns in the output catalogue, and each role's arrays.

Every method's flux of a galaxy comes with a scale ``s``: the method's own 1-sigma error
(``g1_flux_<col>_err_raw``: sep's noise errors, the oracle's Cramer-Rao error, a network's
width) or, for a method without one, its flux itself (relative residuals). A scale that is not
finite or not positive where the flux is finite is a bad width (:func:`bad_widths`).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

RAW, ERR, P16, P84 = "_err_raw", "_err", "_p16", "_p84"
ERROR_SUFFIXES = (RAW, ERR, P16, P84)
"""Suffixes of a method's uncertainty columns: ``g1_flux_<col><suffix>``."""
ONE_SIGMA = math.erf(1 / math.sqrt(2))  # 0.6827: the level of a 1-sigma interval


def is_uncertainty_column(column: str) -> bool:
    """Whether a catalogue column holds a method's uncertainty rather than its flux."""
    return re.match(r"g\d+_flux_", column) is not None and column.endswith(ERROR_SUFFIXES)


def role_prefixes(catalog: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Role -> (own prefix, the other galaxy's prefix) of every slot of the catalogue."""
    from blendphot.evaluate.metrics import catalog_roles, other_prefix

    return {role: (g, other_prefix(role)) for role, g in catalog_roles(catalog).items()}


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
