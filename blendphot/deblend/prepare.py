"""The deblending's inputs read and checked once: the mosaic's shape, header and zero point,
its catalogue (or sep's detections) on the mosaic and grouped, the trained networks and the
training domain, and one tile run end to end with its timings."""

from __future__ import annotations

import json
import logging
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table

from blendphot.deblend.detect import (
    detect_mosaic,
    header_zeropoint,
    image_unit,
    world_positions,
)
from blendphot.deblend.groups import assign_groups, training_domain
from blendphot.deblend.settings import STAMP_SIZE, DeblendSettings
from blendphot.deblend.tiles import owning_tile, tile_grid
from blendphot.errors import InputError

log = logging.getLogger("blendphot")

GROUP_COLUMNS = ("group_id", "group_size", "rank", "centre_x", "centre_y", "tile")


def mosaic_header(path: str | Path, hdu: int | None = None) -> tuple[fits.Header, tuple[int, int]]:
    """The header and shape (ny, nx) of a FITS mosaic's image, without reading its pixels."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "mosaic does not exist")
    try:
        with fits.open(path, memmap=True) as hdul:
            header = image_unit(hdul, hdu, path).header
            return header.copy(), (int(header["NAXIS2"]), int(header["NAXIS1"]))
    except (OSError, IndexError, TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(path, f"not a readable FITS image ({exc})") from exc


def zeropoint_of(deblend: DeblendSettings, header: fits.Header, sky_zeropoint: float) -> float:
    """The mosaic's AB zero point: ``deblend.zeropoint``, else its header's, else the sky's."""
    if deblend.zeropoint is not None:
        return float(deblend.zeropoint)
    stated = header_zeropoint(header)
    return float(sky_zeropoint if stated is None else stated)


def read_objects(
    deblend: DeblendSettings,
    mosaic_path: str | Path,
    catalog_path: str | Path | None,
    header: fits.Header,
    zeropoint: float,
    baseline: dict,
) -> pd.DataFrame:
    """The objects to deblend: the given catalogue (id, x, y or ra/dec + WCS, mag, radius),
    the drawn field's, or sep's detections of the mosaic; ra, dec from the WCS where absent."""
    from blendphot.baseline.settings import DetectionSettings
    from blendphot.sky.inputs import pixel_positions, read_catalog

    if catalog_path is None:
        with fits.open(mosaic_path, memmap=True) as hdul:
            data = image_unit(hdul, deblend.hdu, mosaic_path).data
            return detect_mosaic(
                data, header, DetectionSettings.of(baseline), zeropoint, deblend.tile_size,
                deblend.margin, deblend.noise, deblend.subtracts_background(), deblend.tiles,
            )  # fmt: skip
    if deblend.drawn:  # the field's own catalogue: the truth of what was drawn
        catalog = Table.read(catalog_path).to_pandas()
        catalog = catalog[["id", "ra", "dec", "x", "y", "mag", "radius"]].copy()
    else:
        catalog = read_catalog(catalog_path, dict(deblend.columns), zeropoint)
        x, y = pixel_positions(catalog, header, mosaic_path, catalog_path, deblend.pixel_origin)
        catalog["x"], catalog["y"] = x, y
    if not {"ra", "dec"} <= set(catalog.columns):
        catalog["ra"], catalog["dec"] = world_positions(header, catalog["x"], catalog["y"])
    return catalog[["id", "ra", "dec", "x", "y", "mag", "radius"]].reset_index(drop=True)


