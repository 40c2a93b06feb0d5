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
        seen = np.concatenate([y for _, y in stream()])
        assert seen.shape == all_flux.shape
        # every row exactly once (fluxes are float32 in the stream)
        np.testing.assert_allclose(
            np.sort(seen[:, 0]), np.sort(all_flux[:, 0].astype(np.float32)), rtol=1e-6
        )
    first = [y for _, y in BlendStream(tiny_data["train"], 24, True, seed=3, block_size=16)()]
    again = [y for _, y in BlendStream(tiny_data["train"], 24, True, seed=3, block_size=16)()]
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(again))


def test_train_and_predict_tiny_model(tiny_data, tmp_path):
    from blendphot.models.predict import read_predictions, write_predictions
    from blendphot.models.train import train_model

    cfg = tiny_data["config"]
    history = train_model(
        cfg["models"]["blend2flux"],
        cfg["training"],
        tiny_data["train"],
        tiny_data["val"],
        tmp_path / "model.keras",
        tmp_path / "history.csv",
        tmp_path / "resume",
        seed=1,
        threads=2,
    )
    assert len(history) == cfg["training"]["epochs"]
    assert np.isfinite(pd.read_csv(tmp_path / "history.csv")["val_loss"]).all()
    assert not (tmp_path / "resume").exists()  # the resume state goes once training ends
    write_predictions(tmp_path / "model.keras", tiny_data["test"], tmp_path / "p.h5", "b2f")
    ids, flux = read_predictions(tmp_path / "p.h5")
    assert flux.shape == (cfg["blends"]["n_test"], 2)
    assert np.isfinite(flux).all()
    assert len(np.unique(ids)) == len(ids)
