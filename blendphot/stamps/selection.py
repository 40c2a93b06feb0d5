"""Selection of clean, isolated galaxies with unambiguous morphology (paper 2.1, rules i-iv)."""

from __future__ import annotations

import numpy as np
import pandas as pd

GALAXY_TYPES = ("sph", "disk", "sphd", "irr")
PROBABILITIES = ("p_sph", "p_disk", "p_irr")


def classify_morphology(
    p_sph: np.ndarray, p_disk: np.ndarray, p_irr: np.ndarray, threshold: float = 0.8
) -> np.ndarray:
    """Type from the morphology probabilities; '' where no rule applies.

    (i) P_SPH > t: bulge (sph); (ii) P_DISK > t: disc; (iii) both: bulge+disc (sphd);
    (iv) P_IRR > t: irregular.
    """
    sph = np.asarray(p_sph, dtype=float) > threshold
    disk = np.asarray(p_disk, dtype=float) > threshold
    irr = np.asarray(p_irr, dtype=float) > threshold
    out = np.full(sph.shape, "", dtype=object)
    out[irr] = "irr"
    out[disk] = "disk"
    out[sph] = "sph"
    out[sph & disk] = "sphd"
    return out.astype(str)


def morphology_types(catalog: pd.DataFrame, threshold: float) -> np.ndarray:
    """Each row's type by rules (i)-(iv); rows without probabilities keep a valid ``type``.

    Real inputs that publish only a type (candels-blender) were selected upstream by the
    same rules.
    """
    n = len(catalog)
    types = np.full(n, "", dtype=object)
    has_probs = np.zeros(n, dtype=bool)
    if set(PROBABILITIES) <= set(catalog.columns):
        probs = catalog[list(PROBABILITIES)].apply(pd.to_numeric, errors="coerce")
        has_probs = probs.notna().all(axis=1).to_numpy()
        classified = classify_morphology(*(probs[p].to_numpy() for p in PROBABILITIES), threshold)
        types[has_probs] = classified[has_probs]
    if "type" in catalog.columns:
        given = catalog["type"].astype(str).to_numpy()
        use = ~has_probs & np.isin(given, GALAXY_TYPES)
        types[use] = given[use]
    return types.astype(str)


def select_galaxies(
    catalog: pd.DataFrame, mag_max: float, threshold: float, exclude_ids: list[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the paper's selection; return (selected before exclusion, selected after)."""
    types = morphology_types(catalog, threshold)
    keep = (types != "") & (catalog["mag"].to_numpy(dtype=float) < mag_max)
    before = catalog.loc[keep].copy()
    before["type"] = types[keep]
    after = before.loc[~before["id"].isin(set(exclude_ids))].copy()
    return before.reset_index(drop=True), after.reset_index(drop=True)
