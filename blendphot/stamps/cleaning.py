"""Cut-outs, sep segmentation and neighbour removal for one stamp (paper 2.1, Fig. 1).

Neighbours are removed as in the paper: the segmentation of every object but the central one
is dilated (5 iterations by default) and its pixels are replaced with pixels drawn at random
from the empty background of the same stamp. The central galaxy's own segment is never touched.
"""

from __future__ import annotations

import numpy as np
import sep
from astropy.stats import sigma_clipped_stats
from scipy import ndimage

MIN_POOL = 16
"""Fewer empty background pixels than this: refill with Gaussian noise of the known level."""


def cut_origin(x: float, y: float, size: int) -> tuple[int, int]:
    """0-based mosaic pixel of the corner of the cut-out whose centre pixel holds (x, y)."""
    return int(round(x)) - size // 2, int(round(y)) - size // 2


def cut_stamp(mosaic: np.ndarray, x: float, y: float, size: int) -> np.ndarray | None:
    """The size x size cut-out whose centre pixel (size // 2) holds (x, y); None off the edge."""
    x0, y0 = cut_origin(x, y, size)
    if x0 < 0 or y0 < 0 or x0 + size > mosaic.shape[1] or y0 + size > mosaic.shape[0]:
        return None
    return np.ascontiguousarray(mosaic[y0 : y0 + size, x0 : x0 + size], dtype=np.float32)


def estimate_noise(stamp: np.ndarray) -> float:
    """Per-pixel noise of a stamp: sigma-clipped standard deviation of its pixels."""
    finite = stamp[np.isfinite(stamp)]
    return float(sigma_clipped_stats(finite, sigma=3.0, maxiters=10)[2])


def central_label(
    segmap: np.ndarray, objects: np.ndarray | None = None, max_offset: float = 4.0
) -> int:
    """Label of the central object: the one under the centre pixel, else the nearest
    detection within ``max_offset`` pixels of the centre; 0 if none."""
    c = segmap.shape[0] // 2
    label = int(segmap[c, c])
    if label or objects is None or len(objects) == 0:
        return label
    dist = np.hypot(objects["x"] - c, objects["y"] - c)
    best = int(np.argmin(dist))
    return best + 1 if dist[best] <= max_offset else 0


def segment_stamp(
    stamp: np.ndarray,
    noise: float,
    thresh: float,
    minarea: int,
    deblend_cont: float = 0.005,
    max_offset: float = 4.0,
    deblend_nthresh: int = 32,
) -> tuple[np.ndarray, int]:
    """sep segmentation map of a stamp and the label of the central object (0 if none)."""
    data = np.ascontiguousarray(stamp, dtype=np.float32)
    objects, segmap = sep.extract(
        data,
        thresh,
        err=noise,
        minarea=minarea,
        deblend_cont=deblend_cont,
        deblend_nthresh=deblend_nthresh,
        segmentation_map=True,
    )
    return segmap.astype(np.int32), central_label(segmap, objects, max_offset)


def neighbour_region(segmap: np.ndarray, central: int, dilate_iterations: int) -> np.ndarray:
    """Pixels to replace: every other object's segment, dilated, minus the central segment."""
    central_mask = segmap == central
    neighbours = (segmap > 0) & ~central_mask
    if dilate_iterations > 0 and neighbours.any():
        neighbours = ndimage.binary_dilation(neighbours, iterations=dilate_iterations)
    return neighbours & ~central_mask


def empty_background(segmap: np.ndarray, dilate_iterations: int) -> np.ndarray:
    """Pixels far from every object: outside all segments, dilated."""
    occupied = segmap > 0
    if dilate_iterations > 0 and occupied.any():
        occupied = ndimage.binary_dilation(occupied, iterations=dilate_iterations)
    return ~occupied


def clean_stamp(
    stamp: np.ndarray,
    segmap: np.ndarray,
    central: int,
    dilate_iterations: int,
    noise: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace every neighbour (dilated) with background pixels; return (clean, central mask).

    Neighbour regions are refilled with pixels drawn at random from the stamp's empty
    background (outside every dilated segment); with fewer than MIN_POOL such pixels, with
    Gaussian noise of the known level. The central galaxy's segment is never touched.
    """
    replace = neighbour_region(segmap, central, dilate_iterations)
    clean = stamp.copy()
    n_fill = int(replace.sum())
    if n_fill:
        pool = stamp[empty_background(segmap, dilate_iterations) & np.isfinite(stamp)]
        if pool.size >= MIN_POOL:
            clean[replace] = rng.choice(pool, size=n_fill)
        else:
            clean[replace] = rng.normal(0.0, noise, size=n_fill).astype(stamp.dtype)
    return clean, (segmap == central).astype(np.uint8)
