"""A Kron (FLUX_AUTO-like) flux for sep detections, neighbours masked by the segmentation.

For each object: the Kron radius ``r_k`` (first moment of the light within ``moments_radius``
times the object's ellipse, sep.kron_radius), then the flux in the ellipse scaled by
``max(factor * r_k, min_radius)`` (SExtractor's PHOT_AUTOPARAMS 2.5, 3.5: the minimum is in
units of the object's a and b, and also applies when r_k is undefined). Pixels of other
detected objects are masked in both steps (sep's ``segmap``/``seg_id``); the masked pixels
are not replaced, so a Kron flux misses the light of its galaxy that lies under a neighbour's
segment.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sep

from blendphot.baseline.settings import KronSettings

MIN_AXIS = 1e-3  # a degenerate (zero-width) ellipse gets this semi-axis, in pixels


def kron_scale(kron_radius: np.ndarray, factor: float, min_radius: float) -> np.ndarray:
    """Aperture scale in units of (a, b): factor * r_k, floored at min_radius (NaN -> floor)."""
    scale = factor * np.asarray(kron_radius, dtype=float)
    scale = np.where(np.isfinite(scale), scale, 0.0)
    return np.maximum(scale, min_radius)


def kron_fluxes(
    data: np.ndarray,
    objects: np.ndarray,
    segmap: np.ndarray,
    index: np.ndarray,
    settings: KronSettings | Mapping,
) -> np.ndarray:
    """Kron fluxes of ``objects[index]`` on ``data`` (the image the objects came from).

    ``segmap`` is sep.extract's segmentation map (object i has label i + 1); ``settings``:
    the aperture's ``factor``, ``min_radius`` and ``moments_radius`` (a ``baseline.kron``
    section converted by :meth:`KronSettings.of`).
    """
    return kron_photometry(data, objects, segmap, index, settings)[0]


def kron_photometry(
    data: np.ndarray,
    objects: np.ndarray,
    segmap: np.ndarray,
    index: np.ndarray,
    settings: KronSettings | Mapping,
    noise: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(Kron fluxes, their 1-sigma errors) of ``objects[index]``, as :func:`kron_fluxes`.

    The error is sep's: ``noise`` (per pixel, white) times the square root of the aperture's
    unmasked area; NaN when ``noise`` is None.
    """
    settings = KronSettings.of(settings)
    index = np.asarray(index, dtype=int)
    sel = objects[index]
    x, y = np.asarray(sel["x"], float), np.asarray(sel["y"], float)
    a = np.maximum(np.asarray(sel["a"], float), MIN_AXIS)  # NaN stays NaN: sep then fails
    b = np.clip(np.asarray(sel["b"], float), MIN_AXIS, a)
    theta = np.clip(np.asarray(sel["theta"], float), -np.pi / 2, np.pi / 2)
    seg = np.ascontiguousarray(segmap, dtype=np.int32)
    seg_id = (index + 1).astype(np.int32)
    try:
        radius, _ = sep.kron_radius(
            data, x, y, a, b, theta, settings.moments_radius, segmap=seg, seg_id=seg_id
        )
        scale = kron_scale(radius, settings.factor, settings.min_radius)
        err = {} if noise is None else {"err": float(noise)}
        flux, fluxerr, _ = sep.sum_ellipse(
            data, x, y, a, b, theta, scale, segmap=seg, seg_id=seg_id, subpix=1, **err
        )
    except Exception:  # noqa: BLE001 - sep raises plain Exception; no Kron flux then
        return np.full(len(index), np.nan), np.full(len(index), np.nan)
    fluxerr = np.asarray(fluxerr, dtype=float) if noise is not None else np.full(len(index), np.nan)
    return np.asarray(flux, dtype=float), fluxerr
