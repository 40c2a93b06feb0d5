"""Networks on blends of 2 to K galaxies (K slots, absent slots NaN): builders, the masked
losses, the feeds, training, prediction and the segmentation scores."""

import h5py
import numpy as np
import pytest

from blendphot.errors import ConfigError
from blendphot.models import get_architecture, load_model_modules
from blendphot.testing import write_multi_set

from .conftest import tiny_config_dict

SIZE = 48
COUNTS = [2, 3, 4, 2, 4, 3, 2, 4, 3, 2, 4, 2, 3, 4, 2, 3]


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict:
    """Train, val and test sets of 2-4 galaxies (K = 4), and one of K = 3."""
    d = tmp_path_factory.mktemp("multi")
    return {
        "train": write_multi_set(d / "train.h5", COUNTS, SIZE, seed=1),
        "val": write_multi_set(d / "val.h5", COUNTS[:8], SIZE, seed=2),
        "test": write_multi_set(d / "test.h5", COUNTS[:10], SIZE, seed=3),
        "three": write_multi_set(d / "three.h5", [2, 3, 3, 2, 3, 2, 3, 3, 2], SIZE, seed=4),
        "dir": d,
    }


def test_builders_give_one_output_per_slot():
    load_model_modules()
    shape = (SIZE, SIZE, 1)
    b2f = get_architecture("blend2flux").build(shape, filters=2, dense_units=4, slots=4)
    assert b2f.output_shape == (None, 4)
    flux, width = get_architecture("blend2flux").build(shape, 2, 4, width=True, slots=3).outputs
    assert flux.shape[-1] == width.shape[-1] == 3
    unet = get_architecture("unet").build(shape, depth=2, filters=2, slots=3)
    assert unet.output_shape == (None, SIZE, SIZE, 3)
    b2m2f = get_architecture("blend2mask2flux").build(
        shape, unet_depth=2, unet_filters=2, filters=2, dense_units=4, slots=4
    )
    assert [o.shape[-1] for o in b2m2f.outputs] == [4, 4]
    head = b2m2f.get_layer("blend2flux_f2")
    assert head.inputs[0].shape[-1] == 1 + 4  # the blend and its 4 masks
    # two slots: the builders are what they were (the parameter counts of paper Table 2)
    assert get_architecture("blend2flux").build(filters=64, slots=2).count_params() == (
        get_architecture("blend2flux").build(filters=64).count_params()
    )


def test_masked_mape_scores_absent_slots_as_asked_and_is_keras_mape_on_full_rows():
    import keras

    from blendphot.models.losses import MaskedMAPE
    from blendphot.models.widths import GaussianFluxNLL

    rng = np.random.default_rng(0)
    y = rng.uniform(1, 10, (6, 4)).astype(np.float32)
    p = (y * rng.uniform(0.5, 1.5, y.shape)).astype(np.float32)
    ours, keras_mape = MaskedMAPE(), keras.losses.MeanAbsolutePercentageError()
    np.testing.assert_allclose(float(ours(y, p)), float(keras_mape(y, p)), rtol=1e-6)
    holes = y.copy()
    holes[:, 3] = np.nan
    holes[:3, 2] = np.nan
    rel = 100 * np.abs(y - p) / y
    expected = np.mean([np.mean(rel[i][np.isfinite(holes[i])]) for i in range(6)])
    np.testing.assert_allclose(float(ours(holes, p)), expected, rtol=1e-6)
    # the absent slots' predictions change nothing, and get no gradient
    p2 = p.copy()
    p2[:, 3] = 1e6
    np.testing.assert_allclose(float(ours(holes, p2)), expected, rtol=1e-6)
    import tensorflow as tf

    tp = tf.Variable(p)
    with tf.GradientTape() as tape:
        loss = ours(holes, tp)
    grad = tape.gradient(loss, tp).numpy()
    assert np.isfinite(grad).all() and (grad[:, 3] == 0).all() and (grad[:, 0] != 0).all()
    # absent_weight w: an absent slot scores the flux put there, per cent of the central's
    weighted = MaskedMAPE(absent_weight=0.5)
    np.testing.assert_allclose(float(weighted(y, p)), float(keras_mape(y, p)), rtol=1e-6)
    present = np.isfinite(holes)
    score = np.where(present, rel, 100 * np.abs(p) / y[:, :1])
    w = np.where(present, 1.0, 0.5)
    expected_w = np.mean(np.sum(w * score, axis=1) / np.sum(w, axis=1))
    np.testing.assert_allclose(float(weighted(holes, p)), expected_w, rtol=1e-6)
    assert float(weighted(holes, p2)) > 100 * float(weighted(holes, p))  # flux where none is
    with tf.GradientTape() as tape:
        loss = weighted(holes, tp)
    grad = tape.gradient(loss, tp).numpy()
    assert np.isfinite(grad).all() and (grad[:, 3] != 0).all()
    restored = MaskedMAPE.from_config(weighted.get_config())
    assert restored.absent_weight == 0.5
    with pytest.raises(ValueError, match="absent_weight"):
        MaskedMAPE(absent_weight=-1)
    # the width's NLL likewise: unmasked on full rows, absent slots left out with holes
    sigma = rng.uniform(0.5, 2, y.shape).astype(np.float32)
    pred = np.concatenate([p, sigma], axis=1)
    masked, plain = GaussianFluxNLL(masked=True), GaussianFluxNLL()
    np.testing.assert_allclose(float(masked(y, pred)), float(plain(y, pred)), rtol=1e-6)
    nll = 0.5 * ((y - p) / sigma) ** 2 + np.log(sigma)
    expected = np.mean([np.mean(nll[i][np.isfinite(holes[i])]) for i in range(6)])
    np.testing.assert_allclose(float(masked(holes, pred)), expected, rtol=1e-5)
    assert GaussianFluxNLL.from_config(masked.get_config()).masked


