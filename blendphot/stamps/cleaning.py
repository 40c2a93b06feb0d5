"""Cut-outs, sep segmentation and neighbour removal for one stamp (paper 2.1, Fig. 1).

Neighbours are removed as in the paper: the segmentation of every object but the central one
is dilated (5 iterations by default) and its pixels are replaced with pixels drawn at random
from the empty background of the same stamp. The central galaxy's own segment is never touched.

Three refinements (``config/README.md``, ``stamps``):

- the central galaxy is a *family* of segments: every detection whose centroid lies within
  ``central_merge_radius`` catalogue radii of the centre is a piece of it (the clumps of an
  irregular that the deblending split off), never a neighbour;
- ``neighbour_mask: scaled`` grows each neighbour's region in proportion to its own size:
  besides the dilated segment, an ellipse of the segment's isophotal shape enlarged to where an
  exponential profile through its peak and its isophote falls to ``mask_sb_fraction`` of the
  detection threshold (faint objects, whose isophote holds little of their light, grow most);
- an automatic stand-in for the paper's visual inspection: the central galaxy's light that the
  cleaning replaced is estimated from the point-symmetric pixels (a galaxy is roughly symmetric
  about its centre); stamps that lose more than ``inspect_max_loss`` of the central's segment
  flux are excluded.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from astropy.stats import sigma_clipped_stats
from scipy import ndimage

from blendphot.sepcall import prepare_image, sep_pass
from blendphot.stamps.settings import GalaxyMap

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
    """sep segmentation map of a stamp and the label of the central object (0 if none).

    A stamp sep cannot segment (even after the overflow retry) gives no object, so the
    galaxy is skipped and counted, never a crash.
    """
    settings = {
        "thresh": thresh,
        "minarea": minarea,
        "deblend_cont": deblend_cont,
        "deblend_nthresh": deblend_nthresh,
    }
    objects, segmap = _segmentation(stamp, noise, settings)
    return segmap, central_label(segmap, objects, max_offset)


def _segmentation(image: np.ndarray, noise: float, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """sep objects and int32 segmentation map of an image; none and an empty map where sep
    fails even after its overflow retry."""
    data, _ = prepare_image(image)
    objects, segmap, _ = sep_pass(data, noise, settings, segmentation=True)
    if segmap is None:
        return objects, np.zeros(np.shape(image), np.int32)
    return objects, segmap.astype(np.int32)


def _labels(central) -> list[int]:
    """The central galaxy's labels: one label or a collection of them."""
    return [int(central)] if np.isscalar(central) else [int(c) for c in central]


def neighbour_region(
    segmap: np.ndarray,
    central,
    dilate_iterations: int,
    grown: np.ndarray | None = None,
) -> np.ndarray:
    """Pixels to replace: every other object's segment, dilated (plus ``grown``, the scaled
    neighbour ellipses, if given), minus the central galaxy's segments (``central``: a label
    or the labels of its family)."""
    central_mask = np.isin(segmap, _labels(central))
    neighbours = (segmap > 0) & ~central_mask
    if dilate_iterations > 0 and neighbours.any():
        neighbours = ndimage.binary_dilation(neighbours, iterations=dilate_iterations)
    if grown is not None:
        neighbours = neighbours | grown
    return neighbours & ~central_mask


def segment_properties(
    image: np.ndarray, segmap: np.ndarray, labels: np.ndarray
) -> dict[str, np.ndarray]:
    """Isophotal shape of each labelled segment, from its pixels alone (sep or provided maps).

    ``x``, ``y``: centroid of the segment's pixels; ``a``, ``b``, ``theta``: semi-axes and angle
    of the ellipse with the segment's second moments (a uniformly filled ellipse of semi-axes
    A, B has variances A^2/4, B^2/4); ``npix``; ``peak``: the highest 3x3 mean in the segment.
    """
    labels = np.asarray(labels, dtype=np.int64)
    index = labels.tolist()
    yy, xx = np.indices(segmap.shape, dtype=np.float64)
    ones = np.ones(segmap.shape)
    npix = np.asarray(ndimage.sum_labels(ones, segmap, index))
    safe = np.maximum(npix, 1.0)
    x = np.asarray(ndimage.sum_labels(xx, segmap, index)) / safe
    y = np.asarray(ndimage.sum_labels(yy, segmap, index)) / safe
    sxx = np.asarray(ndimage.sum_labels(xx * xx, segmap, index)) / safe - x**2
    syy = np.asarray(ndimage.sum_labels(yy * yy, segmap, index)) / safe - y**2
    sxy = np.asarray(ndimage.sum_labels(xx * yy, segmap, index)) / safe - x * y
    half_trace, diff = (sxx + syy) / 2, np.hypot((sxx - syy) / 2, sxy)
    smooth = ndimage.uniform_filter(np.asarray(image, dtype=np.float64), size=3)
    peak = np.asarray(ndimage.maximum(smooth, segmap, index)) if index else np.zeros(0)
    return {
        "label": labels,
        "x": x,
        "y": y,
        "a": 2.0 * np.sqrt(np.maximum(half_trace + diff, 1.0 / 12.0)),
        "b": 2.0 * np.sqrt(np.maximum(half_trace - diff, 1.0 / 12.0)),
        "theta": 0.5 * np.arctan2(2.0 * sxy, sxx - syy),
        "npix": npix,
        "peak": peak,
    }


