"""A battery of faults, made as a user or a cluster would make them, run through the real
stages (the ``blendphot <stage>`` command, as a user runs it outside Snakemake).

Each case asserts its outcome: one line naming the file and the problem (exit status 2, no
traceback) and no output written; or, where skipping is right (a test blend with non-finite
pixels), NaN for every method in those rows, counted in metrics.csv.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from blendphot.cli import main

from .conftest import ROOT, TINY

pytestmark = pytest.mark.faults

MODELS = ("blend2flux", "unet")
CONFIGS: list[Path] = []
"""The battery's config (the tiny test config with the two models it trains), once written."""


def run(stage: str, config: Path | None = None, **files) -> list[str]:
    """The command line of one stage: inputs as --name, outputs as out_name=..."""
    argv = [stage, "--config", str(config or CONFIGS[-1])]
    for key, value in files.items():
        if key.startswith("out_"):
            argv += [f"--out-{key[4:].replace('_', '-')}", str(value)]
        elif isinstance(value, (list, tuple)):
            argv += [f"--{key.replace('_', '-')}", *map(str, value)]
        else:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    return argv


def fails(capsys, argv: list[str], *patterns: str) -> str:
    """Run a stage that must refuse its input: exit status 2, one line on stderr matching
    every pattern, no traceback; no output file left behind. Returns the line."""
    outputs = [Path(argv[i + 1]) for i, a in enumerate(argv) if a.startswith("--out-")]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    if os.environ.get("BLENDPHOT_FAULTS_REPORT"):  # the battery's table: case -> message
        with open(os.environ["BLENDPHOT_FAULTS_REPORT"], "a") as fh:
            case = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]
            fh.write(f"{case}\t{code}\t{err.splitlines()[-1] if err else ''}\n")
    assert code == 2, f"expected a clean refusal, got status {code}: {err}"
    lines = [line for line in err.splitlines() if line.startswith("blendphot ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for pattern in patterns:
        assert pattern.lower() in lines[0].lower(), f"{pattern!r} not in: {lines[0]}"
    for out in outputs:
        assert not out.exists(), f"{out} written despite the error"
    return lines[0]


def succeeds(argv: list[str]) -> None:
    assert main(argv) == 0


@pytest.fixture(scope="module")
def world(tiny_data, tmp_path_factory):
    """The tiny data chain, trained tiny networks, their predictions, the sep baseline and
    the oracle on the test set: every file a later stage reads, made by the real stages."""
    d = tmp_path_factory.mktemp("faults")
    config = yaml.safe_load(TINY.read_text())
    config["models"] = {name: config["models"][name] for name in MODELS}
    (d / "faults.yaml").write_text(yaml.safe_dump(config))
    CONFIGS.append(d / "faults.yaml")
    files = {k: Path(v) for k, v in tiny_data.items() if isinstance(v, (str, Path))}
    for model in MODELS:
        m = d / "models" / model
        succeeds(
            run(
                "train_model",
                train=files["train"],
                val=files["val"],
                out_model=m / "model.keras",
                out_history=m / "history.csv",
                out_curve=m / "curve.png",
                out_summary=m / "summary.json",
                out_tensorboard=m / "tb",
                model=model,
                resume_dir=d / "resume" / model,
            )
        )
        files[f"model_{model}"] = m / "model.keras"
        files[f"pred_{model}"] = d / "predictions" / f"{model}.h5"
        succeeds(
            run(
                "predict",
                trained_model=m / "model.keras",
                test=files["test"],
                out_predictions=files[f"pred_{model}"],
                model=model,
            )
        )
    shards = [d / "baseline" / f"shard{i}.csv" for i in range(2)]
    for i, shard in enumerate(shards):
        succeeds(run("sep_baseline_shard", test=files["test"], out_shard=shard, shard=i))
    files["sep"] = d / "baseline" / "sep.csv"
    succeeds(
        run(
            "sep_baseline",
            test=files["test"],
            shards=shards,
            out_baseline=files["sep"],
            out_table3=d / "baseline" / "table3.csv",
        )
    )
    files["oracle"] = d / "baseline" / "oracle.csv"
    succeeds(run("oracle", test=files["test"], out_oracle=files["oracle"]))
    files["output_catalog"] = d / "output_catalog.csv"
    succeeds(catalog_argv(files, files["output_catalog"]))
    return files


def catalog_argv(files: dict, out: Path, **changes) -> list[str]:
    """The output_catalog command of the world's files, with some replaced."""
    given = {
        "test": files["test"],
        "predictions": [files[f"pred_{m}"] for m in MODELS],
        "baseline": files["sep"],
        "oracle": files["oracle"],
        "out_catalog": out,
    }
    return run("output_catalog", **{**given, **changes})


def metrics_argv(catalog: Path, test: Path, out: Path) -> list[str]:
    return run(
        "metrics",
        catalog=catalog,
        test=test,
        out_metrics=out / "metrics.csv",
        out_binned=out / "binned.csv",
        out_by_count=out / "by_count.csv",
        dataset="tiny",
    )


def predict_argv(model: Path, test: Path, out: Path, name: str = "blend2flux") -> list[str]:
    return run("predict", trained_model=model, test=test, out_predictions=out, model=name)


def copy(path: Path, tmp_path: Path, name: str | None = None) -> Path:
    target = tmp_path / (name or path.name)
    shutil.copy(path, target)
    return target


def rewrite(path: Path, name: str, values) -> None:
    """Replace one dataset of an HDF5 file (any shape and dtype)."""
    with h5py.File(path, "r+") as h5:
        del h5[name]
        h5[name] = values


# --- blend sets ----------------------------------------------------------------------------


def test_integer_blend_image_is_refused(world, tmp_path, capsys):
    test = copy(world["test"], tmp_path)
    with h5py.File(test, "r") as h5:
        blend = h5["blend"][()]
    rewrite(test, "blend", np.round(blend * 100).astype(np.int16))
    argv = predict_argv(world["model_blend2flux"], test, tmp_path / "p.h5")
    fails(capsys, argv, "test.h5", "dataset blend", "int16", "floating point")
    shards = run("sep_baseline_shard", test=test, out_shard=tmp_path / "s.csv", shard=0)
    fails(capsys, shards, "test.h5", "dataset blend", "floating point")


@pytest.mark.parametrize(
    "value, rule",
    [(0.0, "finite and positive"), (-3.0, "finite and positive"), (np.nan, "finite and positive")],
)
def test_a_bad_true_flux_is_refused(world, tmp_path, capsys, value, rule):
    test = copy(world["test"], tmp_path)
    with h5py.File(test, "r+") as h5:
        h5["flux"][5, 1] = value
        h5["table/g2_flux"][5] = value
    argv = run("oracle", test=test, out_oracle=tmp_path / "o.csv")
    line = fails(capsys, argv, "test.h5", "dataset flux", "row 5", rule)
    assert "g2" in line


def test_flux_and_its_table_copy_must_agree(world, tmp_path, capsys):
    test = copy(world["test"], tmp_path)
    with h5py.File(test, "r+") as h5:
        h5["table/g1_flux"][3] = 2 * h5["flux"][3, 0]
    argv = catalog_argv(world, tmp_path / "c.csv", test=test)
    fails(capsys, argv, "test.h5", "table/g1_flux", "disagree", "row 3")


def test_a_blend_set_without_masks_is_refused(world, tmp_path, capsys):
    test = copy(world["test"], tmp_path)
    with h5py.File(test, "r+") as h5:
        del h5["mask"]
    fails(capsys, predict_argv(world["model_blend2flux"], test, tmp_path / "p.h5"), "lacks dataset")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupt_blend_set_is_refused(world, tmp_path, capsys, damage):
    test = tmp_path / "test.h5"
    data = world["test"].read_bytes()
    test.write_bytes(
        {"garbage": b"not hdf5" * 100, "truncated": data[: len(data) // 2], "empty": b""}[damage]
    )
    argv = run("oracle", test=test, out_oracle=tmp_path / "o.csv")
    fails(capsys, argv, "test.h5", "not a readable HDF5")


def test_duplicate_blend_ids_are_refused(world, tmp_path, capsys):
    test = copy(world["test"], tmp_path)
    with h5py.File(test, "r+") as h5:
        h5["table/id"][4] = h5["table/id"][3]
    argv = run("oracle", test=test, out_oracle=tmp_path / "o.csv")
    fails(capsys, argv, "test.h5", "table/id", "more than once")


def test_a_table_column_of_the_wrong_length_is_refused(world, tmp_path, capsys):
    test = copy(world["test"], tmp_path)
    with h5py.File(test, "r") as h5:
        distance = h5["table/distance"][()]
    rewrite(test, "table/distance", distance[:-1])
    argv = run("oracle", test=test, out_oracle=tmp_path / "o.csv")
    fails(capsys, argv, "test.h5", "distance", "rows")


def test_a_blend_set_without_its_attributes_is_refused(world, tmp_path, capsys):
    test = copy(world["test"], tmp_path)
    with h5py.File(test, "r+") as h5:
        del h5.attrs["noise"]
    argv = run("oracle", test=test, out_oracle=tmp_path / "o.csv")
    fails(capsys, argv, "test.h5", "attribute", "noise")


def test_nonfinite_test_blends_are_skipped_by_every_method_and_counted(world, tmp_path):
    """A blend whose pixels are all NaN and one with a single NaN pixel: every method gives
    NaN there (the networks, sep, the oracle), never a number, and metrics.csv counts them."""
    test = copy(world["test"], tmp_path)
    with h5py.File(test, "r+") as h5:
        h5["blend"][2] = np.nan
        h5["blend"][7, 60, 60] = np.nan
    preds = []
    for model in MODELS:
        out = tmp_path / f"{model}.h5"
        succeeds(predict_argv(world[f"model_{model}"], test, out, model))
        preds.append(out)
        with h5py.File(out) as h5:
            assert h5["skipped"][()].nonzero()[0].tolist() == [2, 7]
            if "flux" in h5:
                assert np.isnan(h5["flux"][[2, 7]]).all()
                assert np.isfinite(np.delete(h5["flux"][()], [2, 7], axis=0)).all()
            if "masks" in h5:
                assert np.isnan(h5["masks"][[2, 7]].astype(float)).all()
    shard = tmp_path / "s.csv"
    succeeds(run("sep_baseline_shard", test=test, out_shard=shard, shard=0))
    succeeds(
        run(
            "sep_baseline",
            test=test,
            shards=[shard, world["sep"].parent / "shard1.csv"],
            out_baseline=tmp_path / "sep.csv",
            out_table3=tmp_path / "t3.csv",
        )
    )
    oracle = tmp_path / "oracle.csv"
    succeeds(run("oracle", test=test, out_oracle=oracle))
    catalog = tmp_path / "catalog.csv"
    argv = catalog_argv(
        world, catalog, test=test, predictions=preds, baseline=tmp_path / "sep.csv", oracle=oracle
    )
    succeeds(argv)
    cat = pd.read_csv(catalog)
    methods = [c for c in cat.columns if c.startswith("g1_flux_") and not c.endswith("_raw")]
    assert {"g1_flux_b2f", "g1_flux_sex", "g1_flux_kron", "g1_flux_oracle"} <= set(methods)
    assert cat.loc[[2, 7], methods].isna().all().all()
    assert cat["nonfinite_pixels"].tolist() == [int(i in (2, 7)) for i in range(len(cat))]
    succeeds(metrics_argv(catalog, test, tmp_path))
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    both = metrics[(metrics.selection == "all") & (metrics.role == "both")].set_index("method")
    assert (both["n_skipped"] == 4).all()  # two blends, two galaxies each, every method
    assert (both["n"] + both["n_invalid"] + both["n_skipped"] == 2 * len(cat)).all()


# --- predictions ---------------------------------------------------------------------------


def test_predictions_are_matched_by_name_not_order(world, tmp_path):
    ordered = tmp_path / "ordered.csv"
    swapped = tmp_path / "swapped.csv"
    succeeds(catalog_argv(world, ordered))
    preds = [world[f"pred_{m}"] for m in reversed(MODELS)]
    succeeds(catalog_argv(world, swapped, predictions=preds))
    pd.testing.assert_frame_equal(pd.read_csv(ordered), pd.read_csv(swapped))
    assert pd.read_csv(ordered)["g1_flux_b2f"].notna().all()


def test_a_mask_model_predicting_as_a_flux_model_is_refused(world, tmp_path, capsys):
    """The U-Net's model.keras given as blend2flux: its predictions hold no fluxes."""
    wrong = tmp_path / "blend2flux.h5"
    succeeds(predict_argv(world["model_unet"], world["test"], wrong, "blend2flux"))
    argv = catalog_argv(world, tmp_path / "c.csv", predictions=[wrong, world["pred_unet"]])
    fails(capsys, argv, "blend2flux.h5", "blend2flux", "no flux")


def test_predictions_of_an_unexpected_model_are_refused(world, tmp_path, capsys):
    other = copy(world["pred_unet"], tmp_path, "blend2flux.h5")  # renamed, still the U-Net's
    argv = catalog_argv(world, tmp_path / "c.csv", predictions=[other, world["pred_unet"]])
    fails(capsys, argv, "a second predictions file of model 'unet'")


def test_a_missing_model_predictions_file_is_refused(world, tmp_path, capsys):
    argv = catalog_argv(world, tmp_path / "c.csv", predictions=[world["pred_unet"]])
    fails(capsys, argv, "no predictions file of model", "blend2flux")


def test_predictions_without_a_model_name_are_refused(world, tmp_path, capsys):
    pred = copy(world["pred_blend2flux"], tmp_path)
    with h5py.File(pred, "r+") as h5:
        del h5.attrs["model"]
    argv = catalog_argv(world, tmp_path / "c.csv", predictions=[pred, world["pred_unet"]])
    fails(capsys, argv, "blend2flux.h5", "attribute model")


@pytest.mark.parametrize(
    "damage, patterns",
    [
        ("other ids", ("dataset id", "ids differ")),
        ("fewer rows", ("dataset id", "rows")),
        ("nan flux", ("dataset flux", "row 4", "not finite")),
        ("integer flux", ("dataset flux", "floating point")),
        ("three slots", ("dataset flux", "shape")),
        ("negative width", ("dataset flux_err", ">= 0")),
        ("numbers in skipped rows", ("dataset flux", "skipped rows must hold nan")),
        ("truncated", ("not a readable hdf5",)),
    ],
)
def test_a_bad_predictions_file_is_refused(world, tmp_path, capsys, damage, patterns):
    pred = copy(world["pred_blend2flux"], tmp_path)
    with h5py.File(pred, "r") as h5:
        ids, flux = h5["id"][()], h5["flux"][()]
    if damage == "other ids":
        rewrite(pred, "id", ids[::-1])
    elif damage == "fewer rows":
        rewrite(pred, "id", ids[:-3])
    elif damage == "nan flux":
        flux[4, 0] = np.nan
        rewrite(pred, "flux", flux)
    elif damage == "integer flux":
        rewrite(pred, "flux", flux.astype(np.int32))
    elif damage == "three slots":
        rewrite(pred, "flux", np.concatenate([flux, flux[:, :1]], axis=1))
    elif damage == "negative width":
        with h5py.File(pred, "r+") as h5:
            h5["flux_err"] = -np.ones_like(flux)
    elif damage == "numbers in skipped rows":
        with h5py.File(pred, "r+") as h5:
            h5["skipped"][1] = True
    elif damage == "truncated":
        data = pred.read_bytes()
        pred.write_bytes(data[: len(data) // 3])
    argv = catalog_argv(world, tmp_path / "c.csv", predictions=[pred, world["pred_unet"]])
    fails(capsys, argv, "blend2flux.h5", *patterns)


# --- baseline CSVs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage, patterns",
    [
        ("missing column", ("missing column", "flux_companion")),
        ("shuffled rows", ("column id", "ids differ")),
        ("half the rows", ("column id", "rows")),
        ("text in a flux", ("flux_central", "not a number")),
        ("empty", ("cannot read csv",)),
    ],
)
def test_a_bad_sep_csv_is_refused(world, tmp_path, capsys, damage, patterns):
    sep = pd.read_csv(world["sep"])
    path = tmp_path / "sep.csv"
    if damage == "missing column":
        sep.drop(columns=["flux_companion"]).to_csv(path, index=False)
    elif damage == "shuffled rows":
        sep.iloc[::-1].to_csv(path, index=False)
    elif damage == "half the rows":
        sep.iloc[: len(sep) // 2].to_csv(path, index=False)
    elif damage == "text in a flux":
        sep.astype({"flux_central": object}).assign(flux_central="abc").to_csv(path, index=False)
    else:
        path.write_text("")
    fails(capsys, catalog_argv(world, tmp_path / "c.csv", baseline=path), "sep.csv", *patterns)


def test_an_oracle_of_another_blend_set_is_refused(world, tmp_path, capsys):
    oracle = pd.read_csv(world["oracle"])
    oracle["id"] = oracle["id"] + 1000
    path = tmp_path / "oracle.csv"
    oracle.to_csv(path, index=False)
    argv = catalog_argv(world, tmp_path / "c.csv", oracle=path)
    fails(capsys, argv, "oracle.csv", "ids differ")


# --- the output catalogue ------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage, patterns",
    [
        ("cut mid-line", ("cut short",)),
        ("cut at a line", ("column id", "rows, the blend set has")),
        ("missing column", ("missing column", "g2_flux")),
        ("a row twice", ("column id",)),
        ("zero true flux", ("g1_flux", "row 0", "finite and positive")),
    ],
)
def test_metrics_refuse_a_damaged_catalogue(world, tmp_path, capsys, damage, patterns):
    text = world["output_catalog"].read_text()
    path = tmp_path / "catalog.csv"
    lines = text.splitlines(keepends=True)
    if damage == "cut mid-line":
        path.write_text(text[: len(text) // 2])
    elif damage == "cut at a line":
        path.write_text("".join(lines[: len(lines) // 2]))
    elif damage == "missing column":
        pd.read_csv(world["output_catalog"]).drop(columns=["g2_flux"]).to_csv(path, index=False)
    elif damage == "a row twice":
        path.write_text("".join(lines + lines[-1:]))
    else:
        pd.read_csv(world["output_catalog"]).assign(
            g1_flux=lambda c: c.g1_flux.where(c.index > 0, 0.0)
        ).to_csv(path, index=False)
    fails(capsys, metrics_argv(path, world["test"], tmp_path), "catalog.csv", *patterns)


# --- model files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage, patterns",
    [
        ("truncated", ("truncated or corrupt",)),
        ("empty", ("empty",)),
        ("text", ("not a readable keras model",)),
        ("missing", ("does not exist",)),
    ],
)
def test_a_damaged_model_file_is_refused(world, tmp_path, capsys, damage, patterns):
    model = tmp_path / "model.keras"
    data = world["model_blend2flux"].read_bytes()
    if damage == "truncated":
        model.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        model.write_bytes(b"")
    elif damage == "text":
        model.write_text("weights: none\n")
    argv = predict_argv(model, world["test"], tmp_path / "p.h5")
    fails(capsys, argv, "model.keras", *patterns)


# --- sky inputs and stamps -----------------------------------------------------------------


def fits_sky(world, tmp_path: Path, catalog: pd.DataFrame | None = None) -> tuple[Path, Path]:
    """The tiny sky as a user's FITS mosaic and CSV catalogue (the `fits` source)."""
    from astropy.table import Table

    mosaic = copy(world["mosaic"], tmp_path, "mosaic.fits")
    if catalog is None:
        catalog = Table.read(world["catalog"]).to_pandas()
    path = tmp_path / "catalog.csv"
    catalog.to_csv(path, index=False)
    return mosaic, path


def fits_config(tmp_path: Path, mosaic: Path, catalog: Path) -> Path:
    config = yaml.safe_load(CONFIGS[-1].read_text())
    config["sky"] = {
        "source": "fits",
        "zeropoint": 25.96,
        "fits": {"mosaic": str(mosaic), "catalog": str(catalog), "pixel_origin": 0},
    }
    path = tmp_path / "fits.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def stamps_argv(config: Path, mosaic: Path, catalog: Path, tmp_path: Path) -> list[str]:
    return run(
        "stamps",
        config=config,
        mosaic=mosaic,
        catalog=catalog,
        out_stamps=tmp_path / "stamps.h5",
        out_table1=tmp_path / "table1.csv",
        out_cleaning=tmp_path / "cleaning.csv",
    )


def sky_catalog(world) -> pd.DataFrame:
    from astropy.table import Table

    return Table.read(world["catalog"]).to_pandas()


@pytest.mark.parametrize(
    "damage, patterns",
    [
        ("nan radius", ("column radius", "finite and positive")),
        ("negative radius", ("column radius", "finite and positive")),
        ("no magnitudes", ("missing column", "mag")),
        ("duplicate ids", ("duplicate id",)),
        ("nan magnitude", ("magnitude",)),
        ("no positions", ("missing column", "x and y")),
    ],
)
def test_a_bad_sky_catalogue_is_refused(world, tmp_path, capsys, damage, patterns):
    cat = sky_catalog(world)
    if damage == "nan radius":
        cat.loc[3, "radius"] = np.nan
    elif damage == "negative radius":
        cat.loc[3, "radius"] = -2.0
    elif damage == "no magnitudes":
        cat = cat.drop(columns=["mag"])
    elif damage == "duplicate ids":
        cat.loc[4, "id"] = cat.loc[3, "id"]
    elif damage == "nan magnitude":
        cat.loc[3, "mag"] = np.nan
    else:
        cat = cat.drop(columns=["x", "y"] + [c for c in ("ra", "dec") if c in cat])
    mosaic, catalog = fits_sky(world, tmp_path, cat)
    config = fits_config(tmp_path, mosaic, catalog)
    fails(capsys, stamps_argv(config, mosaic, catalog, tmp_path), "catalog.csv", *patterns)


def test_an_unreadable_catalogue_is_refused(world, tmp_path, capsys):
    mosaic, catalog = fits_sky(world, tmp_path)
    catalog.write_bytes(b"\x00\x01\x02binary\xff" * 50)
    config = fits_config(tmp_path, mosaic, catalog)
    fails(capsys, stamps_argv(config, mosaic, catalog, tmp_path), "catalog.csv", "cannot read")


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_a_damaged_mosaic_is_refused(world, tmp_path, capsys, damage):
    mosaic, catalog = fits_sky(world, tmp_path)
    if damage == "truncated":
        data = mosaic.read_bytes()
        mosaic.write_bytes(data[: len(data) // 2])
        pattern = "truncated"
    else:
        mosaic.unlink()
        pattern = "does not exist"
    config = fits_config(tmp_path, mosaic, catalog)
    fails(capsys, stamps_argv(config, mosaic, catalog, tmp_path), "mosaic.fits", pattern)


def test_an_empty_selection_gives_the_count_of_every_cut(world, tmp_path, capsys):
    """Every object moved to the mosaic's corner: nothing survives, and the message says
    how many each cut removed."""
    cat = sky_catalog(world)
    cat["x"], cat["y"] = 3.0, 3.0
    mosaic, catalog = fits_sky(world, tmp_path, cat)
    config = fits_config(tmp_path, mosaic, catalog)
    line = fails(capsys, stamps_argv(config, mosaic, catalog, tmp_path), "no galaxy passed")
    for cut in ("catalogue", "magnitude", "not_isolated", "edge", "outside", "no_detection"):
        assert cut in line


@pytest.mark.parametrize(
    "damage, patterns",
    [
        ("corrupt", ("not a readable hdf5",)),
        ("integer image", ("dataset image", "floating point")),
        ("short catalogue", ("catalog column", "rows")),
        ("no mask", ("missing hdf5 dataset", "mask")),
    ],
)
def test_a_damaged_stamps_file_is_refused(world, tmp_path, capsys, damage, patterns):
    stamps = copy(world["stamps"], tmp_path)
    if damage == "corrupt":
        stamps.write_bytes(b"\x89HDF\r\n" + b"\x00" * 300)
    elif damage == "integer image":
        with h5py.File(stamps, "r") as h5:
            image = h5["image"][()]
        rewrite(stamps, "image", image.astype(np.int32))
    elif damage == "short catalogue":
        with h5py.File(stamps, "r") as h5:
            mag = h5["catalog/mag"][()]
        rewrite(stamps, "catalog/mag", mag[:-2])
    else:
        with h5py.File(stamps, "r+") as h5:
            del h5["mask"]
    outs = {f"out_{k}": tmp_path / f"{k}.h5" for k in ("train", "val", "test")}
    fails(capsys, run("blend_sets", stamps=stamps, **outs), "stamps.h5", *patterns)


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, patterns",
    [
        ({"blends": {"n_tets": 5}}, ("n_tets",)),
        ({"blends": {"n_test": "many"}}, ("blends.n_test", "many")),
        ({"training": {"epochs": -1}}, ("training.epochs",)),
        ({"sky": {"source": "hubble"}}, ("sky.source", "hubble")),
    ],
)
def test_a_bad_config_is_refused_before_any_work(world, tmp_path, capsys, change, patterns):
    config = yaml.safe_load(CONFIGS[-1].read_text())
    for section, values in change.items():
        config.setdefault(section, {}).update(values)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = run("oracle", config=path, test=world["test"], out_oracle=tmp_path / "o.csv")
    fails(capsys, argv, "bad.yaml", *patterns)


def test_an_unreadable_config_is_refused(world, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("blends: {n_test: [1, 2\n")
    argv = run("oracle", config=path, test=world["test"], out_oracle=tmp_path / "o.csv")
    fails(capsys, argv, "bad.yaml")


# --- writes: killed, concurrent, read-only, full -------------------------------------------


def blend_sets_command(world, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "blendphot",
        "blend_sets",
        "--config",
        str(CONFIGS[-1]),
        "--stamps",
        str(world["stamps"]),
        *[x for k in ("train", "val", "test") for x in (f"--out-{k}", str(out / f"{k}.h5"))],
    ]


def test_a_write_killed_midway_leaves_no_output(world, tmp_path):
    """kill -9 while the blend sets are written: no output path exists afterwards (the
    writer fills a temporary file beside it and renames it only when complete)."""
    proc = subprocess.Popen(blend_sets_command(world, tmp_path), cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".*.part.h5")):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".*.part.h5")), "the writer never started"
    for split in ("train", "val", "test"):
        out = tmp_path / f"{split}.h5"
        assert not out.exists() or h5py.is_hdf5(out)
    assert not (tmp_path / "test.h5").exists()


def test_two_jobs_writing_one_output_leave_a_whole_file(world, tmp_path):
    procs = [subprocess.Popen(blend_sets_command(world, tmp_path), cwd=ROOT) for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    from blendphot.blends import open_blend_set

    for split in ("train", "val", "test"):
        with open_blend_set(tmp_path / f"{split}.h5") as h5:
            assert h5["blend"].shape[0] > 0
    assert not list(tmp_path.glob(".*.part*"))


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (root only); skipped, with the reason, where it cannot be mounted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_no_output(world, small_disk, capsys):
    outs = {f"out_{k}": small_disk / f"{k}.h5" for k in ("train", "val", "test")}
    fails(capsys, run("blend_sets", stamps=world["stamps"], **outs), "disk is full")
    assert not list(small_disk.iterdir())


def test_a_read_only_disk_is_one_line_and_no_output(world, small_disk, capsys):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    argv = run("oracle", test=world["test"], out_oracle=small_disk / "oracle.csv")
    fails(capsys, argv, "read-only")