@pytest.mark.parametrize("which", ["three", "train"])  # K = 3 (padded to 4 bytes), K = 4
def test_feeds_carry_k_slots_and_nan_fluxes_through_the_symmetries(sets, which):
    from blendphot.models.data import (
        BlendStream,
        InMemoryBlends,
        in_memory_bytes,
        symmetry_transform,
    )

    path = sets[which]
    with h5py.File(path) as h5:
        blends, flux = h5["blend"][()][..., None], h5["flux"][()].astype(np.float32)
        masks = np.moveaxis(h5["mask"][()], 1, -1)
    k, targets = flux.shape[1], ("flux", "masks")
    assert np.isnan(flux).any()
    feed = InMemoryBlends(path, 4, True, 3, targets, augment=True)
    twin = InMemoryBlends(path, 4, True, 3, targets, augment=True)
    codes = []
    for (idx, _, _, code), (x, y) in zip(twin.indices(), feed.dataset(), strict=True):
        np.testing.assert_array_equal(x, symmetry_transform(blends[idx], code))
        assert y["masks"].shape[-1] == k and y["masks"].dtype == np.uint8
        np.testing.assert_array_equal(y["masks"], symmetry_transform(masks[idx], code))
        np.testing.assert_array_equal(y["flux"], flux[idx])  # NaN where NaN
        codes.extend(code)
    assert len(set(codes)) > 1
    padded = {3: 4, 4: 4}[k]
    assert in_memory_bytes(path, ("masks",)) == blends.size * 4 + masks.size // k * padded
    stream = BlendStream(path, 5, True, 2, block_size=4, targets=targets, augment=True)
    seen = 0
    for x, y in stream.dataset():
        x, m, f = x.numpy(), y["masks"].numpy(), y["flux"].numpy()
        for i in range(len(x)):
            row = int(np.flatnonzero(np.isclose(flux[:, 0], f[i, 0]))[0])
            np.testing.assert_array_equal(f[i], flux[row])
            code = [c for c in range(8) if np.array_equal(
                symmetry_transform(blends[row : row + 1], np.array([c]))[0], x[i])]  # fmt: skip
            assert code, "each image is a symmetry of its blend"
            moved = symmetry_transform(masks[row : row + 1], np.array(code[:1]))[0]
            np.testing.assert_array_equal(m[i], moved)
            seen += 1
    assert seen == len(flux)


def _settings(**extra) -> dict:
    return {**tiny_config_dict()["training"], "epochs": 2, "batch_size": 8, **extra}