def central_family(
    segmap: np.ndarray, props: dict, central: int, radius: float, merge_radius: float
) -> list[int]:
    """The central label and every detection whose centroid lies within ``merge_radius`` x
    ``radius`` pixels of the centre: pieces of the central galaxy, not neighbours."""
    if merge_radius <= 0 or not np.isfinite(radius) or radius <= 0:
        return [central]
    c = segmap.shape[0] // 2
    near = np.hypot(props["x"] - c, props["y"] - c) < merge_radius * radius
    return sorted({central, *props["label"][near].tolist()})


def grown_ellipses(
    shape: tuple[int, int],
    props: dict,
    threshold: float,
    sb_fraction: float,
    growth_max: float,
) -> np.ndarray:
    """Each segment's isophotal ellipse grown in proportion to how much light lies beyond it.

    The isophote (area ``npix``, axis ratio b/a) sits where the profile crosses ``threshold``.
    An exponential profile through the peak P and the isophote falls to ``sb_fraction`` x
    threshold at 1 + ln(1/sb_fraction) / ln(P/threshold) times the isophotal radius; the
    ellipse is grown by that factor, at most ``growth_max``.
    """
    out = np.zeros(shape, dtype=bool)
    yy, xx = np.indices(shape, dtype=np.float64)
    for k in range(len(props["label"])):
        ratio = max(float(props["peak"][k]) / threshold, 1.05)
        growth = min(1.0 + np.log(1.0 / sb_fraction) / np.log(ratio), growth_max)
        a, b = float(props["a"][k]), float(props["b"][k])
        semi_a = np.sqrt(props["npix"][k] * a / (np.pi * b))
        big, small = growth * semi_a, growth * semi_a * b / a
        cos, sin = np.cos(props["theta"][k]), np.sin(props["theta"][k])
        dx, dy = xx - props["x"][k], yy - props["y"][k]
        u, v = dx * cos + dy * sin, -dx * sin + dy * cos
        out |= (u / big) ** 2 + (v / small) ** 2 <= 1.0
    return out


def faint_segmentation(
    image: np.ndarray,
    noise: float,
    smoothing: float,
    thresh: float,
    deblend_cont: float = 0.005,
    deblend_nthresh: int = 32,
) -> np.ndarray:
    """sep segmentation of the Gaussian-smoothed image: the footprints of faint light.

    Smoothing with a Gaussian of ``smoothing`` pixels (sigma) turns white noise of ``noise``
    per pixel into noise / (2 sqrt(pi) smoothing), so that low-surface-brightness objects and
    the faint wings of the others, which the per-pixel detection misses, stand ``thresh``
    times above it; sep deblends them as usual. Objects smaller than the kernel's core
    (pi smoothing^2 pixels) are not kept.
    """
    data = np.nan_to_num(np.asarray(image, dtype=np.float64))
    smooth = ndimage.gaussian_filter(data, smoothing, mode="nearest")
    settings = {
        "thresh": thresh,
        "minarea": int(np.ceil(np.pi * smoothing**2)),
        "deblend_cont": deblend_cont,
        "deblend_nthresh": deblend_nthresh,
        "filter_kernel": None,
    }
    level = noise / (2.0 * np.sqrt(np.pi) * smoothing)
    return _segmentation(smooth, level, settings)[1]


