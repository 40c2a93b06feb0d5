import json

import h5py
import numpy as np
import pandas as pd
import pytest

from blendphot.errors import ConfigError
from blendphot.models import get_architecture, load_model_modules
from blendphot.models.data import BlendStream
from blendphot.models.registry import check_models


@pytest.mark.parametrize(
    "filters, millions", [(64, 1.6), (256, 25.7), (512, 102.7)]
)  # paper Table 2
def test_blend2flux_parameter_counts_match_table2(filters, millions):
    load_model_modules()
    model = get_architecture("blend2flux").build(filters=filters)
    assert model.count_params() / 1e6 == pytest.approx(millions, rel=0.01)
    assert model.output_shape == (None, 2)


def test_unknown_architecture_is_a_config_error():
    with pytest.raises(ConfigError, match="model 'm1': unknown architecture 'resnet9000'"):
        check_models({"m1": {"architecture": "resnet9000"}})


def test_model_module_from_a_file_registers(tmp_path):
    module = tmp_path / "my_arch.py"
    module.write_text(
        "from blendphot.models import register\n"
        "@register('my_arch_for_test')\n"
        "def build(input_shape=(128, 128, 1)):\n"
        "    import keras\n"
        "    inp = keras.Input(shape=input_shape)\n"
        "    x = keras.layers.GlobalAveragePooling2D()(inp)\n"
        "    return keras.Model(inp, keras.layers.Dense(2)(x))\n"
    )
    check_models({"m": {"architecture": "my_arch_for_test", "module": str(module)}})
    assert get_architecture("my_arch_for_test").targets == ("flux",)


def test_stream_covers_each_blend_once_per_pass(tiny_data):
    stream = BlendStream(tiny_data["train"], batch_size=24, shuffle=True, seed=3, block_size=16)
    import h5py

    with h5py.File(tiny_data["train"]) as h5:
        all_flux = h5["flux"][()]
    for _ in range(2):
        seen = np.concatenate([y["flux"] for _, y in stream()])
        assert seen.shape == all_flux.shape
        # every row exactly once (fluxes are float32 in the stream)
        np.testing.assert_allclose(
            np.sort(seen[:, 0]), np.sort(all_flux[:, 0].astype(np.float32)), rtol=1e-6
        )

    def epoch():
        stream = BlendStream(tiny_data["train"], 24, True, seed=3, block_size=16)
        return [y["flux"] for _, y in stream()]

    first, again = epoch(), epoch()
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(again))


def test_symmetry_transform_keeps_the_centre_and_gives_eight_distinct_images():
    from blendphot.models.data import symmetry_transform

    image = np.zeros((8, 128, 128, 2), np.float32)
    image[:, 64, 64] = 9.0  # the central's pixel
    image[:, 64, 70, 0], image[:, 60, 64, 1] = 1.0, 2.0  # an asymmetric pattern per channel
    out = symmetry_transform(image, np.arange(8))
    assert (out[:, 64, 64] == 9.0).all()
    assert len({o.tobytes() for o in out}) == 8
    assert (out.sum(axis=(1, 2)) == image.sum(axis=(1, 2))).all()  # fluxes unchanged
    # channels move together: the mask follows the image
    for o in out:
        assert np.argwhere(o[..., 0] == 1.0).tolist() != [] and (o[..., 1] == 2.0).sum() == 1
    np.testing.assert_array_equal(symmetry_transform(image, np.zeros(8, int)), image)