def on_mosaic(catalog: pd.DataFrame, shape: tuple[int, int], path, mosaic_path) -> pd.DataFrame:
    """The catalogue's objects whose (rounded) position lies on the mosaic; InputError when
    none does, a logged count of those left out otherwise."""
    x, y = catalog["x"].to_numpy(float), catalog["y"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        inside = (np.round(x) >= 0) & (np.round(x) < shape[1])
        inside &= (np.round(y) >= 0) & (np.round(y) < shape[0])
    if len(catalog) and not inside.any():
        raise InputError(
            path,
            f"none of its {len(catalog)} objects lies on the mosaic {mosaic_path} "
            f"({shape[1]} x {shape[0]} pixels; x from {np.nanmin(x):.0f} to {np.nanmax(x):.0f}, "
            f"y from {np.nanmin(y):.0f} to {np.nanmax(y):.0f}): check the catalogue's "
            "coordinates (0-based pixels, deblend.pixel_origin, or ra/dec) and the mosaic's WCS",
        )
    if not inside.all():
        log.warning(
            "%s: %d of %d objects lie off the mosaic: left out",
            path, int((~inside).sum()), len(catalog),
        )  # fmt: skip
    return catalog[inside].reset_index(drop=True)


def grouped_catalog(settings: dict, mosaic_path: str, catalog_path: str | None) -> pd.DataFrame:
    """The objects of the mosaic, grouped (:func:`~blendphot.deblend.groups.assign_groups`),
    each with the tile that owns its group."""
    deblend = DeblendSettings.of(settings["deblend"])
    header, shape = mosaic_header(mosaic_path, deblend.hdu)
    deblend.check_tiles(shape)
    zeropoint = zeropoint_of(deblend, header, settings["sky"]["zeropoint"])
    catalog = read_objects(
        deblend, mosaic_path, catalog_path, header, zeropoint, settings["baseline"]
    )
    catalog = on_mosaic(catalog, shape, catalog_path or mosaic_path, mosaic_path)
    isolation = settings["stamps"]["isolation"] if deblend.link == "isolation" else None
    groups = assign_groups(catalog, settings["blends"]["recipe"], STAMP_SIZE // 2, isolation)
    table = pd.concat([catalog, groups], axis=1)
    table["tile"] = owning_tile(
        table["centre_x"], table["centre_y"], shape, deblend.tile_size, deblend.tiles
    )
    return table


def read_domain(path: str | None) -> dict | None:
    """The training galaxies' magnitude and radius ranges, from a training blend set; None
    without one."""
    if not path:
        return None
    from blendphot.blends import open_blend_set
    from blendphot.blends.layout import slot_count

    with open_blend_set(path) as h5:
        k = slot_count(h5)
        names = [f"g{s + 1}_{f}" for s in range(k) for f in ("mag", "rad")]
        names += ["distance"] + [f"g{s + 1}_distance" for s in range(2, k)]
        table = {name: h5["table"][name][()] for name in names}
    return training_domain(table, k)


def networks_of(settings: dict, names: list[str], paths: list[str]):
    """The networks to apply, in the order of ``names``, each with its file and symmetries."""
    from blendphot.deblend.measure import Network

    out = []
    for name, path in zip(names, paths, strict=True):
        entry = settings["models"][name]
        symmetries = entry.get("symmetries", settings["uncertainty"]["symmetries"])
        out.append(Network(name, entry.get("column", name), Path(path), int(symmetries)))
    return out


def load_networks(networks: list, threads: int, seed: int, deterministic: bool) -> list:
    """(network, loaded Keras model) pairs."""
    import blendphot.models.losses  # noqa: F401 - registers the flux losses
    import blendphot.models.widths  # noqa: F401 - registers a width model's layers
    from blendphot.models.modelfile import load_model_file
    from blendphot.models.train import configure_tensorflow

    configure_tensorflow(threads, seed, deterministic)
    return [(n, load_model_file(n.path)) for n in networks]


def read_calibration(path: str | None) -> dict:
    """The calibration fitted on the validation blends (JSON), per method column; empty
    without one; InputError naming the file when it cannot be read."""
    if not path:
        return {}
    try:
        fits_by_column = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(path, f"unreadable calibration: {exc}") from exc
    if not isinstance(fits_by_column, dict):
        raise InputError(path, "unreadable calibration: not a JSON object of method fits")
    return fits_by_column


def run_tile(
    settings: dict, inputs: dict, out: Path, index: int, model_names: list[str], threads: int
) -> pd.DataFrame:
    """Deblend one tile (:func:`~blendphot.deblend.measure.deblend_region`) and write its
    catalogue; logs its objects, the time of each part and the peak memory."""
    from blendphot.baseline.settings import BaselineSettings
    from blendphot.deblend.catalog import read_catalog_table, write_catalog
    from blendphot.deblend.measure import deblend_region, read_region

    deblend = DeblendSettings.of(settings["deblend"])
    times = {}
    start = time.perf_counter()
    header, shape = mosaic_header(inputs["mosaic"], deblend.hdu)
    tile = tile_grid(shape, deblend.tile_size, deblend.margin, deblend.tiles)[index]
    table = read_catalog_table(inputs["groups"])
    x, y = table["x"].to_numpy(float), table["y"].to_numpy(float)
    near = (x >= tile.rx0) & (x < tile.rx1) & (y >= tile.ry0) & (y < tile.ry1)
    objects = table[near | (table["tile"] == index)].reset_index(drop=True)
    region = read_region(inputs["mosaic"], tile, deblend.hdu)
    times["read"] = time.perf_counter() - start
    start = time.perf_counter()
    networks = load_networks(
        networks_of(settings, model_names, inputs.get("models") or []), threads,
        settings["seed"], settings["training"]["deterministic"],
    )  # fmt: skip
    times["load models"] = time.perf_counter() - start
    calibration = read_calibration(inputs.get("calibration"))
    noise = deblend.noise if deblend.noise is not None else header.get("NOISE")
    start = time.perf_counter()
    result = deblend_region(
        region, tile, objects, networks, calibration, read_domain(inputs.get("train")),
        BaselineSettings.of(settings["baseline"]), noise, deblend.subtracts_background(),
        deblend.batch_size, settings["seed"], deblend.max_group_size, times, deblend.match_noise,
    )  # fmt: skip
    times["measure"] = time.perf_counter() - start
    if not len(result):
        result = pd.DataFrame({"id": np.zeros(0, dtype=np.int64)})
    write_catalog(result, out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    owned = objects[objects["tile"] == index]
    groups = owned.drop_duplicates("group_id")
    log.info(
        "tile %d: %d objects in %d groups (%d of two or more), %d region pixels, %s; "
        "peak memory %.0f MB",
        index, len(owned), len(groups), int((groups["group_size"] > 1).sum()),
        tile.region_pixels,
        ", ".join(f"{k} {v:.2f} s" for k, v in times.items()), peak,
    )  # fmt: skip
    return result
