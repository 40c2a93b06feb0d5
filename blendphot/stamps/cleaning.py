"""Cut-outs, sep segmentation and neighbour removal for one stamp."""

from __future__ import annotations

import numpy as np
import sep
from scipy import ndimage


def cut_stamp(mosaic: np.ndarray, x: float, y: float, size: int) -> np.ndarray | None:
    """The size x size cut-out whose centre pixel (size // 2) holds (x, y); None off the edge."""
    cx, cy = int(round(x)), int(round(y))
    x0, y0 = cx - size // 2, cy - size // 2
    if x0 < 0 or y0 < 0 or x0 + size > mosaic.shape[1] or y0 + size > mosaic.shape[0]:
        return None
    return np.ascontiguousarray(mosaic[y0 : y0 + size, x0 : x0 + size], dtype=np.float32)


def segment_stamp(
    stamp: np.ndarray, noise: float, thresh: float, minarea: int
) -> tuple[np.ndarray, int]:
    """sep segmentation map of a stamp and the label of the central object (0 if none)."""
    data = np.ascontiguousarray(stamp, dtype=np.float32)
    objects, segmap = sep.extract(
        data, thresh, err=noise, minarea=minarea, deblend_cont=0.005, segmentation_map=True
    )
    if len(objects) == 0:
        return segmap.astype(np.int32), 0
    c = stamp.shape[0] // 2
    label = int(segmap[c, c])
    if label == 0:
        dist = np.hypot(objects["x"] - c, objects["y"] - c)
        label = int(np.argmin(dist)) + 1
    return segmap.astype(np.int32), label


def clean_stamp(
    stamp: np.ndarray,
    segmap: np.ndarray,
    central: int,
    dilate_iterations: int,
    noise: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace every neighbour (dilated) with background pixels; return (clean, central mask).

    Neighbour regions are dilated ``dilate_iterations`` times and refilled with pixels drawn
    at random from the stamp's empty background (outside every dilated segment). The central
    galaxy's own pixels are never touched.
    """
    central_mask = segmap == central
    neighbours = (segmap > 0) & ~central_mask
    if dilate_iterations > 0 and neighbours.any():
        neighbours = ndimage.binary_dilation(neighbours, iterations=dilate_iterations)
    neighbours &= ~central_mask
    clean = stamp.copy()
    n_fill = int(neighbours.sum())
    if n_fill:
        occupied = segmap > 0
        if dilate_iterations > 0:
            occupied = ndimage.binary_dilation(occupied, iterations=dilate_iterations)
        pool = stamp[~occupied]
        if pool.size >= 16:
            clean[neighbours] = rng.choice(pool, size=n_fill)
        else:  # no empty sky in this stamp: use the known noise level
            clean[neighbours] = rng.normal(0.0, noise, size=n_fill).astype(stamp.dtype)
    return clean, central_mask.astype(np.uint8)
