"""The physical floor: an oracle that knows both galaxies' noiseless profiles.

It fits only the two amplitudes by linear least squares on the noisy blend; for white noise
this reaches the Cramer-Rao limit, so every method's distance from it is visible.
"""

from __future__ import annotations

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


def oracle_photometry(test_path: Path, out_path: Path, block: int = 256) -> pd.DataFrame:
    """Oracle fluxes (amplitude x true flux) of every test blend; needs ``isolated_true``."""
    with open_blend_set(test_path) as h5:
        if "isolated_true" not in h5:
            raise InputError(test_path, "no noiseless stamps (isolated_true): no oracle")
        ids, flux = h5["table/id"][()], h5["flux"][()]
        amps = [
            fit_amplitudes(h5["blend"][s : s + block], h5["isolated_true"][s : s + block])
            for s in range(0, len(ids), block)
        ]
    est = np.concatenate(amps) * flux
    result = pd.DataFrame({"id": ids, "flux_central": est[:, 0], "flux_companion": est[:, 1]})
    write_csv(result, out_path)
    return result