def faint_central_label(faint: np.ndarray, central_mask: np.ndarray) -> int:
    """The faint segment that is the central galaxy's: the one holding most of the pixels of
    its (sep) segments; 0 if none."""
    inside = faint[central_mask.astype(bool)]
    inside = inside[inside > 0]
    return int(np.bincount(inside).argmax()) if inside.size else 0


def galaxy_smoothing_scale(galaxy_map: GalaxyMap | Mapping, radius: float = float("nan")) -> float:
    """Sigma (pixels) of the galaxy map's smoothing (:meth:`GalaxyMap.scale`): its
    ``smoothing``, or ``smoothing_radii`` x the central's catalogue ``radius`` where that is
    larger; 0: the map is off. ``galaxy_map`` may be a ``stamps`` mapping (the
    ``galaxy_smoothing`` keys; one left out counts as 0)."""
    return GalaxyMap.of(galaxy_map).scale(radius)


def galaxy_segments(
    image: np.ndarray,
    noise: float,
    segmap: np.ndarray,
    family: list[int],
    galaxy_map: GalaxyMap | Mapping,
    radius: float = float("nan"),
) -> dict | None:
    """The galaxy map: what is one galaxy at a scale coarser than its clumps.

    sep segments the image smoothed by a Gaussian of :func:`galaxy_smoothing_scale` pixels
    (sigma; it grows with the central's catalogue ``radius``), deblending only branches that
    hold more than ``galaxy_map.deblend_cont`` of the light: star-forming knots and spiral arms
    blur into their galaxy; another galaxy stays apart. The threshold is ``galaxy_map.thresh``
    sigmas of the noise smoothed by ``galaxy_map.smoothing``, whatever the smoothing: the same
    isophote for every galaxy. Returns ``map`` (int32), ``central`` (the central galaxy's
    segment there: the one holding most of its family's pixels, 0 if none), ``mask`` (its
    pixels), ``touching`` (the other galaxies that touch it: an originally blended
    system) and ``smoothing``; None when ``galaxy_map.smoothing`` is 0 (off). ``galaxy_map``
    may be a ``stamps`` mapping (:meth:`GalaxyMap.of`).
    """
    galaxy_map = GalaxyMap.of(galaxy_map)
    smoothing = galaxy_map.scale(radius)
    if not smoothing:
        return None
    thresh = galaxy_map.thresh * smoothing / galaxy_map.smoothing
    smap = faint_segmentation(
        image, noise, smoothing, thresh, galaxy_map.deblend_cont, galaxy_map.deblend_nthresh
    )
    own = faint_central_label(smap, np.isin(segmap, family))
    touching = touching_segments(smap, own) if own else np.zeros(0, dtype=np.int32)
    mask = (smap == own) if own else np.zeros(smap.shape, dtype=bool)
    return {
        "map": smap,
        "central": own,
        "mask": mask,
        "touching": touching,
        "smoothing": smoothing,
    }


