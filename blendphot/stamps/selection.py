"""Selection of clean, isolated galaxies with unambiguous morphology (paper 2.1, rules i-iv)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def classify_morphology(
    p_sph: np.ndarray, p_disk: np.ndarray, p_irr: np.ndarray, threshold: float = 0.8
) -> np.ndarray:
    """Type from the morphology probabilities; '' where no rule applies.

    (i) P_SPH > t: bulge (sph); (ii) P_DISK > t: disc; (iii) both: bulge+disc (sphd);
    (iv) P_IRR > t: irregular.
    """
    sph = np.asarray(p_sph) > threshold
    disk = np.asarray(p_disk) > threshold
    irr = np.asarray(p_irr) > threshold
    out = np.full(sph.shape, "", dtype=object)
    out[irr] = "irr"
    out[disk] = "disk"
    out[sph] = "sph"
    out[sph & disk] = "sphd"
    return out.astype(str)


def select_galaxies(
    catalog: pd.DataFrame, mag_max: float, threshold: float, exclude_ids: list[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the paper's selection; return (selected before exclusion, selected after)."""
    types = classify_morphology(catalog["p_sph"], catalog["p_disk"], catalog["p_irr"], threshold)
    keep = (types != "") & (catalog["mag"].to_numpy() < mag_max)
    before = catalog.loc[keep].copy()
    before["type"] = types[keep]
    after = before.loc[~before["id"].isin(set(exclude_ids))].copy()
    return before.reset_index(drop=True), after.reset_index(drop=True)