def test_augmented_stream_is_deterministic_and_moves_masks_with_images(tiny_data):
    def first_batch(augment):
        stream = BlendStream(tiny_data["train"], 24, True, seed=3, block_size=16,
                             targets=("flux", "masks"), augment=augment)  # fmt: skip
        return next(iter(stream()))

    x, y = first_batch(True)
    x2, y2 = first_batch(True)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y["masks"], y2["masks"])
    plain_x, plain_y = first_batch(False)
    np.testing.assert_array_equal(y["flux"], plain_y["flux"])  # same blends, same fluxes
    assert not np.array_equal(x, plain_x)  # but seen under symmetries
    for a, b in zip(x, plain_x, strict=True):  # each image a permutation of its pixels
        np.testing.assert_array_equal(np.sort(a.ravel()), np.sort(b.ravel()))
    # the central mask still covers the blend's brightest pixels near the centre
    centre = (slice(None), slice(60, 69), slice(60, 69))
    assert (y["masks"][..., 0][centre].sum() > 0) == (plain_y["masks"][..., 0][centre].sum() > 0)


def test_in_memory_path_yields_each_blend_once_per_epoch_in_seeded_orders(tiny_data):
    """The in-memory input path: every training blend exactly once per epoch, an order that
    differs between epochs, the same orders for the same seed; what the dataset yields is
    symmetry_transform's image of each blend, the masks moved with their image."""
    import h5py

    from blendphot.models.data import InMemoryBlends, symmetry_transform

    with h5py.File(tiny_data["train"]) as h5:
        blends, flux = h5["blend"][()][..., None], h5["flux"][()].astype(np.float32)
        masks = np.moveaxis(h5["mask"][()], 1, -1)
    n, targets = len(flux), ("flux", "masks")

    def source(seed, augment=True):
        return InMemoryBlends(tiny_data["train"], 24, True, seed, targets, augment)

    def orders(seed, epochs=2):
        s = source(seed)
        return [np.concatenate([b[0] for b in s.indices()]) for _ in range(epochs)]

    first, second = orders(5)
    assert sorted(first) == sorted(second) == list(range(n))  # each blend once per epoch
    assert not np.array_equal(first, second)  # reshuffled each epoch
    for a, b in zip(orders(5), (first, second), strict=True):
        np.testing.assert_array_equal(a, b)  # the same seed, the same orders
    assert not np.array_equal(orders(6, 1)[0], first)
    for augment in (True, False):
        ds, twin = source(5, augment).dataset(), source(5, augment)
        codes = []
        for _ in range(2):  # two epochs through tf.data, checked against the indices
            batches = list(zip(twin.indices(), ds, strict=True))
            for (idx, _, _, code), (x, y) in batches:
                np.testing.assert_array_equal(x, symmetry_transform(blends[idx], code))
                np.testing.assert_array_equal(y["masks"], symmetry_transform(masks[idx], code))
                np.testing.assert_array_equal(y["flux"], flux[idx])
                assert y["masks"].dtype == np.uint8
                assert len(set(code & 1)) == 1  # transposed or not as a whole batch
                codes.extend(code)
        assert len(set(codes)) == (8 if augment else 1)  # flips drawn per blend
    assert len(source(5)) == int(np.ceil(n / 24))


def test_training_dataset_streams_above_the_memory_limit(tiny_data, monkeypatch):
    from blendphot.models import data

    made = []
    for name in ("InMemoryBlends", "BlendStream"):
        cls = getattr(data, name)
        monkeypatch.setattr(data, name, type(name, (cls,), {"dataset": lambda self,
                            n=name: made.append(n) or "ds"}))  # fmt: skip
    assert data.training_dataset(tiny_data["train"], 8, True, memory_limit_gb=0) == "ds"
    assert data.training_dataset(tiny_data["train"], 8, True, memory_limit_gb=1) == "ds"
    assert made == ["BlendStream", "InMemoryBlends"]


def _train(
    tiny_data, tmp_path, model_cfg, init=None, callbacks=(), epochs=None, tag="m", **training
):
    from blendphot.models.train import train_model

    settings = dict(tiny_data["config"]["training"]) | training
    if epochs:
        settings["epochs"] = epochs
    out = tmp_path / tag
    history = train_model(
        model_cfg,
        settings,
        tiny_data["train"],
        tiny_data["val"],
        out / "model.keras",
        out / "history.csv",
        tmp_path / f"resume_{tag}",
        seed=1,
        threads=2,
        init_paths=[init] if init else [],
        tensorboard_dir=out / "tb",
        summary_path=out / "summary.json",
        extra_callbacks=callbacks,
    )
    return history, out


