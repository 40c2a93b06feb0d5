"""One stamp through segmentation, cleaning and the automatic inspection's measurements.

:func:`process_stamp` is what every source of stamps shares (:mod:`blendphot.stamps.build`)
and what the inspection check runs on GalSim shapes (:mod:`blendphot.stamps.inspection`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from blendphot.stamps.cleaning import (
    central_family,
    central_label,
    central_loss_estimate,
    clean_stamp,
    cut_origin,
    faint_central_label,
    faint_segmentation,
    galaxy_segments,
    grown_ellipses,
    mostly_within,
    neighbour_region,
    segment_properties,
    segment_stamp,
    smooth_asymmetry,
    touching_segments,
)
from blendphot.stamps.exclusion import inspection_reasons, outer_pieces, own_peaks
from blendphot.stamps.settings import StampSettings


def cut_window(
    mosaic: np.ndarray, x: float, y: float, size: int, margin: int
) -> tuple[np.ndarray, int]:
    """The cut-out with up to ``margin`` extra pixels on every side (the same on all four, as
    far as the mosaic allows), and the margin used: objects just outside the stamp are
    segmented whole."""
    x0, y0 = cut_origin(x, y, size)
    height, width = mosaic.shape
    m = max(0, min(margin, x0, y0, width - x0 - size, height - y0 - size))
    window = mosaic[y0 - m : y0 + size + m, x0 - m : x0 + size + m]
    return np.ascontiguousarray(window, dtype=np.float32), m


def process_stamp(
    stamp: np.ndarray,
    settings: StampSettings | Mapping,
    noise: float,
    rng: np.random.Generator,
    segmap: np.ndarray | None = None,
    radius: float = float("nan"),
    window: np.ndarray | None = None,
    margin: int = 0,
    galaxy_type: str | None = None,
    inspect: bool = True,
) -> dict | None:
    """Segment (unless ``segmap`` is given) and clean one stamp; None if no central object.

    ``settings``: the stamps settings (or a ``stamps`` config section, :meth:`StampSettings.of`).
    ``window`` (the stamp with ``margin`` pixels more on each side) is what sep segments, so
    that neighbours cut by the stamp's edge are measured whole; ``radius`` (catalogue, pixels)
    sets the reach of the central galaxy's family; ``galaxy_type`` (catalogue) tells a smooth
    galaxy, which sep should not split, from an irregular one (used only without the galaxy
    map, :func:`~blendphot.stamps.cleaning.galaxy_segments`, which ``galaxy_smoothing`` 0 turns
    off). ``inspect`` False: no exclusion (``reasons`` stays empty).
    """
    s = StampSettings.of(settings)
    if segmap is None:
        image, m = (window, margin) if window is not None else (stamp, 0)
        segmap, central = segment_stamp(
            image,
            noise,
            s.detect_thresh,
            s.detect_minarea,
            s.deblend_cont,
            s.central_max_offset,
            s.deblend_nthresh,
        )
    else:
        image, m = stamp, 0
        segmap = np.asarray(segmap, dtype=np.int32)
        central = central_label(segmap)
    if central == 0:
        return None
    labels = np.setdiff1d(np.unique(segmap), [0])
    props = segment_properties(image, segmap, labels)
    family = central_family(segmap, props, central, radius, s.central_merge_radius)
    galaxy = galaxy_segments(image, noise, segmap, family, s.galaxy_map, radius)
    ours = np.isin(props["label"], family)
    threshold = s.detect_thresh * noise
    grown = None
    if s.neighbour_mask == "scaled":
        others = {k: v[~ours] for k, v in props.items()}
        grown = grown_ellipses(
            segmap.shape, others, threshold, s.mask_sb_fraction, s.mask_growth_max
        )
    if s.faint_smoothing > 0:
        smoothed = faint_segmentation(
            image, noise, s.faint_smoothing, s.faint_thresh, s.deblend_cont, s.deblend_nthresh
        )
        own = faint_central_label(smoothed, np.isin(segmap, family))
        faint = (smoothed > 0) & (smoothed != own)
        if galaxy:  # faint pieces of the central galaxy itself (its deblended outskirts)
            faint &= ~np.isin(smoothed, mostly_within(smoothed, galaxy["mask"]))
        grown = faint if grown is None else grown | faint
    iterations = s.dilate_iterations
    replaced = neighbour_region(segmap, family, iterations, grown)
    touching = touching_segments(segmap, family)
    crop = (slice(m, m + stamp.shape[0]), slice(m, m + stamp.shape[1]))
    segmap_full = segmap
    segmap, replaced = np.ascontiguousarray(segmap[crop]), np.ascontiguousarray(replaced[crop])
    clean, mask, sources = clean_stamp(stamp, segmap, family, iterations, noise, rng, replaced)
    extent = galaxy["mask"][crop] if galaxy and galaxy["central"] else None
    loss = central_loss_estimate(stamp, replaced, mask, extent)
    fluxes = ndimage.sum_labels(np.maximum(image, 0.0), segmap_full, family)
    core = radius if galaxy else 0.0
    pieces = outer_pieces(props, family, central, core, m + stamp.shape[0] // 2)
    if galaxy:  # a companion keeps its own peak at the galaxy map's scale; clumps do not
        pieces &= own_peaks(image, segmap_full, family, galaxy["smoothing"])
    component = float(np.max(fluxes[pieces], initial=0.0))
    share = component / max(float(np.sum(fluxes)), 1e-30)
    asymmetry = 0.0
    if galaxy:
        touching = galaxy["touching"]
        split = False
        asymmetry = smooth_asymmetry(image, galaxy["mask"], galaxy["smoothing"])
    else:
        split = len(family) > 1 and galaxy_type is not None and galaxy_type != "irr"
    reasons = (
        inspection_reasons(s.rules, loss, share, len(touching), split, asymmetry) if inspect else []
    )
    return {
        "segmap": segmap,
        "clean": clean,
        "mask": mask,
        "replaced": replaced,
        "fill_sources": sources,
        "n_neighbours": int(len(np.setdiff1d(np.unique(segmap), [0, *family]))),
        "family": len(family),
        "loss_estimate": loss,
        "component_share": share,
        "asymmetry": asymmetry,
        "touching": int(len(touching)),
        "split": bool(split),
        "reasons": reasons,
        "excluded": bool(reasons),
    }
