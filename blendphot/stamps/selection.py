"""Selection of clean, isolated galaxies with unambiguous morphology (paper 2.1, rules i-iv)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from blendphot.isolation import Crowd

log = logging.getLogger(__name__)

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


def isolated(catalog: pd.DataFrame, rows: np.ndarray, factor: float) -> np.ndarray:
    """For each of the catalogue ``rows`` (positions), True when no other catalogue object
    lies closer than ``factor`` x (its radius + the other's radius), centre to centre.

    Needs pixel positions ``x``, ``y`` and ``radius`` (objects without them are not counted as
    neighbours; a missing own radius counts as 0).
    """
    x = catalog["x"].to_numpy(dtype=float)
    y = catalog["y"].to_numpy(dtype=float)
    radius = np.nan_to_num(catalog["radius"].to_numpy(dtype=float), nan=0.0).clip(min=0.0)
    placed = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    out = np.ones(len(rows), dtype=bool)
    if placed.size < 2:
        return out
    crowd = Crowd(x[placed], y[placed], radius[placed])
    for k, i in enumerate(rows):
        if np.isfinite(x[i]) and np.isfinite(y[i]):
            crowding = placed[crowd.crowding(x[i], y[i], radius[i], factor)]
            out[k] = not np.any(crowding != i)
    return out


def select_galaxies(
    catalog: pd.DataFrame,
    mag_max: float,
    threshold: float,
    exclude_ids: list[int],
    isolation: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the paper's selection; return (selected before exclusion, selected after).

    Rules (i)-(iv), the magnitude cut and, with ``isolation`` and a catalogue that places its
    objects (x, y, radius), isolated galaxies only (:func:`isolated`); ``exclude_ids`` are the
    visual inspection's exclusions. ``after.attrs["cuts"]`` counts what each cut removed.
    """
    types = morphology_types(catalog, threshold)
    keep = (types != "") & (catalog["mag"].to_numpy(dtype=float) < mag_max)
    cuts = {
        "catalogue": len(catalog),
        "morphology": int((types == "").sum()),
        "magnitude": int(((types != "") & ~keep).sum()),
        "not_isolated": 0,
    }
    placed = {"x", "y", "radius"} <= set(catalog.columns)
    if isolation and not placed:
        log.info("selection: no isolation cut (the catalogue does not place its objects)")
    if isolation and placed and keep.any():
        rows = np.flatnonzero(keep)
        alone = isolated(catalog, rows, float(isolation))
        keep[rows[~alone]] = False
        cuts["not_isolated"] = int((~alone).sum())
        message = "selection: %d of %d galaxies not isolated (an object closer than %.2f x R1+R2)"
        log.info(message, int((~alone).sum()), rows.size, isolation)
    before = catalog.loc[keep].copy()
    before["type"] = types[keep]
    after = before.loc[~before["id"].isin(set(exclude_ids))].copy()
    cuts["excluded"] = len(before) - len(after)
    cuts["selected"] = len(after)
    before, after = before.reset_index(drop=True), after.reset_index(drop=True)
    after.attrs["cuts"] = cuts  # how many each cut removed, for the stage's counts
    return before, after