def test_train_and_predict_tiny_model(tiny_data, tmp_path):
    from blendphot.models.predict import (
        read_prediction_widths,
        read_predictions,
        write_predictions,
    )

    cfg = tiny_data["config"]
    history, out = _train(tiny_data, tmp_path, cfg["models"]["blend2flux"])
    assert len(history) == cfg["training"]["epochs"]
    assert np.isfinite(pd.read_csv(out / "history.csv")["val_loss"]).all()
    assert not (tmp_path / "resume_m").exists()  # the resume state goes once training ends
    summary = json.loads((out / "summary.json").read_text())
    assert summary["device"] == "CPU" and summary["mixed_precision"] is False
    assert any((out / "tb").rglob("*tfevents*"))
    write_predictions(out / "model.keras", tiny_data["test"], tmp_path / "p.h5", "b2f")
    ids, flux = read_predictions(tmp_path / "p.h5")
    assert flux.shape == (cfg["blends"]["n_test"], 2)
    assert np.isfinite(flux).all()
    assert len(np.unique(ids)) == len(ids)
    assert read_prediction_widths(tmp_path / "p.h5") is None  # no width asked for
    # a width from the spread over 4 symmetries of the blend; the fluxes stay the plain ones
    write_predictions(out / "model.keras", tiny_data["test"], tmp_path / "w.h5", "b2f", 16, 4)
    np.testing.assert_allclose(read_predictions(tmp_path / "w.h5")[1], flux, rtol=1e-5)
    widths = read_prediction_widths(tmp_path / "w.h5")
    assert widths.shape == flux.shape and (widths > 0).all()
    with h5py.File(tmp_path / "w.h5") as h5:
        assert h5.attrs["width"] == "symmetries"


def test_a_model_with_a_width_output_gives_its_own(tiny_data, tmp_path):
    import keras

    from blendphot.models.predict import read_prediction_widths, write_predictions

    with h5py.File(tiny_data["test"]) as h5:
        size = h5["blend"].shape[-1]
    inp = keras.Input(shape=(size, size, 1), name="blend")
    x = keras.layers.GlobalAveragePooling2D()(inp)
    flux = keras.layers.Dense(2, name="flux")(x)
    width = keras.layers.Dense(2, activation="softplus", name="flux_err")(x)
    keras.Model(inp, {"flux": flux, "flux_err": width}).save(tmp_path / "m.keras")
    write_predictions(tmp_path / "m.keras", tiny_data["test"], tmp_path / "p.h5", "m", 16, 8)
    own = read_prediction_widths(tmp_path / "p.h5")
    assert own.shape[1] == 2 and (own > 0).all()
    with h5py.File(tmp_path / "p.h5") as h5:
        assert h5.attrs["width"] == "model"  # the model's width wins over the symmetries