def mostly_within(segmap: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The labels of ``segmap`` with more than half of their pixels in ``region`` (e.g. faint
    segments inside the central galaxy of the galaxy map: its own outskirts)."""
    index = np.setdiff1d(np.unique(segmap), [0])
    if index.size == 0:
        return index.astype(np.int64)
    region = np.asarray(region, dtype=np.float64)
    inside = np.asarray(ndimage.mean(region, segmap, index.tolist()))
    return index[np.nan_to_num(inside) > 0.5].astype(np.int64)


def mirror(image: np.ndarray) -> np.ndarray:
    """The image reflected through its centre pixel (size // 2); the unmatched edge row and
    column (index 0) come back as 0."""
    out = np.zeros_like(image)
    out[1:, 1:] = image[:0:-1, :0:-1]
    return out


def smooth_asymmetry(image: np.ndarray, region: np.ndarray, smoothing: float) -> float:
    """Rotational asymmetry of the galaxy at the galaxy map's scale, about the centre pixel.

    The image smoothed by a Gaussian of ``smoothing`` pixels (sigma) S and S rotated by 180
    degrees through the centre give sum |S - S_180| / (2 sum |S|) over ``region`` and its
    mirror: clumps and arms are blurred away, a single galaxy (a merger's nuclei about their
    centre included) stays near-symmetric; a companion off the centre does not. 0 for an
    empty region.
    """
    area = np.asarray(region, dtype=bool)
    area = area | mirror(area.astype(np.uint8)).astype(bool)
    if not area.any():
        return 0.0
    smooth = ndimage.gaussian_filter(np.nan_to_num(np.asarray(image, np.float64)), smoothing)
    total = float(np.abs(smooth[area]).sum())
    return float(np.abs(smooth - mirror(smooth))[area].sum()) / max(2.0 * total, 1e-30)


def central_loss_estimate(
    stamp: np.ndarray,
    replaced: np.ndarray,
    mask: np.ndarray,
    extent: np.ndarray | None = None,
) -> float:
    """Share of the central galaxy's light that cleaning replaced, estimated by symmetry.

    Each replaced pixel is credited with the value of its point-symmetric pixel (through the
    centre) where that one was kept; the sum is relative to the stamp's flux in the central
    mask. A galaxy is roughly symmetric, so a neighbour region that cuts into the central's
    light shows up here; pure background credits noise that averages to zero. ``extent`` (the
    central galaxy on the galaxy map), if given, limits the credit to the replaced pixels
    inside it: beyond, a lopsided galaxy (its clumps further out on one side) would be credited
    with light it does not have on the other.
    """
    total = float(stamp[mask.astype(bool)].sum(dtype=np.float64))
    if total <= 0 or not replaced.any():
        return 0.0
    credit = np.where(mirror(replaced.astype(np.uint8)) == 0, mirror(stamp), 0.0)
    where = replaced.astype(bool) if extent is None else replaced.astype(bool) & extent
    return float(credit[where].sum(dtype=np.float64)) / total


def empty_background(
    segmap: np.ndarray, dilate_iterations: int, replace: np.ndarray | None = None
) -> np.ndarray:
    """Pixels far from every object: outside all segments, dilated, and outside ``replace``."""
    occupied = segmap > 0
    if dilate_iterations > 0 and occupied.any():
        occupied = ndimage.binary_dilation(occupied, iterations=dilate_iterations)
    if replace is not None:
        occupied = occupied | replace
    return ~occupied


def touching_segments(segmap: np.ndarray, central) -> np.ndarray:
    """Labels of the other segments that touch the central galaxy's (8-connected): at the
    detection isophote the two are one blended system, and the neighbour's light runs on under
    the central mask where no replacement can reach it."""
    family = np.isin(segmap, _labels(central))
    ring = ndimage.binary_dilation(family, structure=np.ones((3, 3), dtype=bool)) & ~family
    return np.setdiff1d(np.unique(segmap[ring]), [0, *_labels(central)])


def refill(
    stamp: np.ndarray,
    replace: np.ndarray,
    pool: np.ndarray,
    noise: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The stamp with the ``replace`` pixels refilled, and where each refill came from.

    Refill pixels are drawn at random (with replacement) from the ``pool`` pixels; with fewer
    than MIN_POOL of them, they are Gaussian noise of the known level. ``sources`` holds, for
    each replaced pixel in row-major order, the flat index of the pixel copied, or -1 for noise
    (so that what the copies carry, e.g. faint wings in the pool, can be accounted for).
    """
    clean = stamp.copy()
    n_fill = int(replace.sum())
    sources = np.full(n_fill, -1, dtype=np.int64)
    if n_fill:
        candidates = np.flatnonzero(pool & np.isfinite(stamp))
        if candidates.size >= MIN_POOL:
            sources = rng.choice(candidates, size=n_fill)
            clean[replace] = stamp.flat[sources]
        else:
            clean[replace] = rng.normal(0.0, noise, size=n_fill).astype(stamp.dtype)
    return clean, sources


def clean_stamp(
    stamp: np.ndarray,
    segmap: np.ndarray,
    central: int,
    dilate_iterations: int,
    noise: float,
    rng: np.random.Generator,
    replace: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replace every neighbour (dilated) with background pixels.

    ``central`` is the central label (or its family's labels); ``replace``, if given, is the
    region to refill (default: :func:`neighbour_region`). It is refilled (:func:`refill`) from
    the stamp's empty background (outside every dilated segment and outside the region). The
    central galaxy's segments are never touched. Returns (clean, central mask, the refill's
    ``sources``).
    """
    if replace is None:
        replace = neighbour_region(segmap, central, dilate_iterations)
    pool = empty_background(segmap, dilate_iterations, replace)
    clean, sources = refill(stamp, replace, pool, noise, rng)
    return clean, np.isin(segmap, _labels(central)).astype(np.uint8), sources
