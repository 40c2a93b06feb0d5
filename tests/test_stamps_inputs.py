"""Real inputs through the stamps stage: the candels-blender files, a FITS mosaic + catalogue,
and every kind of bad input (a clear InputError naming the file, or a counted skip)."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

from blendphot.config import validate_config
from blendphot.errors import ConfigError, InputError
from blendphot.sky.synthetic import mosaic_wcs
from blendphot.stages import get_stage, run_stage
from blendphot.stamps import TRUTH_DATASET, build_stamps, build_stamps_candels, read_stamps

from .conftest import tiny_config_dict

NOISE = 0.01


def _galaxy(shape, x0, y0, flux, sigma):
    y, x = np.mgrid[: shape[0], : shape[1]]
    r2 = (x - x0) ** 2 + (y - y0) ** 2
    return flux * np.exp(-r2 / (2 * sigma**2)) / (2 * np.pi * sigma**2)


# ----------------------------------------------------------------------------- candels-blender


def write_candels(tmp_path, n=6, catalog_edit=None, images_shape=None):
    """Small files in exactly the published format: (N,128,128) npy stamps + seg, a CSV."""
    rng = np.random.default_rng(1)
    images = np.empty((n, 128, 128), dtype=np.float32)
    segs = np.zeros((n, 128, 128), dtype=np.int32)
    for i in range(n):
        central = _galaxy((128, 128), 64, 64, 40.0, 3.0)
        neighbour = _galaxy((128, 128), 30 + 5 * i, 95, 15.0, 2.0)
        images[i] = central + neighbour + rng.normal(0, NOISE, (128, 128))
        segs[i][central > 0.02] = 3  # the published maps use arbitrary labels
        segs[i][neighbour > 0.02] = 7
    catalog = pd.DataFrame(
        {
            "ID": np.arange(101, 101 + n),
            "mag": np.linspace(20.0, 23.6, n),
            "radius": np.full(n, 4.0),
            "z": np.linspace(0.3, 1.2, n),
            "galtype": ["sph", "disk", "sphd", "irr", "disk", "sph"][:n],
        }
    )
    if catalog_edit:
        catalog = catalog_edit(catalog)
    paths = {k: tmp_path / f"candels_{k}" for k in ("img.npy", "seg.npy", "cat.csv")}
    np.save(paths["img.npy"], images if images_shape is None else images.reshape(images_shape))
    np.save(paths["seg.npy"], segs)
    catalog.to_csv(paths["cat.csv"], index=False)
    return paths["img.npy"], paths["seg.npy"], paths["cat.csv"]


def _candels_config(**stamps):
    config = tiny_config_dict()
    config["sky"]["source"] = "candels_blender"
    config["stamps"].update(stamps)
    return config


@pytest.mark.parametrize("segmentation", ["sep", "provided"])
def test_candels_blender_adapter(tmp_path, segmentation):
    images, segs, catalog = write_candels(tmp_path)
    config = _candels_config(segmentation=segmentation, exclude_ids=[102])
    out = {"stamps": tmp_path / "s.h5", "table1": tmp_path / "t1.csv",
           "cleaning": tmp_path / "c.csv"}  # fmt: skip
    run_stage("stamps", config, {"images": images, "segmaps": segs,
              "catalog": catalog}, out, {})  # fmt: skip
    h5, rows = read_stamps(out["stamps"])
    with h5:
        assert TRUTH_DATASET not in h5  # real inputs carry no noiseless truth
        assert h5.attrs["source"] == "candels_blender"
        assert h5.attrs["noise"] == pytest.approx(NOISE, rel=0.1)
        # mag 23.6 (id 106) fails the cut, id 102 is excluded
        assert list(rows["id"]) == [101, 103, 104, 105]
        assert list(rows["type"]) == ["sph", "sphd", "irr", "disk"]
        np.testing.assert_allclose(rows["flux"], 10 ** (-0.4 * (rows["mag"] - 25.96)))
        raw, clean, mask = h5["image_raw"][()], h5["image"][()], h5["mask"][()]
    assert (mask[:, 64, 64] == 1).all()
    # the neighbour is gone, the central untouched
    for k, index in enumerate([0, 2, 3, 4]):
        x = 30 + 5 * index
        assert raw[k, 95, x] > 0.3 and abs(clean[k, 95, x]) < 5 * NOISE
    np.testing.assert_array_equal(clean[mask == 1], raw[mask == 1])
    table1 = pd.read_csv(out["table1"]).set_index("type")
    assert table1.loc["Total", "before_exclusion"] == 5
    assert table1.loc["Disc", "after_exclusion"] == 1
    assert len(pd.read_csv(out["cleaning"])) == 4


def _candels_error(tmp_path, **kwargs):
    images, segs, catalog = write_candels(tmp_path, **kwargs)
    config = _candels_config()
    with pytest.raises(InputError) as err:
        build_stamps_candels(images, segs, catalog, config["stamps"], config["sky"], 1,
                             tmp_path / "s.h5", tmp_path / "t.csv")  # fmt: skip
    return str(err.value), {"images": images, "segmaps": segs, "catalog": catalog}


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.drop(columns=["galtype"]), "missing column.*galtype"),
        (lambda c: c.assign(ID=[1, 2, 3, 3, 5, 6]), "duplicate id 3"),
        (lambda c: c.assign(mag=[20.0, np.nan, 21, 22, 23, 23]), "NaN.*id 102"),
        (lambda c: c.assign(galtype=["sph", "elliptical", "sph", "sph", "sph", "sph"]),
         "unknown galaxy type.*elliptical"),
        (lambda c: c.iloc[:5], "5 catalogue rows for 6 stamps"),
    ],
)  # fmt: skip
def test_candels_bad_catalog(tmp_path, edit, message):
    text, paths = _candels_error(tmp_path, catalog_edit=edit)
    assert re.search(message, text), text
    assert str(paths["catalog"]) in text


def test_candels_bad_stamp_shape(tmp_path):
    text, paths = _candels_error(tmp_path, images_shape=(6, 64, 256))
    assert "(N, 128, 128)" in text and str(paths["images"]) in text


# ------------------------------------------------------------------------- FITS mosaic + catalogue


def write_mosaic(tmp_path, with_wcs=True, shape=(400, 500)):
    """A mosaic with three galaxies (+ one neighbour), a WCS and no NOISE keyword."""
    rng = np.random.default_rng(2)
    positions = [(150.0, 150.0), (350.0, 250.0), (30.0, 200.0)]  # the last one is at the edge
    image = rng.normal(0, NOISE, shape)
    for x, y in positions:
        image += _galaxy(shape, x, y, 40.0, 3.0)
    image += _galaxy(shape, 190.0, 120.0, 10.0, 2.0)  # a neighbour of the first
    header = mosaic_wcs(shape, 0.06).to_header() if with_wcs else fits.Header()
    path = tmp_path / ("mosaic.fits" if with_wcs else "mosaic_nowcs.fits")
    fits.PrimaryHDU(image.astype(np.float32), header=header).writeto(path)
    return path, positions


def write_fits_catalog(tmp_path, positions, use_radec=True, fmt="csv", extra_rows=()):
    """A catalogue with its own column names (1-based X/Y as SExtractor writes them)."""
    wcs = mosaic_wcs((400, 500), 0.06)
    xs = np.array([p[0] for p in positions] + [r[0] for r in extra_rows])
    ys = np.array([p[1] for p in positions] + [r[1] for r in extra_rows])
    ra, dec = wcs.all_pix2world(xs, ys, 0)
    n = len(xs)
    table = pd.DataFrame(
        {
            "OBJ": np.arange(1, n + 1),
            "H_MAG": np.full(n, 21.0),
            "RE_PIX": np.full(n, 3.0),
            "ZBEST": np.full(n, 0.8),
            "PSPH": np.full(n, 0.9),
            "PDISK": np.full(n, 0.1),
            "PIRR": np.full(n, 0.05),
        }
    )
    if use_radec:
        table["RA"], table["DEC"] = ra, dec
    else:
        table["X_IMAGE"], table["Y_IMAGE"] = xs + 1.0, ys + 1.0
    path = tmp_path / f"cat.{fmt}"
    if fmt == "csv":
        table.to_csv(path, index=False)
    else:
        Table.from_pandas(table).write(path)
    return path


COLUMNS = {"id": "OBJ", "mag": "H_MAG", "radius": "RE_PIX", "z": "ZBEST", "p_sph": "PSPH",
           "p_disk": "PDISK", "p_irr": "PIRR"}  # fmt: skip


def _fits_config(positions="radec", **fits_cfg):
    config = tiny_config_dict()
    columns = dict(COLUMNS)
    columns.update({"ra": "RA", "dec": "DEC"} if positions == "radec" else
                   {"x": "X_IMAGE", "y": "Y_IMAGE"})  # fmt: skip
    config["sky"]["source"] = "fits"
    config["sky"]["fits"] = {"mosaic": "m.fits", "catalog": "c.csv", "columns": columns,
                             **fits_cfg}  # fmt: skip
    return validate_config(config)


@pytest.mark.parametrize("positions, fmt", [("radec", "csv"), ("xy", "fits")])
def test_fits_mosaic_and_catalogue(tmp_path, positions, fmt):
    mosaic, pos = write_mosaic(tmp_path)
    outside = [(900.0, 100.0)]
    catalog = write_fits_catalog(tmp_path, pos, positions == "radec", fmt, outside)
    config = _fits_config(positions)
    counts = build_stamps(mosaic, catalog, config["stamps"], config["seed"], tmp_path / "s.h5",
                          tmp_path / "t1.csv", sky=config["sky"])  # fmt: skip
    # one galaxy 30 px from the edge, one off the image: counted, not fatal
    assert counts["stamps"] == 2 and counts["edge"] == 1 and counts["outside"] == 1
    with h5py.File(tmp_path / "s.h5") as h5:
        assert TRUTH_DATASET not in h5
        assert h5.attrs["skipped_edge"] == 1 and h5.attrs["skipped_outside"] == 1
        assert h5.attrs["noise"] == pytest.approx(NOISE, rel=0.1)  # measured per stamp
        raw, clean, mask = h5["image_raw"][0], h5["image"][0], h5["mask"][0]
    assert raw[64, 64] == pytest.approx(40.0 / (2 * np.pi * 9), rel=0.05)  # centred
    assert mask[64, 64] == 1
    neighbour = (64 - 30, 64 + 40)  # (row, column) of the neighbour in the first stamp
    assert raw[neighbour] > 0.2 and abs(clean[neighbour]) < 5 * NOISE


def test_mosaic_without_wcs_and_radec_only(tmp_path):
    mosaic, pos = write_mosaic(tmp_path, with_wcs=False)
    catalog = write_fits_catalog(tmp_path, pos, use_radec=True)
    config = _fits_config("radec")
    with pytest.raises(InputError, match="no celestial WCS") as err:
        build_stamps(mosaic, catalog, config["stamps"], 1, tmp_path / "s.h5",
                     tmp_path / "t.csv", sky=config["sky"])  # fmt: skip
    assert str(mosaic) in str(err.value) and str(catalog) in str(err.value)


def test_mosaic_without_wcs_is_fine_with_pixel_positions(tmp_path):
    mosaic, pos = write_mosaic(tmp_path, with_wcs=False)
    catalog = write_fits_catalog(tmp_path, pos, use_radec=False)
    config = _fits_config("xy")
    counts = build_stamps(mosaic, catalog, config["stamps"], 1, tmp_path / "s.h5",
                          tmp_path / "t.csv", sky=config["sky"])  # fmt: skip
    assert counts["stamps"] == 2


def test_mapped_column_missing_from_the_file(tmp_path):
    mosaic, pos = write_mosaic(tmp_path)
    catalog = write_fits_catalog(tmp_path, pos)
    config = _fits_config("radec")
    config["sky"]["fits"]["columns"]["z"] = "Z_PHOT"
    with pytest.raises(InputError, match="'Z_PHOT' \\(for z\\)") as err:
        build_stamps(mosaic, catalog, config["stamps"], 1, tmp_path / "s.h5",
                     tmp_path / "t.csv", sky=config["sky"])  # fmt: skip
    assert str(catalog) in str(err.value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.drop(columns=["RE_PIX"]), "'RE_PIX' \\(for radius\\)"),
        (lambda t: t.assign(OBJ=[1, 1, 2]), "duplicate id 1"),
        (lambda t: t.assign(H_MAG=[21.0, np.nan, 22.0]), "NaN"),
    ],
)
def test_bad_fits_catalogue(tmp_path, edit, message):
    mosaic, pos = write_mosaic(tmp_path)
    catalog = write_fits_catalog(tmp_path, pos)
    edit(pd.read_csv(catalog)).to_csv(catalog, index=False)
    config = _fits_config("radec")
    with pytest.raises(InputError, match=message) as err:
        build_stamps(mosaic, catalog, config["stamps"], 1, tmp_path / "s.h5",
                     tmp_path / "t.csv", sky=config["sky"])  # fmt: skip
    assert str(catalog) in str(err.value)


def test_fits_source_needs_its_files():
    config = tiny_config_dict()
    config["sky"]["source"] = "fits"
    with pytest.raises(ConfigError, match="sky"):
        validate_config(config)


def test_stamp_stages_are_wired():
    stamps = get_stage("stamps")
    assert stamps.outputs == ("stamps", "table1", "cleaning")
    assert {"images", "segmaps", "catalog", "mosaic"} == set(stamps.inputs)
    assert set(stamps.optional_inputs) == {"images", "segmaps", "mosaic"}
    assert "reference" in get_stage("sky_calibration").optional_inputs


def test_candels_blender_skips_the_automatic_inspection_unless_asked(tmp_path):
    """The candels-blender stamps were inspected by eye: ``inspect: auto`` keeps them all;
    ``inspect: on`` runs the automatic inspection, which rejects the blended ones."""
    images, segs, catalog = write_candels(tmp_path, n=4, catalog_edit=lambda c: c.assign(mag=21.0))
    stack = np.load(images)
    for i in (1, 3):  # a galaxy of similar brightness overlapping the central
        stack[i] += _galaxy((128, 128), 75, 64, 30.0, 2.5).astype(np.float32)
    np.save(images, stack)
    counts = {}
    for mode in ("auto", "on"):
        config = _candels_config(inspect=mode, inspect_check=0)
        counts[mode] = build_stamps_candels(images, segs, catalog, config["stamps"],
                                            config["sky"], 1, tmp_path / f"{mode}.h5",
                                            tmp_path / "t.csv")  # fmt: skip
    assert counts["auto"]["stamps"] == 4 and counts["auto"]["inspection"] == 0
    assert counts["on"]["stamps"] == 2 and counts["on"]["inspection"] == 2
