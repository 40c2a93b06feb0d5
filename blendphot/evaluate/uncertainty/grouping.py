"""The groups the calibration is fitted in: the measured magnitude difference of the two
galaxies, how much they overlap, and how bright the galaxy was measured."""

from __future__ import annotations

import numpy as np


def measured_magnitudes(flux: np.ndarray) -> np.ndarray:
    """-2.5 log10(flux) of a method's own fluxes (no zero point: the calibration's magnitude
    edges are in the same units); NaN where the flux is missing or not positive."""
    flux = np.asarray(flux, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, -2.5 * np.log10(flux), np.nan)


def magnitude_edges(flux: np.ndarray, n_groups: int) -> list[float]:
    """Inner edges of ``n_groups`` groups of equal counts of the measured magnitudes of
    ``flux`` (:func:`measured_magnitudes`; none for one group)."""
    mags = measured_magnitudes(flux)
    mags = mags[np.isfinite(mags)]
    if n_groups <= 1 or mags.size == 0:
        return []
    return [float(q) for q in np.quantile(mags, np.arange(1, n_groups) / n_groups)]


def groups(
    arrays: dict[str, np.ndarray],
    edges: list[float],
    by_detection: bool,
    separation_edges: list[float] | None = None,
    magnitude_edges: list[float] | None = None,
) -> np.ndarray:
    """Group of each galaxy: the bin of its measured magnitude difference (own - other's,
    from the method's own fluxes) between ``edges``, ``len(edges) + 1`` where the method has
    no positive flux for one of the two; within that, an observable of how much the two
    overlap: with ``separation_edges``, the bin of sep's distance between the two detections
    in units of their sizes (a group of its own where sep did not find both), else with
    ``by_detection`` the blends where sep found exactly the two galaxies and the others;
    within that, with ``magnitude_edges``, the bin of the galaxy's own measured magnitude
    (:func:`measured_magnitudes`). :func:`n_groups` in all."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dmag = -2.5 * np.log10(arrays["flux"] / arrays["other"])
    out = np.searchsorted(np.asarray(edges, float), dmag, side="right")
    out = np.where(np.isfinite(dmag), out, len(edges) + 1)
    if separation_edges is not None:
        separation = arrays["separation"]
        overlap = np.searchsorted(np.asarray(separation_edges, float), separation, side="right")
        overlap = np.where(np.isfinite(separation), overlap, len(separation_edges) + 1)
        out = out + (len(edges) + 2) * overlap
    elif by_detection:
        out = out + (len(edges) + 2) * (arrays["detection"] != 2)
    if magnitude_edges:
        mags = measured_magnitudes(arrays["flux"])
        bright = np.searchsorted(np.asarray(magnitude_edges, float), mags, side="right")
        bright = np.where(np.isfinite(mags), bright, 0)
        out = out + n_groups(edges, by_detection, separation_edges) * bright
    return out


def n_groups(
    edges: list[float],
    by_detection: bool,
    separation_edges: list[float] | None = None,
    magnitude_edges: list[float] | None = None,
) -> int:
    """How many groups :func:`groups` makes."""
    if separation_edges is not None:
        overlap = (len(edges) + 2) * (len(separation_edges) + 2)
    else:
        overlap = (len(edges) + 2) * (2 if by_detection else 1)
    return overlap * (len(magnitude_edges) + 1 if magnitude_edges else 1)
