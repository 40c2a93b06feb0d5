"""Deblending a mosaic: grouping, tiles, flags, the field sky, bad inputs, real HST pixels, and
the deblend target through the workflow."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

from blendphot.deblend.catalog import FLAGS, best_flux, flag_names, merge_tiles, write_catalog
from blendphot.deblend.detect import header_zeropoint
from blendphot.deblend.groups import (
    assign_groups,
    companion_geometry,
    link_distance,
    training_domain,
)
from blendphot.deblend.measure import clean_group_stamp, cut_padded, deblend_region
from blendphot.deblend.plan import check_deblend_models
from blendphot.deblend.prepare import grouped_catalog
from blendphot.deblend.settings import DeblendSettings
from blendphot.deblend.tiles import owning_tile, tile_grid
from blendphot.errors import ConfigError, InputError

from .conftest import ROOT, tiny_config_dict

REAL_GROUP = ROOT / "examples" / "real_hst" / "abell_2744_group_of_galaxies_f105w.fits.gz"


def catalog_of(rows: list[tuple]) -> pd.DataFrame:
    """A catalogue of (id, x, y, mag, radius) rows."""
    return pd.DataFrame(rows, columns=["id", "x", "y", "mag", "radius"])


# ---------------------------------------------------------------------------- grouping


def test_link_distance_follows_the_rule_the_blends_were_drawn_with():
    r1, r2 = np.array([2.0, 10.0, 40.0]), np.array([3.0, 4.0, 40.0])
    np.testing.assert_allclose(link_distance(r1, r2, "candels_blender", 64), [8.0, 16.0, 64.0])
    np.testing.assert_allclose(link_distance(r1, r2, "paper", 64), [64.0] * 3)
    np.testing.assert_allclose(link_distance(r1, r2, "paper", 64, 2.5), [12.5, 35.0, 64.0])


def test_groups_link_friends_of_friends_and_put_the_brightest_first():
    catalog = catalog_of(
        [
            (10, 100.0, 100.0, 22.0, 4.0),  # chain: 10 - 11 - 12
            (11, 115.0, 100.0, 21.0, 4.0),
            (12, 130.0, 100.0, 23.0, 4.0),
            (13, 400.0, 400.0, 20.0, 4.0),  # alone
            (14, 300.0, 100.0, 22.0, 2.0),  # a pair, 9 px apart: linked by isolation only
            (15, 309.0, 100.0, 21.5, 2.0),
        ]
    )
    by_isolation = assign_groups(catalog, "candels_blender", 64, isolation=2.5)
    assert by_isolation["group_size"].tolist() == [3, 3, 3, 1, 2, 2]
    assert by_isolation["group_id"].tolist() == [11, 11, 11, 13, 15, 15]
    assert by_isolation["rank"].tolist() == [1, 0, 2, 0, 1, 0]
    assert by_isolation.loc[0, "centre_x"] == 115.0
    by_recipe = assign_groups(catalog, "candels_blender", 64)
    assert by_recipe["group_size"].tolist() == [3, 3, 3, 1, 1, 1]


def test_companion_geometry_against_the_central():
    members = catalog_of([(1, 0.0, 0.0, 20.0, 4.0), (2, 6.0, 8.0, 21.5, 2.0)])
    contrast, distance = companion_geometry(members)
    assert np.isnan(contrast[0]) and np.isnan(distance[0])
    assert contrast[1] == pytest.approx(1.5) and distance[1] == pytest.approx(5.0)


def test_training_domain_of_a_blend_table():
    table = {
        "g1_mag": np.array([20.0, 22.0]),
        "g2_mag": np.array([21.0, 23.5]),
        "g1_rad": np.array([3.0, 5.0]),
        "g2_rad": np.array([2.0, 10.0]),
        "distance": np.array([4.0, 20.0]),
    }
    domain = training_domain(table, 2)
    assert domain == {
        "mag": [20.0, 23.5],
        "radius": [2.0, 10.0],
        "contrast": [1.0, 1.5],
        "distance": [2.0, 4.0],
    }


# ------------------------------------------------------------------------------- tiles


def test_tiles_cover_the_mosaic_once_and_own_each_position_once():
    shape = (2500, 3100)
    tiles = tile_grid(shape, 1024, 96)
    assert len(tiles) == 6  # 2 rows, 3 columns: the last ones take the rest
    covered = np.zeros(shape, dtype=int)
    for tile in tiles:
        covered[tile.y0 : tile.y1, tile.x0 : tile.x1] += 1
        assert tile.rx0 == max(0, tile.x0 - 96) and tile.ry1 == min(shape[0], tile.y1 + 96)
    assert (covered == 1).all()
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 3099, 500), rng.uniform(0, 2499, 500)
    owner = owning_tile(x, y, shape, 1024)
    for i in range(500):
        tile = tiles[owner[i]]
        assert tile.x0 <= round(x[i]) < tile.x1 and tile.y0 <= round(y[i]) < tile.y1


def test_tile_counts_as_a_setting():
    from blendphot.deblend.plan import deblend_tile_count

    shape = (1000, 1500)
    tiles = tile_grid(shape, 2048, 96, counts=(2, 3))
    assert len(tiles) == 6 and tiles[-1].x1 == 1500 and tiles[-1].y1 == 1000
    assert [t.x0 for t in tiles[:3]] == [0, 500, 1000] and tiles[3].y0 == 500
    owner = owning_tile(np.array([499.0, 500.0, 1499.0]), np.array([0.0, 0.0, 999.0]), shape,
                        2048, counts=(2, 3))  # fmt: skip
    assert owner.tolist() == [0, 1, 5]
    config = deblend_config(tiles=[3, 3])
    assert deblend_tile_count(config, True) == 9  # the tiny field: 1155 pixels a side
    with pytest.raises(ConfigError, match=r"deblend.tiles \[10, 10\] cuts .* at least 128"):
        deblend_tile_count(deblend_config(tiles=[10, 10]), True)
    assert deblend_tile_count(deblend_config(), True) == 4  # tiles of tile_size 512


def test_merge_writes_each_object_once(tmp_path):
    a, b = tmp_path / "0.fits", tmp_path / "1.fits"
    write_catalog(pd.DataFrame({"id": [3, 1], "flux": [1.0, 2.0]}), a)
    write_catalog(pd.DataFrame({"id": [2], "flux": [3.0]}), b)
    assert merge_tiles([a, b])["id"].tolist() == [1, 2, 3]
    write_catalog(pd.DataFrame({"id": [1], "flux": [3.0]}), b)
    with pytest.raises(ValueError, match="id 1 written by two tiles"):
        merge_tiles([a, b])


# ------------------------------------------------------------------------ flags, stamps


def test_flag_names_and_the_catalogue_flux():
    word = FLAGS["isolated"][0] | FLAGS["near_edge"][0]
    assert flag_names(np.array([0, word])) == ["", "isolated|near_edge"]
    bits = [bit for bit, _ in FLAGS.values()]
    assert len(set(bits)) == len(bits) and all(b & (b - 1) == 0 for b in bits)
    table = pd.DataFrame(
        {
            "flags": [FLAGS["isolated"][0], 0, FLAGS["mag_outside"][0], 0],
            **{f"flux_sep{s}": [1.0, 2.0, 3.0, 4.0] for s in ("", "_err", "_p16", "_p84")},
            **{f"flux_kron{s}": [1.5, 2.5, 3.5, np.nan] for s in ("", "_err", "_p16", "_p84")},
            **{f"flux_b2f{s}": [np.nan, 5.0, 6.0, np.nan] for s in ("", "_err", "_p16", "_p84")},
        }
    )
    best = best_flux(table, ["b2f"])
    assert best["flux"].tolist() == [1.5, 5.0, 3.5, 4.0]  # a network out of its domain: Kron
    assert best["flux_method"].tolist() == ["kron", "b2f", "kron", "sep"]
    assert best["flux_p84"].tolist() == [1.5, 5.0, 3.5, 4.0]


def test_stamp_off_the_edge_is_marked_and_non_members_are_replaced():
    region = np.arange(100.0 * 100).reshape(100, 100).astype(np.float32)
    stamp, off = cut_padded(region, -10, 90, 32)
    assert off[:, :10].all() and off[10:, :].all() and not off[:10, 10:].any()
    assert np.isnan(stamp[off]).all() and np.isfinite(stamp[~off]).all()
    assert stamp[0, 10] == region[90, 0]
    segments = np.zeros((20, 20), dtype=np.int64)
    segments[2:5, 2:5] = 1  # a member
    segments[12:15, 12:15] = 2  # another object
    image = np.full((20, 20), 100.0, dtype=np.float32)
    clean = clean_group_stamp(image, segments, np.array([1]), 0.01, np.random.default_rng(0))
    assert (clean[2:5, 2:5] == 100).all()
    grown = (np.abs(clean[12:15, 10:17]) < 1).all() and (np.abs(clean[10:17, 12:15]) < 1).all()
    assert grown  # the segment, grown by 2 pixels
    assert clean[0, 19] == 100


def test_networks_see_the_noise_of_the_blends_they_learnt():
    from blendphot.deblend.measure import training_noise

    stamps = np.zeros((3, 128, 128), np.float32)
    out = training_noise(stamps, np.array([1, 2, 3]), 0.1, 7, np.array([5, 6, 7]))
    assert (out[0] == 0).all() and (stamps == 0).all()
    assert np.std(out[1]) == pytest.approx(0.1, rel=0.03)  # sqrt(2 - 1) x 0.1 added
    assert np.std(out[2]) == pytest.approx(0.1 * np.sqrt(2), rel=0.03)
    again = training_noise(stamps, np.array([1, 2, 3]), 0.1, 7, np.array([5, 6, 7]))
    np.testing.assert_array_equal(out, again)


# ----------------------------------------------------------------------------- settings


def test_settings_refuse_a_margin_smaller_than_half_a_stamp():
    with pytest.raises(ConfigError, match="deblend.margin is 32"):
        DeblendSettings.of({"margin": 32})
    assert DeblendSettings.of({}).drawn and DeblendSettings.of({}).subtracts_background() is False
    assert DeblendSettings.of({"mosaic": "m.fits"}).subtracts_background() is True


def test_deblend_models_must_be_flux_models_of_the_run():
    assert check_deblend_models({"models": None}, ["b2f", "b2m2f"]) == ["b2f", "b2m2f"]
    with pytest.raises(ConfigError, match="deblend.models: unet is not a flux model"):
        check_deblend_models({"models": ["unet"]}, ["b2f"])


def test_a_field_is_drawn_only_from_a_sky_the_workflow_draws():
    from blendphot.deblend.plan import deblend_mosaic_shape

    config = deblend_config()
    assert deblend_mosaic_shape(config, True) == (1155, 1155)  # tests/data/tiny.yaml's field
    config["sky"]["source"] = "candels_blender"
    with pytest.raises(ConfigError, match="there is no field to draw; set deblend.mosaic"):
        deblend_mosaic_shape(config, True)
    assert deblend_mosaic_shape(deblend_config(mosaic=str(REAL_GROUP)), False) == (100, 100)


def test_the_field_keeps_its_own_keys_under_a_partial_overlay():
    from blendphot.deblend.stages import field_sky

    config = deblend_config(sky={"n_galaxies": 10})
    sky, seed = field_sky(config)
    assert sky["placement"] == "field" and sky["n_galaxies"] == 10
    assert sky["neighbour_mag_range"] == [23.6, 27.0] and seed == config["seed"] + 1
    assert sky["psf_fwhm"] == config["sky"]["psf_fwhm"]  # the run's sky beneath
    assert field_sky(deblend_config(field_seed=5))[1] == 5


def test_tile_stage_takes_model_names_from_a_rule_or_the_command_line(monkeypatch):
    import blendphot.deblend.prepare as prepare
    from blendphot.deblend.stages import deblend_tile

    seen = []
    monkeypatch.setattr(prepare, "run_tile", lambda *args: seen.append(args[4]))
    for names in (["blend2flux", "blend2mask2flux"], "blend2flux,blend2mask2flux"):
        deblend_tile({}, {}, {"tile": "t.fits"}, {"tile": "0", "model_names": names}, 1)
    assert seen == [["blend2flux", "blend2mask2flux"]] * 2


def test_zero_point_from_the_header():
    assert header_zeropoint(fits.Header({"MAGZERO": 25.96})) == 25.96
    with fits.open(REAL_GROUP) as hdul:
        assert header_zeropoint(hdul[0].header) == pytest.approx(26.27, abs=0.01)
    assert header_zeropoint(fits.Header()) is None


def test_field_placement_keeps_the_objects_and_places_them_at_the_density():
    from blendphot.sky.synthetic import draw_galaxy_catalog, mosaic_shape

    sky = dict(tiny_config_dict()["sky"], n_galaxies=40)
    field = dict(sky, placement="field", field_density=100.0)
    grid, spread = draw_galaxy_catalog(sky, 3), draw_galaxy_catalog(field, 3)
    pd.testing.assert_frame_equal(
        grid.drop(columns=["x", "y"]), spread.drop(columns=["x", "y"]), check_like=True
    )
    ny, nx = mosaic_shape(field)
    area = nx * ny * (sky["pixel_scale"] / 60) ** 2  # arcmin^2
    assert 40 * 2.5 / area == pytest.approx(100.0, rel=0.01)
    assert spread["x"].between(0, nx - 1).all() and spread["y"].between(0, ny - 1).all()
    assert not np.allclose(grid["x"], spread["x"])


# ---------------------------------------------------------------------------- bad input


def deblend_config(**deblend) -> dict:
    config = tiny_config_dict()
    config["deblend"] = {**config["deblend"], **deblend}
    return config


def test_mosaic_without_wcs_and_catalogue_without_xy_is_one_clear_error(tmp_path):
    mosaic = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.zeros((200, 200), np.float32)).writeto(mosaic)
    catalog = tmp_path / "cat.csv"
    pd.DataFrame({"id": [1], "ra": [53.1], "dec": [-27.8], "mag": [22.0], "radius": [3.0],
                  "type": ["disk"]}).to_csv(catalog, index=False)  # fmt: skip
    config = deblend_config(mosaic=str(mosaic), catalog=str(catalog))
    with pytest.raises(InputError, match="no celestial WCS") as err:
        grouped_catalog(config, str(mosaic), str(catalog))
    assert str(mosaic) in str(err.value) and "\n" not in str(err.value)


def test_catalogue_off_the_mosaic_is_one_clear_error(tmp_path):
    mosaic = tmp_path / "m.fits"
    fits.PrimaryHDU(np.zeros((200, 200), np.float32)).writeto(mosaic)
    catalog = tmp_path / "cat.csv"
    rows = {"id": [1, 2], "x": [500.0, -40.0], "y": [10.0, 10.0], "mag": [22.0, 22.0]}
    rows |= {"radius": [3.0, 3.0], "type": ["disk", "sph"]}
    pd.DataFrame(rows).to_csv(catalog, index=False)
    config = deblend_config(mosaic=str(mosaic), catalog=str(catalog))
    with pytest.raises(InputError, match="none of its 2 objects lies on the mosaic") as err:
        grouped_catalog(config, str(mosaic), str(catalog))
    assert str(catalog) in str(err.value)


def test_corrupt_calibration_is_one_clear_error(tmp_path):
    from blendphot.deblend.prepare import read_calibration

    bad = tmp_path / "calibration.json"
    bad.write_text('{"b2f": {"levels": [0.1, ')
    with pytest.raises(InputError, match="unreadable calibration") as err:
        read_calibration(str(bad))
    assert str(bad) in str(err.value)
    assert read_calibration(None) == {}


def test_model_of_fewer_slots_than_the_groups_need_is_one_clear_error():
    from blendphot.baseline.settings import BaselineSettings
    from blendphot.deblend.measure import Network
    from blendphot.deblend.tiles import Tile

    two_slots = SimpleNamespace(outputs=[SimpleNamespace(shape=(None, 2))])
    network = Network("blend2flux", "b2f", Path("results/x/models/blend2flux/model.keras"))
    objects = pd.DataFrame(
        {"id": [1], "x": [50.0], "y": [50.0], "mag": [22.0], "radius": [3.0], "group_id": [1],
         "group_size": [1], "rank": [0], "centre_x": [50.0], "centre_y": [50.0], "tile": [0]}
    )  # fmt: skip
    region = np.random.default_rng(0).normal(0, 0.01, (100, 100)).astype(np.float32)
    with pytest.raises(
        InputError, match="predict 2 fluxes per stamp but deblend.max_group_size is 3"
    ) as err:
        deblend_region(
            region, Tile(0, 0, 100, 0, 100, 0, 100, 0, 100), objects, [(network, two_slots)],
            {}, None, BaselineSettings.of(tiny_config_dict()["baseline"]), 0.01, False, 8, 1,
            max_group_size=3,
        )  # fmt: skip
    assert "model.keras" in str(err.value)


# ------------------------------------------------------------------------- real pixels


def test_truth_tables_score_the_blended_objects_a_network_took():
    from blendphot.deblend.truth import artificial_table, natural_table, scored_objects

    edge = FLAGS["near_edge"][0]
    member = FLAGS["member_outside"][0]
    deblended = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "group_size": [2, 2, 3, 3, 3, 1],
            "slot": [1, 2, 1, 2, 0, 0],
            "flags": [0, 0, member, edge, FLAGS["beyond_k"][0], FLAGS["isolated"][0]],
            **{f"flux_b2f{s}": [11.0, 9.0, 20.0, 5.0, np.nan, np.nan] for s in ("",)},
            "flux_b2f_p16": [9.0, 8.0, 19.0, 1.0, np.nan, np.nan],
            "flux_b2f_p84": [12.0, 8.5, 21.0, 2.0, np.nan, np.nan],
            "flux_sep": [12.0, np.nan, 30.0, 4.0, np.nan, 7.0],
            "flux_sep_p16": [np.nan] * 6,
            "flux_sep_p84": [np.nan] * 6,
        }
    )
    truth = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "flux": [10.0] * 6})
    scored = scored_objects(deblended, truth)
    assert scored["id"].tolist() == [1, 2, 3, 4]
    assert scored["own_domain"].tolist() == [True, True, True, False]
    assert scored["in_domain"].tolist() == [True, True, False, False]
    table = natural_table(scored, ["b2f", "sep"]).set_index(["selection", "group_size", "method"])
    row = table.loc[("in domain", "all", "b2f")]
    assert row["n"] == 2 and row["mape"] == pytest.approx(10.0) and row["coverage"] == 50.0
    assert row["vs_sep"] == pytest.approx(2.0)  # on object 1 alone: sep 20%, b2f 10%
    assert table.loc[("all", "3", "b2f"), "n"] == 2
    assert table.loc[("all", "all", "sep"), "found"] == 75.0
    test = pd.DataFrame({"g1_flux": [10.0], "g2_flux": [20.0], "g1_flux_b2f": [12.0],
                         "g2_flux_b2f": [20.0], "g1_flux_b2f_p16": [9.0],
                         "g1_flux_b2f_p84": [11.0], "g2_flux_b2f_p16": [21.0],
                         "g2_flux_b2f_p84": [22.0]})  # fmt: skip
    artificial = artificial_table(test, {"b2f": "b2f"}).iloc[0]
    assert artificial["n"] == 2 and artificial["mape"] == pytest.approx(10.0)
    assert artificial["coverage"] == 50.0


@pytest.mark.slow
def test_real_hst_group_through_the_deblending(tmp_path, caplog):
    """The fits route on the shipped real HST cut-out: sep finds the objects (no catalogue),
    the overlapping pair is grouped and measured by a network, every flag says why."""
    from blendphot.deblend.prepare import run_tile
    from blendphot.models import get_architecture, load_model_modules

    load_model_modules()
    config = deblend_config(mosaic=str(REAL_GROUP))
    groups = grouped_catalog(config, str(REAL_GROUP), None)
    assert len(groups) >= 5 and (groups["group_size"] == 2).sum() >= 2
    write_catalog(groups, tmp_path / "groups.fits")
    model = get_architecture("blend2flux").build((128, 128, 1), filters=4, dense_units=8)
    model.save(tmp_path / "model.keras")
    inputs = {"mosaic": str(REAL_GROUP), "groups": str(tmp_path / "groups.fits"),
              "models": [str(tmp_path / "model.keras")]}  # fmt: skip
    with caplog.at_level("INFO", logger="blendphot"):
        table = run_tile(config, inputs, tmp_path / "tile.fits", 0, ["blend2flux"], 1)
    # the line the throughput benchmark reads (benchmarks/deblend.py)
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "deblend.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    lines = [bench.TILE_LINE.search(r.getMessage()) for r in caplog.records]
    found = [m for m in lines if m]
    assert found and int(found[0]["objects"]) == len(groups)
    assert len(table) == len(groups) and set(table["id"]) == set(groups["id"])
    assert table["id"].dtype.kind == "i" and table["group_id"].dtype.kind == "i"
    assert (table["flag_names"].str.contains("near_edge")).all()  # 100 x 100: stamps padded
    paired = table[table["group_size"] == 2]
    assert np.isfinite(paired["flux_b2f"]).all() and paired["slot"].tolist() == [1, 2]
    alone = table[table["group_size"] == 1]
    assert alone["flag_names"].str.contains("isolated").all()
    assert (alone["flux_method"] == "kron").all() and np.isfinite(alone["flux"]).all()
    assert (paired["flux_method"] == "kron").all()  # out of the networks' domain: flagged
    written = Table.read(tmp_path / "tile.fits")
    assert written.meta["FLAG0"] == "isolated"


# --------------------------------------------------------------------------- workflow


@pytest.mark.workflow
def test_deblend_target_on_the_tiny_run(tiny_runs, tmp_path):
    """`snakemake deblend` after the tiny run: a drawn field cut into tiles, merged with
    each object once, measured against its truth."""
    result = tiny_runs["tiny"].result()
    assert result.returncode == 0, result.stderr[-3000:]
    work = tmp_path / "work"
    shutil.copytree(tiny_runs["tiny"].workdir, work, copy_function=os.link,
                    ignore=shutil.ignore_patterns(".snakemake"))  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(work),
         "deblend", "--cores", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    res = work / "results" / "tiny" / "deblend"
    tiles = sorted((res / "tiles").glob("*.fits"))
    assert len(tiles) == 4  # tests/data/tiny.yaml: a field of 1155 pixels, tiles of 512
    deblended = pd.read_csv(res / "deblended.csv")
    truth = Table.read(res / "field" / "catalog.fits").to_pandas()
    assert sorted(deblended["id"]) == sorted(truth["id"])
    blended = deblended[(deblended["group_size"] > 1) & (deblended["slot"] > 0)]
    assert len(blended) and np.isfinite(blended["flux_b2f"]).mean() > 0.9
    report = (res / "truth.md").read_text()
    assert "Natural blends" in report and "| b2f |" in report
    assert (res / "region.png").stat().st_size > 10_000