@pytest.mark.parametrize("limit", [8, 0])  # in memory, streamed
def test_same_seed_trains_identical_weights(tiny_data, tmp_path, limit):
    import keras

    cfg = tiny_data["config"]["models"]["blend2flux"]
    weights = []
    for tag in ("a", "b"):
        _, out = _train(tiny_data, tmp_path, cfg, epochs=2, tag=tag, augment=True,
                        deterministic=True, memory_limit_gb=limit)  # fmt: skip
        weights.append(keras.models.load_model(out / "model.keras").get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_unet_and_blend2mask2flux_sizes_match_the_paper():
    load_model_modules()
    unet = get_architecture("unet").build()
    b2m2f = get_architecture("blend2mask2flux").build()
    assert unet.output_shape == (None, 128, 128, 2)
    assert b2m2f.count_params() / 1e6 == pytest.approx(18.5, rel=0.01)


def test_mask_models_train_predict_and_initialise(tiny_data, tmp_path):
    import h5py

    from blendphot.models.predict import write_predictions
    from blendphot.models.train import initialise_from

    unet_cfg = {"architecture": "unet", "params": {"depth": 3, "filters": 4}}
    history, unet_out = _train(tiny_data, tmp_path, unet_cfg, epochs=1, tag="unet")
    assert "val_masks_iou" in history.columns or "val_iou" in history.columns
    write_predictions(unet_out / "model.keras", tiny_data["test"], tmp_path / "u.h5", "unet")
    with h5py.File(tmp_path / "u.h5") as h5:
        assert "flux" not in h5
        masks = h5["masks"][()]
    assert masks.shape == (64, 2, 128, 128)
    assert 0.0 <= masks.min() and masks.max() <= 1.0
    b2m2f_cfg = {
        "architecture": "blend2mask2flux",
        "init_from": "unet",
        "params": {"unet_depth": 3, "unet_filters": 4, "filters": 4, "dense_units": 8},
    }
    import keras

    unet_model = keras.models.load_model(unet_out / "model.keras")
    from blendphot.models.registry import get_architecture as arch
    from blendphot.models.train import build_model, named_submodels

    fresh = build_model(arch("blend2mask2flux"), b2m2f_cfg["params"], 128, 1.0, 1.0)
    assert initialise_from(fresh, unet_out / "model.keras") == ["unet"]
    for a, b in zip(
        named_submodels(fresh)["unet"].get_weights(),
        named_submodels(unet_model)["unet"].get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    history, out = _train(
        tiny_data, tmp_path, b2m2f_cfg, init=unet_out / "model.keras", epochs=1, tag="b2m2f"
    )
    write_predictions(out / "model.keras", tiny_data["test"], tmp_path / "b.h5", "b2m2f")
    with h5py.File(tmp_path / "b.h5") as h5:
        assert h5["flux"].shape == (64, 2) and h5["masks"].shape == (64, 2, 128, 128)

    def unet_weights(path):
        return named_submodels(keras.models.load_model(path))["unet"].get_weights()

    alone = unet_weights(unet_out / "model.keras")
    joint = unet_weights(out / "model.keras")  # the joint training moved the U-Net ...
    assert any(not np.array_equal(a, b) for a, b in zip(joint, alone, strict=True))
    _, frozen = _train(tiny_data, tmp_path, b2m2f_cfg, init=unet_out / "model.keras",
                       epochs=1, tag="frozen", freeze_init=["unet"])  # fmt: skip
    for a, b in zip(unet_weights(frozen / "model.keras"), alone, strict=True):
        np.testing.assert_array_equal(a, b)  # ... freeze_init keeps it as trained alone


def test_blend2mask2flux_head_warm_starts_from_blend2flux(tmp_path):
    """init_from [unet, blend2flux]: the head gets blend2flux's weights, its mask channels
    zero, so the new model starts by predicting exactly blend2flux's fluxes."""
    import keras

    from blendphot.models.registry import get_architecture as arch
    from blendphot.models.train import build_model, initialise_from

    load_model_modules()
    head = {"filters": 4, "dense_units": 8}
    b2f = build_model(arch("blend2flux"), head, 128, 2.0, 30.0)
    b2f.save(tmp_path / "b2f.keras")
    params = {"unet_depth": 2, "unet_filters": 4, **head}
    b2m2f = build_model(arch("blend2mask2flux"), params, 128, 2.0, 30.0)
    assert initialise_from(b2m2f, tmp_path / "b2f.keras") == ["blend2flux_f4"]
    x = np.random.default_rng(0).normal(size=(3, 128, 128, 1)).astype(np.float32)
    np.testing.assert_allclose(
        b2m2f.predict_on_batch(x)["flux"], b2f.predict_on_batch(x)["flux"], atol=1e-4
    )
    kernel = named_head_kernel(b2m2f)
    assert kernel.shape[2] == 3 and not kernel[:, :, 1:, :].any()
    np.testing.assert_array_equal(kernel[:, :, :1, :], named_head_kernel(
        keras.models.load_model(tmp_path / "b2f.keras")))  # fmt: skip


def named_head_kernel(model) -> np.ndarray:
    from blendphot.models.train import named_submodels

    return named_submodels(model)["blend2flux_f4"].get_weights()[0]


def test_init_from_lists_and_loops_are_checked():
    models = {
        "unet": {"architecture": "unet"},
        "b2f": {"architecture": "blend2flux"},
        "m": {"architecture": "blend2mask2flux", "init_from": ["unet", "b2f"]},
    }
    check_models(models)
    with pytest.raises(ConfigError, match="init_from 'nope' is not a configured model"):
        check_models({**models, "m": {"architecture": "blend2flux", "init_from": ["b2f", "nope"]}})
    looped = {**models, "b2f": {"architecture": "blend2flux", "init_from": ["m"]}}
    with pytest.raises(ConfigError, match="loop"):
        check_models(looped)


class Stop(Exception):
    pass


def test_training_resumes_after_a_kill(tiny_data, tmp_path):
    """Killed after epoch k, rerun: training continues at k and reaches the configured end."""
    import keras

    class KillAfter(keras.callbacks.Callback):
        def __init__(self, k):
            super().__init__()
            self.k = k

        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == self.k:
                raise Stop(f"killed after epoch {epoch + 1}")

    class Record(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)

    cfg = tiny_data["config"]["models"]["blend2flux"]
    same = {"augment": True, "deterministic": True}
    with pytest.raises(Stop):
        _train(tiny_data, tmp_path, cfg, callbacks=[KillAfter(2)], epochs=4, **same)
    assert (tmp_path / "resume_m" / "backup").exists()
    assert not (tmp_path / "m" / "model.keras").exists()
    record = Record()
    history, out = _train(tiny_data, tmp_path, cfg, callbacks=[record], epochs=4, **same)
    assert record.epochs == [2, 3]
    assert list(history["epoch"]) == [0, 1, 2, 3]
    # epochs 2 and 3 drew the shuffles and symmetries of passes 2 and 3, as in one run
    _, whole = _train(tiny_data, tmp_path, cfg, epochs=4, tag="whole", **same)
    resumed = keras.models.load_model(out / "model.keras").get_weights()
    for a, b in zip(
        resumed, keras.models.load_model(whole / "model.keras").get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_bad_model_configs_fail_before_training(tiny_data, tmp_path):
    import h5py

    from blendphot.errors import InputError
    from blendphot.models.train import resolve_switch

    with pytest.raises(ConfigError, match="init_from 'nope' is not a configured model"):
        check_models({"a": {"architecture": "blend2flux", "init_from": "nope"}})
    with pytest.raises(ConfigError, match="loop"):
        check_models(
            {
                "a": {"architecture": "blend2flux", "init_from": "b"},
                "b": {"architecture": "blend2flux", "init_from": "a"},
            }
        )
    broken = tmp_path / "train.h5"
    import shutil

    shutil.copy(tiny_data["train"], broken)
    with h5py.File(broken, "a") as h5:
        del h5["flux"]
    from blendphot.models.train import check_inputs

    with pytest.raises(InputError, match="train.h5.*lacks"):
        check_inputs([broken], ("flux",))
    assert resolve_switch("auto", []) is False
    assert resolve_switch("auto", ["gpu0"]) is True
    assert resolve_switch(False, ["gpu0"]) is False


def test_a_registered_width_trains_with_the_nll_and_predicts(tiny_data, tmp_path):
    from blendphot.models import register
    from blendphot.models.predict import read_prediction_widths, write_predictions

    @register("tiny_width_for_test", targets=("flux", "flux_err"))
    def build(input_shape=(128, 128, 1)):
        import keras
        from keras import layers

        inputs = keras.Input(shape=input_shape)
        x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu")(inputs))
        x = layers.Dense(8, activation="relu")(x)
        flux = layers.Dense(2)(x)
        return keras.Model(inputs, [flux, layers.Dense(2, activation="softplus")(x)])

    cfg = {"architecture": "tiny_width_for_test"}
    history, out = _train(tiny_data, tmp_path, cfg, epochs=1)
    assert np.isfinite(history["val_flux_nll_loss"]).all()  # the width's own loss
    write_predictions(out / "model.keras", tiny_data["test"], tmp_path / "p.h5", "w", 16, 8)
    widths = read_prediction_widths(tmp_path / "p.h5")
    assert widths.shape[1] == 2 and (widths > 0).all()
    with h5py.File(tmp_path / "p.h5") as h5:
        assert h5.attrs["width"] == "model" and "flux_nll" not in h5


def test_blend2flux_width_is_optional_and_leaves_the_flux_network_alone():
    load_model_modules()
    arch = get_architecture("blend2flux")
    assert arch.targets_for({}) == ("flux",)
    assert arch.targets_for({"width": True}) == ("flux", "flux_err")
    assert get_architecture("blend2mask2flux").targets_for({"width": True}) == (
        "flux", "flux_err", "masks")  # fmt: skip
    plain = arch.build(input_shape=(32, 32, 1), filters=4, dense_units=8)
    wide = arch.build(input_shape=(32, 32, 1), filters=4, dense_units=8, width=True)
    # the same flux layers, plus the width's own Dense(8) and Dense(2)
    assert wide.count_params() - plain.count_params() == (8 * 8 + 8) + (8 * 2 + 2)
    assert wide.output_shape == [(None, 2), (None, 2)]


def test_log_flux_loss_with_a_cosine_rate_trains_resumes_and_predicts(tiny_data, tmp_path):
    """flux_loss log_mse: positive fluxes from the exp head; lr_schedule cosine: the rate
    falls over the run, and a training killed half-way resumes onto the whole run's weights
    (the schedule follows the restored optimizer's step count)."""
    import keras

    from blendphot.models.predict import read_predictions, write_predictions

    class KillAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise Stop("killed after epoch 2")

    cfg = tiny_data["config"]["models"]["blend2flux"]
    same = {"flux_loss": "log_mse", "lr_schedule": "cosine", "deterministic": True}
    with pytest.raises(Stop):
        _train(tiny_data, tmp_path, cfg, callbacks=[KillAfter()], epochs=4, **same)
    history, out = _train(tiny_data, tmp_path, cfg, epochs=4, **same)
    _, whole = _train(tiny_data, tmp_path, cfg, epochs=4, tag="whole", **same)
    assert list(history["epoch"]) == [0, 1, 2, 3]
    trained = keras.models.load_model(out / "model.keras")
    start = tiny_data["config"]["training"]["learning_rate"]
    assert float(trained.optimizer.learning_rate) < 1e-3 * start  # decayed to 0 at the end
    resumed = trained.get_weights()
    for a, b in zip(
        resumed, keras.models.load_model(whole / "model.keras").get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    write_predictions(out / "model.keras", tiny_data["test"], tmp_path / "p.h5", "b2f")
    flux = read_predictions(tmp_path / "p.h5")[1]
    assert np.isfinite(flux).all() and (flux > 0).all()


def test_log_flux_mse_is_the_squared_log_error_and_scores_absent_slots():
    import keras

    from blendphot.models.losses import LogFluxMSE

    true = np.array([[2.0, 1.0, np.nan]], "float32")
    pred = np.array([[1.0, 1.0, 0.5]], "float32")
    square = np.log(2.0) ** 2
    left_out = LogFluxMSE(0.0)(true, pred)
    np.testing.assert_allclose(float(left_out), square / 2, rtol=1e-5)
    weighted = LogFluxMSE(1.0)(true, pred)  # the absent slot: 0.5 / the central's 2.0
    np.testing.assert_allclose(float(weighted), (square + 0.25) / 3, rtol=1e-5)
    restored = keras.losses.deserialize(keras.losses.serialize(LogFluxMSE(0.5)))
    assert restored.absent_weight == 0.5
