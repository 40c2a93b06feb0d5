"""What the deblending reads off the mosaic itself: its zero point, its noise, its background,
and sep's detections where no catalogue is given.

Detections are made tile by tile (:mod:`blendphot.deblend.tiles`) with the baseline's hot pass
(Table 3), each tile keeping those whose (rounded) position lies in its core, so that each
object is found once; a detection's radius is sep's half-light radius (``flux_radius`` 0.5)
and its magnitude that of its isophotal flux.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import sep
from astropy.io import fits
from astropy.wcs import WCS

from blendphot.baseline.settings import DetectionSettings
from blendphot.deblend.tiles import Tile, tile_grid
from blendphot.errors import InputError
from blendphot.sepcall import prepare_image, sep_pass

log = logging.getLogger(__name__)

MIN_RADIUS = 0.5
"""Smallest half-light radius (pixels) given a detection (sep's can be 0 for a point)."""


def image_unit(hdul: fits.HDUList, hdu: int | None, path) -> fits.ImageHDU | fits.PrimaryHDU:
    """The mosaic's image in an open FITS file: HDU ``hdu``, or the first holding a 2-D
    image; InputError naming the file when there is none."""
    units = [hdul[hdu]] if hdu is not None else list(hdul)
    for unit in units:
        if unit.header.get("NAXIS") == 2 and unit.data is not None:
            return unit
    raise InputError(path, "no 2-D image HDU found")


def header_zeropoint(header: fits.Header) -> float | None:
    """The AB zero point a FITS header states: ``MAGZERO``, else from the HST keywords
    (``PHOTFLAM``, ``PHOTPLAM``: -2.5 log10 PHOTFLAM - 5 log10 PHOTPLAM - 2.408); None."""
    if "MAGZERO" in header:
        return float(header["MAGZERO"])
    flam, plam = header.get("PHOTFLAM"), header.get("PHOTPLAM")
    if flam and plam and flam > 0 and plam > 0:
        return -2.5 * math.log10(float(flam)) - 5.0 * math.log10(float(plam)) - 2.408
    return None


def region_noise(pixels: np.ndarray, known: float | None) -> float:
    """Per-pixel noise of a region: ``known`` if given, else sep's global rms of it."""
    if known is not None and np.isfinite(known) and known > 0:
        return float(known)
    data, _ = prepare_image(pixels)
    return float(sep.Background(data).globalrms)


def subtract_background(pixels: np.ndarray) -> np.ndarray:
    """The pixels less sep's background (64-pixel boxes; non-finite pixels kept as they are)."""
    data, _ = prepare_image(pixels)
    out = np.asarray(pixels, dtype=np.float32) - sep.Background(data).back().astype(np.float32)
    return out


def detect_region(
    pixels: np.ndarray, noise: float, settings: DetectionSettings
) -> tuple[np.ndarray, np.ndarray]:
    """sep's hot-pass detections of a region: (x, y, isophotal flux, half-light radius)
    arrays as a (N, 4) float array, in the region's pixels, and the segmentation map."""
    data, _ = prepare_image(pixels)
    objects, segmap, _ = sep_pass(data, noise, settings.hot.as_config(), segmentation=True)
    if len(objects) == 0:
        return np.zeros((0, 4)), np.zeros(data.shape, dtype=np.int32)
    x, y = np.asarray(objects["x"], float), np.asarray(objects["y"], float)
    reach = 6.0 * np.maximum(np.asarray(objects["a"], float), 1.0)
    radius, _ = sep.flux_radius(
        data, x, y, reach, 0.5, seg_id=np.arange(1, len(objects) + 1), segmap=segmap,
        normflux=np.asarray(objects["flux"], float), subpix=5,
    )  # fmt: skip
    radius = np.where(np.isfinite(radius), np.maximum(radius, MIN_RADIUS), MIN_RADIUS)
    table = np.column_stack([x, y, np.asarray(objects["flux"], float), radius])
    return table, segmap


def detect_mosaic(
    mosaic: np.ndarray,
    header: fits.Header,
    settings: DetectionSettings,
    zeropoint: float,
    tile_size: int,
    margin: int,
    noise: float | None,
    background: bool,
    counts: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """sep's detections of a whole mosaic, tile by tile (those of the deblending: ``tile_size``
    or ``counts``), as a catalogue: id (1..N, tile by tile), x, y (0-based mosaic pixels), ra,
    dec (NaN without a celestial WCS), mag, flux (isophotal), radius (half-light, pixels)."""
    parts = []
    for tile in tile_grid(mosaic.shape, tile_size, margin, counts):
        pixels = np.asarray(mosaic[tile.region], dtype=np.float32)
        if background:
            pixels = subtract_background(pixels)
        table, _ = detect_region(pixels, region_noise(pixels, noise), settings)
        x, y = table[:, 0] + tile.rx0, table[:, 1] + tile.ry0
        parts.append(table[_in_core(tile, x, y)] + [tile.rx0, tile.ry0, 0.0, 0.0])
    table = np.concatenate(parts) if parts else np.zeros((0, 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(table[:, 2] > 0, zeropoint - 2.5 * np.log10(table[:, 2]), np.nan)
    catalog = pd.DataFrame(
        {
            "id": np.arange(1, len(table) + 1),
            "x": table[:, 0],
            "y": table[:, 1],
            "mag": mag,
            "flux": table[:, 2],
            "radius": table[:, 3],
        }
    )
    catalog["ra"], catalog["dec"] = world_positions(header, catalog["x"], catalog["y"])
    log.info("sep found %d objects on the mosaic (%d tiles)", len(catalog), len(parts))
    return catalog


def _in_core(tile: Tile, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which mosaic positions round into the tile's core."""
    xr, yr = np.round(x), np.round(y)
    return (xr >= tile.x0) & (xr < tile.x1) & (yr >= tile.y0) & (yr < tile.y1)


def world_positions(header: fits.Header, x, y) -> tuple[np.ndarray, np.ndarray]:
    """(ra, dec) of 0-based pixel positions by the header's WCS; NaN without a celestial
    one."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    try:
        wcs = WCS(header)
    except Exception:  # noqa: BLE001 - astropy raises several kinds
        wcs = None
    if wcs is None or not wcs.has_celestial or len(x) == 0:
        return np.full(len(x), np.nan), np.full(len(x), np.nan)
    ra, dec = wcs.celestial.all_pix2world(x, y, 0)
    return np.asarray(ra, float), np.asarray(dec, float)
