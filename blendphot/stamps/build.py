"""The stamps stage's two sources of stamps, each ending in the same files
(:mod:`blendphot.stamps.write`): a mosaic plus a catalogue (:func:`build_stamps`: the synthetic
or COSMOS sky blendphot drew, or a FITS mosaic from elsewhere), or the published
candels-blender stamps (:func:`build_stamps_candels`). Both select the galaxies, process each
stamp (:func:`~blendphot.stamps.process.process_stamp`) and count what each cut removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot import STAMP_SIZE
from blendphot.sky import (
    mosaic_noise,
    pixel_positions,
    read_candels_blender,
    read_catalog,
    read_mosaic,
    render_truth_stamp,
)
from blendphot.stamps.cleaning import cut_origin, cut_stamp, estimate_noise
from blendphot.stamps.inspection import inspection_on
from blendphot.stamps.process import cut_window, process_stamp
from blendphot.stamps.selection import select_galaxies
from blendphot.stamps.settings import MosaicInput, StampSettings
from blendphot.stamps.validation import stamp_cleaning_metrics
from blendphot.stamps.write import StampSet, finish_stamps, stamps_attrs

STAGE_STREAM = 2
DRAWN_SOURCES = ("synthetic", "cosmos")
"""Sky sources blendphot draws itself: their truth can be redrawn."""


def is_drawn(mosaic: MosaicInput, header) -> bool:
    """True when the mosaic is a sky blendphot drew (synthetic or COSMOS) for this config: its
    truth can be redrawn."""
    return mosaic.source in DRAWN_SOURCES and header.get("SKYSRC") == mosaic.source


def render_neighbours(
    catalog: pd.DataFrame, central_id, sky: dict, x0: int, y0: int, size: int
) -> np.ndarray:
    """The noiseless light of the stamp's neighbours (synthetic sky): every other catalogue
    object whose centre lies on the size x size grid with corner (x0, y0), drawn alone."""
    x = catalog["x"].to_numpy(dtype=float) - x0
    y = catalog["y"].to_numpy(dtype=float) - y0
    on = (x >= -0.5) & (x < size - 0.5) & (y >= -0.5) & (y < size - 0.5)
    on &= catalog["id"].to_numpy() != central_id
    total = np.zeros((size, size), dtype=np.float64)
    for other in catalog.loc[on].to_dict("records"):
        total += render_truth_stamp(other, sky, x0, y0, size)
    return total


def build_stamps(
    mosaic_path: Path,
    catalog_path: Path,
    settings: StampSettings | Mapping,
    seed: int,
    out_path: Path,
    table1_path: Path,
    sky: dict | None = None,
    cleaning_path: Path | None = None,
) -> dict:
    """Select galaxies, cut, segment and clean their stamps from a mosaic; write the outputs.

    ``settings``: the stamps settings (or the ``stamps`` config section). ``sky`` is the
    config's sky section: how to read the mosaic and catalogue (:class:`MosaicInput`: the
    ``fits`` source's column mapping, pixel origin, HDU and noise level); for a sky blendphot
    drew, what lets the stage redraw each central galaxy alone (``image_true``) and measure
    the cleaning; the PSF and noise of the inspection check's GalSim stamps.
    """
    settings = StampSettings.of(settings)
    source = MosaicInput.of(sky)
    mosaic, header = read_mosaic(mosaic_path, source.hdu)
    zeropoint = float(header.get("MAGZERO", source.zeropoint))
    catalog = read_catalog(catalog_path, dict(source.columns) or None, zeropoint)
    origin = source.pixel_origin
    catalog["x"], catalog["y"] = pixel_positions(catalog, header, mosaic_path, catalog_path, origin)
    fixed_noise = header.get("NOISE", source.noise)
    truth = is_drawn(source, header)
    noiseless = None
    if truth:
        noiseless = mosaic - mosaic_noise(mosaic.shape, float(header["NOISE"]), int(header["SEED"]))
    before, after = select_galaxies(
        catalog,
        settings.mag_max,
        settings.prob_threshold,
        list(settings.exclude_ids),
        settings.isolation,
    )
    rng = np.random.default_rng([seed, STAGE_STREAM])
    out = StampSet()
    label = source.source if truth else "fits"
    inspect = inspection_on(settings, label, sky, seed)
    height, width = mosaic.shape
    for row in after.to_dict("records"):
        x, y = row["x"], row["y"]
        if not (np.isfinite(x) and np.isfinite(y) and 0 <= x < width and 0 <= y < height):
            out.skipped["outside"] += 1
            continue
        stamp = cut_stamp(mosaic, x, y, STAMP_SIZE)
        if stamp is None:
            out.skipped["edge"] += 1
            continue
        if not np.isfinite(stamp).all() or (stamp == 0).mean() > 0.1:
            out.skipped["no_data"] += 1
            continue
        noise = float(fixed_noise) if fixed_noise else estimate_noise(stamp)
        window, margin = cut_window(mosaic, x, y, STAMP_SIZE, settings.segment_margin)
        if not np.isfinite(window).all():
            window, margin = stamp, 0
        radius = float(row.get("radius", np.nan))
        result = process_stamp(
            stamp, settings, noise, rng, None, radius, window, margin, row.get("type"), inspect
        )
        if result is None:
            out.skipped["no_detection"] += 1
            continue
        kept = out.add(stamp, result, row, noise)
        if truth:
            x0, y0 = cut_origin(x, y, STAMP_SIZE)
            central = render_truth_stamp(row, sky, x0, y0, STAMP_SIZE)
            if kept:
                out.truth.append(central)
            everything = noiseless[y0 : y0 + STAMP_SIZE, x0 : x0 + STAMP_SIZE]
            neighbours = render_neighbours(catalog, row["id"], sky, x0, y0, STAMP_SIZE)
            out.report[-1].update(
                stamp_cleaning_metrics(
                    stamp,
                    result["clean"],
                    result["mask"],
                    result["replaced"],
                    central,
                    neighbours,
                    result["fill_sources"],
                    outside_true=everything.astype(np.float64) - central - neighbours,
                )
            )
    noise_attr = fixed_noise or float(np.median([r["noise"] for r in out.rows] or [np.nan]))
    attrs = stamps_attrs(settings, seed, noise_attr, zeropoint, label)
    paths = {"stamps": out_path, "table1": table1_path, "cleaning": cleaning_path}
    columns = list(dict.fromkeys([*catalog.columns, "type"]))
    return finish_stamps(out, before, after, attrs, {**paths, "source": catalog_path}, columns)


def build_stamps_candels(
    images_path: Path,
    segmaps_path: Path,
    catalog_path: Path,
    settings: StampSettings | Mapping,
    sky: dict,
    seed: int,
    out_path: Path,
    table1_path: Path,
    cleaning_path: Path | None = None,
) -> dict:
    """The candels-blender stamps through the same selection, segmentation and cleaning.

    The stamps are already centred 128x128 cut-outs; with ``settings.segmentation:
    provided`` the published SExtractor maps are used, otherwise sep segments each stamp. The
    noise is measured per stamp (sigma-clipped). ``sky``: the config's sky section (its
    ``zeropoint``; the inspection check's PSF and noise).
    """
    settings = StampSettings.of(settings)
    zeropoint = float(sky["zeropoint"])
    images, segmaps, catalog = read_candels_blender(
        images_path, segmaps_path, catalog_path, zeropoint
    )
    before, after = select_galaxies(
        catalog, settings.mag_max, settings.prob_threshold, list(settings.exclude_ids)
    )
    rng = np.random.default_rng([seed, STAGE_STREAM])
    out = StampSet()
    provided = settings.segmentation == "provided"
    inspect = inspection_on(settings, "candels_blender", sky, seed)
    for row in after.to_dict("records"):
        index = int(row["stamp_index"])
        stamp = np.array(images[index], dtype=np.float32)  # a writable copy of the map
        if not np.isfinite(stamp).all():
            out.skipped["no_data"] += 1
            continue
        noise = estimate_noise(stamp)
        segmap = segmaps[index] if provided else None
        radius = float(row.get("radius", np.nan))
        kind = row.get("type")
        result = process_stamp(
            stamp, settings, noise, rng, segmap, radius, galaxy_type=kind, inspect=inspect
        )
        if result is None:
            out.skipped["no_detection"] += 1
            continue
        out.add(stamp, result, row, noise)
    noise_attr = float(np.median([r["noise"] for r in out.rows] or [np.nan]))
    attrs = stamps_attrs(settings, seed, noise_attr, zeropoint, "candels_blender")
    paths = {"stamps": out_path, "table1": table1_path, "cleaning": cleaning_path}
    columns = list(dict.fromkeys([*catalog.columns, "type"]))
    return finish_stamps(out, before, after, attrs, {**paths, "source": catalog_path}, columns)
