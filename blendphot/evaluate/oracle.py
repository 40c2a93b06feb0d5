"""The physical floor: an oracle that knows both galaxies' noiseless profiles.

It fits only the two amplitudes by linear least squares on the noisy blend; for white noise
this reaches the Cramer-Rao limit, so every method's distance from it is visible. Its errors
are that limit, sigma^2 (T^T T)^-1 from the Gram matrix of the two templates and the blend's
pixel noise: calibrated by construction, so the oracle's raw coverage checks the machinery.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.blends import open_blend_set
from blendphot.errors import InputError
from blendphot.io import write_csv


def fit_amplitudes(blends: np.ndarray, templates: np.ndarray) -> np.ndarray:
    """Least-squares amplitudes (N, 2) of two templates (N, 2, S, S) in blends (N, S, S)."""
    t = templates.reshape(len(templates), 2, -1).astype(np.float64)
    b = blends.reshape(len(blends), -1).astype(np.float64)
    gram = np.einsum("nip,njp->nij", t, t)
    rhs = np.einsum("nip,np->ni", t, b)
    det = gram[:, 0, 0] * gram[:, 1, 1] - gram[:, 0, 1] * gram[:, 1, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        a0 = (gram[:, 1, 1] * rhs[:, 0] - gram[:, 0, 1] * rhs[:, 1]) / det
        a1 = (gram[:, 0, 0] * rhs[:, 1] - gram[:, 1, 0] * rhs[:, 0]) / det
    return np.stack([a0, a1], axis=1)


def amplitude_errors(templates: np.ndarray, noise: float) -> np.ndarray:
    """Cramer-Rao 1-sigma errors (N, 2) of the least-squares amplitudes of two templates
    (N, 2, S, S) under white pixel noise ``noise``: sqrt of the diagonal of noise^2 G^-1."""
    t = templates.reshape(len(templates), 2, -1).astype(np.float64)
    gram = np.einsum("nip,njp->nij", t, t)
    det = gram[:, 0, 0] * gram[:, 1, 1] - gram[:, 0, 1] * gram[:, 1, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.stack([gram[:, 1, 1], gram[:, 0, 0]], axis=1) / det[:, None]
        return noise * np.sqrt(var)


def oracle_photometry(test_path: Path, out_path: Path, block: int = 256) -> pd.DataFrame:
    """Oracle fluxes (amplitude x true flux) of every blend of a set, with their Cramer-Rao
    errors (``flux_central_err``, ``flux_companion_err``; the blend's noise is sqrt(2) times
    the set's ``noise`` attribute, the sum of two stamps); needs ``isolated_true``."""
    with open_blend_set(test_path) as h5:
        if "isolated_true" not in h5:
            raise InputError(test_path, "no noiseless stamps (isolated_true): no oracle")
        ids, flux = h5["table/id"][()], h5["flux"][()]
        noise = float(h5.attrs.get("noise", np.nan)) * math.sqrt(2.0)
        amps, errs = [], []
        for s in range(0, len(ids), block):
            templates = h5["isolated_true"][s : s + block]
            amps.append(fit_amplitudes(h5["blend"][s : s + block], templates))
            errs.append(amplitude_errors(templates, noise))
    est, err = np.concatenate(amps) * flux, np.concatenate(errs) * np.abs(flux)
    result = pd.DataFrame(
        {
            "id": ids,
            "flux_central": est[:, 0],
            "flux_companion": est[:, 1],
            "flux_central_err": err[:, 0],
            "flux_companion_err": err[:, 1],
        }
    )
    write_csv(result, out_path)
    return result
