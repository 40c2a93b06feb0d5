"""The groups the calibration is fitted in: the measured magnitude difference of the two
galaxies, and how much they overlap."""

from __future__ import annotations

import numpy as np


def groups(
    arrays: dict[str, np.ndarray],
    edges: list[float],
    by_detection: bool,
    separation_edges: list[float] | None = None,
) -> np.ndarray:
    """Group of each galaxy: the bin of its measured magnitude difference (own - other's,
    from the method's own fluxes) between ``edges``, ``len(edges) + 1`` where the method has
    no positive flux for one of the two; within that, an observable of how much the two
    overlap (:func:`n_groups` in all): with ``separation_edges``, the bin of sep's distance
    between the two detections in units of their sizes (a group of its own where sep did not
    find both), else with ``by_detection`` the blends where sep found exactly the two
    galaxies and the others."""
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
    return out


def n_groups(
    edges: list[float], by_detection: bool, separation_edges: list[float] | None = None
) -> int:
    """How many groups :func:`groups` makes."""
    if separation_edges is not None:
        return (len(edges) + 2) * (len(separation_edges) + 2)
    return (len(edges) + 2) * (2 if by_detection else 1)
