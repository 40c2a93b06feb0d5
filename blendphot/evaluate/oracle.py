"""The physical floor: an oracle that knows every galaxy's noiseless profile.

It fits only the amplitudes (two for a pair, n for a blend of n galaxies) by linear least
squares on the noisy blend; for white noise this reaches the Cramer-Rao limit, so every
method's distance from it is visible. Its errors are that limit, sigma^2 (T^T T)^-1 from the
Gram matrix of the present templates and the blend's pixel noise: calibrated by
construction, so the oracle's raw coverage checks the machinery. Pairs (K = 2) take a closed
form; sets of K > 2 slots solve the K x K system with the absent slots' templates left out
(their amplitudes and errors NaN).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.blends import open_blend_set
from blendphot.blends.layout import galaxy_counts, present_slots, slot_names
from blendphot.errors import InputError
from blendphot.io import write_csv


def _present_gram(templates: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Gram matrices (N, K, K) of templates (N, K, P), absent slots' rows and columns
    replaced by the identity's (so the system stays solvable and leaves them out)."""
    t = np.where(present[:, :, None], templates, 0.0)
    gram = np.einsum("nip,njp->nij", t, t)
    idx = np.arange(present.shape[1])
    gram[:, idx, idx] += ~present
    return gram


def fit_amplitudes(
    blends: np.ndarray, templates: np.ndarray, present: np.ndarray | None = None
) -> np.ndarray:
    """Least-squares amplitudes (N, K) of K templates (N, K, S, S) in blends (N, S, S).

    ``present`` (N, K) booleans: which slots hold a galaxy (default all); absent slots are
    left out of the fit and get NaN. Two templates and no ``present``: the closed form."""
    if present is not None or templates.shape[1] != 2:
        k = templates.shape[1]
        present = np.ones((len(templates), k), bool) if present is None else present
        t = templates.reshape(len(templates), k, -1).astype(np.float64)
        b = blends.reshape(len(blends), -1).astype(np.float64)
        rhs = np.einsum("nip,np->ni", np.where(present[:, :, None], t, 0.0), b)
        amps = np.linalg.solve(_present_gram(t, present), rhs[..., None])[..., 0]
        return np.where(present, amps, np.nan)
    t = templates.reshape(len(templates), 2, -1).astype(np.float64)
    b = blends.reshape(len(blends), -1).astype(np.float64)
    gram = np.einsum("nip,njp->nij", t, t)
    rhs = np.einsum("nip,np->ni", t, b)
    det = gram[:, 0, 0] * gram[:, 1, 1] - gram[:, 0, 1] * gram[:, 1, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        a0 = (gram[:, 1, 1] * rhs[:, 0] - gram[:, 0, 1] * rhs[:, 1]) / det
        a1 = (gram[:, 0, 0] * rhs[:, 1] - gram[:, 1, 0] * rhs[:, 0]) / det
    return np.stack([a0, a1], axis=1)


def amplitude_errors(
    templates: np.ndarray, noise: float | np.ndarray, present: np.ndarray | None = None
) -> np.ndarray:
    """Cramer-Rao 1-sigma errors (N, K) of the least-squares amplitudes of K templates
    (N, K, S, S) under white pixel noise ``noise`` (a level, or one per blend): sqrt of the
    diagonal of noise^2 G^-1, G the Gram matrix of the present templates (``present`` as in
    :func:`fit_amplitudes`; absent slots NaN). Two templates and no ``present``: the closed
    form."""
    if present is not None or templates.shape[1] != 2:
        k = templates.shape[1]
        present = np.ones((len(templates), k), bool) if present is None else present
        t = templates.reshape(len(templates), k, -1).astype(np.float64)
        var = np.diagonal(np.linalg.inv(_present_gram(t, present)), axis1=1, axis2=2)
        err = np.reshape(noise, (-1, 1)) * np.sqrt(var)
        return np.where(present, err, np.nan)
    t = templates.reshape(len(templates), 2, -1).astype(np.float64)
    gram = np.einsum("nip,njp->nij", t, t)
    det = gram[:, 0, 0] * gram[:, 1, 1] - gram[:, 0, 1] * gram[:, 1, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.stack([gram[:, 1, 1], gram[:, 0, 0]], axis=1) / det[:, None]
        return noise * np.sqrt(var)


def oracle_photometry(test_path: Path, out_path: Path, block: int = 256) -> pd.DataFrame:
    """Oracle fluxes (amplitude x true flux) of every blend of a set, with their Cramer-Rao
    errors (``flux_central_err``, ``flux_companion_err``, then ``flux_g3_err``... for the
    slots 3..K of a K > 2 set; the blend of n galaxies, the sum of n stamps, has sqrt(n)
    times the set's ``noise`` attribute); needs ``isolated_true``. Absent slots are NaN."""
    with open_blend_set(test_path) as h5:
        if "isolated_true" not in h5:
            raise InputError(test_path, "no noiseless stamps (isolated_true): no oracle")
        ids, flux = h5["table/id"][()], h5["flux"][()]
        n_slots = flux.shape[1]
        level = float(h5.attrs.get("noise", np.nan))
        counts = galaxy_counts(h5)
        amps, errs = [], []
        for s in range(0, len(ids), block):
            templates = h5["isolated_true"][s : s + block]
            if n_slots == 2:
                noise = level * math.sqrt(2.0)
                amps.append(fit_amplitudes(h5["blend"][s : s + block], templates))
                errs.append(amplitude_errors(templates, noise))
                continue
            present = present_slots(counts[s : s + block], n_slots)
            noise = level * np.sqrt(counts[s : s + block])
            amps.append(fit_amplitudes(h5["blend"][s : s + block], templates, present))
            errs.append(amplitude_errors(templates, noise, present))
    est, err = np.concatenate(amps) * flux, np.concatenate(errs) * np.abs(flux)
    roles = slot_names(n_slots)
    columns = {"id": ids}
    columns.update({f"flux_{r}": est[:, k] for k, r in enumerate(roles)})
    columns.update({f"flux_{r}_err": err[:, k] for k, r in enumerate(roles)})
    result = pd.DataFrame(columns)
    write_csv(result, out_path)
    return result