@pytest.mark.train
def test_training_on_blends_of_two_to_four_and_prediction(sets, tmp_path):
    import json
    import zipfile

    import pandas as pd

    from blendphot.models.data import normalisation_scales
    from blendphot.models.predict import (
        read_prediction_widths,
        read_predictions,
        write_predictions,
    )
    from blendphot.models.train import train_model

    with h5py.File(sets["train"]) as h5:
        flux = h5["flux"][()]
    assert normalisation_scales(sets["train"])[1] == np.median(flux[np.isfinite(flux)])
    cfg = {
        "architecture": "blend2mask2flux",
        "params": {"unet_depth": 2, "unet_filters": 2, "filters": 2, "dense_units": 4,
                   "width": True},
    }  # fmt: skip
    out = tmp_path / "m"
    history = train_model(cfg, _settings(augment=True), sets["train"], sets["val"],
                          out / "model.keras", out / "history.csv", tmp_path / "resume",
                          seed=1, threads=2, summary_path=out / "summary.json")  # fmt: skip
    assert len(history) == 2
    numbers = history.drop(columns=["epoch"]).select_dtypes("number")
    assert np.isfinite(numbers.to_numpy()).all(), history  # val_loss, point loss, IoU
    assert "val_point_loss" in history and "val_flux_nll_loss" in history
    assert json.loads((out / "summary.json").read_text())["slots"] == 4
    with zipfile.ZipFile(out / "model.keras") as archive:  # the configured absent_weight
        compiled = json.loads(archive.read("config.json"))["compile_config"]["loss"]
    assert compiled["flux"]["config"]["absent_weight"] == _settings()["absent_weight"] == 1.0
    write_predictions(out / "model.keras", sets["test"], tmp_path / "p.h5", "m")
    ids, pred = read_predictions(tmp_path / "p.h5")
    widths = read_prediction_widths(tmp_path / "p.h5")
    with h5py.File(sets["test"]) as h5:
        truth = h5["flux"][()]
        counts = h5["table/n_galaxies"][()]
    assert pred.shape == widths.shape == truth.shape == (10, 4)
    np.testing.assert_array_equal(np.isnan(pred), np.isnan(truth))  # NaN in absent slots
    np.testing.assert_array_equal(np.isnan(widths), np.isnan(truth))
    assert np.isfinite(pred[np.isfinite(truth)]).all()
    with h5py.File(tmp_path / "p.h5") as h5:
        assert h5["masks"].shape == (10, 4, SIZE, SIZE)
    assert (counts >= 2).all() and len(ids) == 10
    # a plain blend2flux on the streamed feed, its symmetry widths NaN in absent slots too
    plain = {"architecture": "blend2flux", "params": {"filters": 2, "dense_units": 4}}
    train_model(plain, _settings(epochs=1, memory_limit_gb=0), sets["train"], sets["val"],
                out / "b2f.keras", out / "b2f.csv", tmp_path / "resume2", seed=1)  # fmt: skip
    assert np.isfinite(pd.read_csv(out / "b2f.csv")["val_loss"]).all()
    write_predictions(out / "b2f.keras", sets["test"], tmp_path / "s.h5", "b", 8, 4)
    widths = read_prediction_widths(tmp_path / "s.h5")
    np.testing.assert_array_equal(np.isnan(widths), np.isnan(truth))
    # a K = 4 model cannot predict a set of more slots
    many = write_multi_set(tmp_path / "five.h5", [5, 2], SIZE)
    with pytest.raises(Exception, match="predicts 4 slots but blend set .* has 5"):
        write_predictions(out / "b2f.keras", many, tmp_path / "x.h5", "b")


def test_a_builder_without_slots_trains_pairs_only(sets, tmp_path):
    from blendphot.models.registry import get_architecture as arch
    from blendphot.models.train import build_model, train_model

    module = tmp_path / "pairs_only.py"
    module.write_text(
        "from blendphot.models import register\n"
        "@register('pairs_only_for_test')\n"
        "def build(input_shape=(128, 128, 1)):\n"
        "    import keras\n"
        "    inp = keras.Input(shape=input_shape)\n"
        "    x = keras.layers.GlobalAveragePooling2D()(inp)\n"
        "    return keras.Model(inp, keras.layers.Dense(2)(x))\n"
    )
    cfg = {"architecture": "pairs_only_for_test", "module": str(module)}
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="model 'mine'.*4 galaxy slots.*no 'slots' parameter"):
        train_model(cfg, _settings(), sets["train"], sets["val"], out / "m.keras",
                    out / "h.csv", tmp_path / "resume", seed=1, name="mine")  # fmt: skip
    assert not out.exists()  # nothing trained
    from blendphot.models.registry import check_slots

    check_slots({"mine": cfg, "b2f": {"architecture": "blend2flux"}}, 2)  # pairs: fine
    with pytest.raises(ConfigError, match="model 'mine'"):
        check_slots({"b2f": {"architecture": "blend2flux"}, "mine": cfg}, 3)
    model = build_model(arch("pairs_only_for_test"), {}, SIZE, 1.0, 1.0, slots=2)
    assert [tuple(o.shape) for o in model.outputs] == [(None, 2)]  # pairs: built as it is
    with pytest.raises(ConfigError, match="must not set 'slots'"):
        build_model(arch("blend2flux"), {"slots": 3}, SIZE, 1.0, 1.0, slots=4)


def test_segmentation_scores_each_present_slot(sets, tmp_path):
    import pandas as pd

    from blendphot.contracts import write_prediction_file
    from blendphot.evaluate.segmentation import segmentation_summary, segmentation_table
    from blendphot.figures.segmentation import figure10, figure11, mask_composite

    with h5py.File(sets["test"]) as h5:
        ids, truth = h5["table/id"][()], h5["mask"][()]
        counts = h5["table/n_galaxies"][()]
    pred = truth.astype(np.float16)
    pred[:, 1] = 0  # the first companion missed: IoU 0
    pred[:, 3] = 1  # the fourth slot everywhere: IoU < 1 where present, left out where absent
    write_prediction_file(tmp_path / "p.h5", ids, "u", masks=pred)
    table = segmentation_table(sets["test"], {"u": tmp_path / "p.h5"})
    assert list(table.columns[2:7]) == ["n_galaxies", "iou_central", "iou_companion",
                                        "iou_g3", "iou_g4"]  # fmt: skip
    seen = truth.any(axis=(2, 3))  # a present galaxy whose true mask is not empty
    assert (table["iou_central"] == 1).all()
    assert (table["iou_companion"][seen[:, 1]] == 0).all()
    assert (table["iou_g3"][seen[:, 2]] == 1).all()
    assert table["iou_g3"][counts < 3].isna().all()  # absent: left out, not scored
    np.testing.assert_array_equal(table["iou_g4"].isna(), counts < 4)
    assert (table.loc[counts == 4, "iou_g4"] < 1).all()
    summary = segmentation_summary(table).iloc[0]
    every = np.concatenate([table[c] for c in ("iou_central", "iou_companion", "iou_g3",
                                               "iou_g4")])  # fmt: skip
    assert summary["mean_iou"] == pytest.approx(np.nanmean(every))
    assert summary["mean_iou_central"] == 1.0
    rgb = mask_composite(np.stack([np.ones((2, 2)), np.zeros((2, 2)), np.ones((2, 2))]))
    np.testing.assert_array_equal(rgb[0, 0], [1.0, 0.8, 0.0])  # red + green
    figure10(sets["test"], {"u": tmp_path / "p.h5"}, [tmp_path / "f10.png"], n_examples=2)
    figure11(table, [tmp_path / "f11.png"])
    assert (tmp_path / "f10.png").stat().st_size > 0 and (tmp_path / "f11.png").exists()
    assert isinstance(table, pd.DataFrame)


def test_blend2mask2flux_head_warm_starts_from_a_k_slot_blend2flux(tmp_path):
    """init_from blend2flux still widens the head's first kernel with K = 4 masks: the new
    model starts by predicting exactly the four fluxes of blend2flux."""
    from blendphot.models.registry import get_architecture as arch
    from blendphot.models.train import build_model, initialise_from, named_submodels

    load_model_modules()
    head = {"filters": 2, "dense_units": 4}
    b2f = build_model(arch("blend2flux"), head, SIZE, 2.0, 30.0, slots=4)
    b2f.save(tmp_path / "b2f.keras")
    params = {"unet_depth": 2, "unet_filters": 2, **head}
    b2m2f = build_model(arch("blend2mask2flux"), params, SIZE, 2.0, 30.0, slots=4)
    assert initialise_from(b2m2f, tmp_path / "b2f.keras") == ["blend2flux_f2"]
    kernel = named_submodels(b2m2f)["blend2flux_f2"].get_weights()[0]
    assert kernel.shape[2] == 5 and not kernel[:, :, 1:, :].any()
    x = np.random.default_rng(0).normal(size=(3, SIZE, SIZE, 1)).astype(np.float32)
    out = b2m2f.predict_on_batch(x)
    assert out["flux"].shape == (3, 4) and out["masks"].shape == (3, SIZE, SIZE, 4)
    np.testing.assert_allclose(out["flux"], b2f.predict_on_batch(x)["flux"], atol=1e-4)
