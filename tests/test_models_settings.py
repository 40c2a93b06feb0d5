"""The training settings and model entries as objects (blendphot.models.settings): built
from the config, frozen, strict about their keys, and recorded in a resume state as before."""

import dataclasses

import pytest

from blendphot.models.settings import ModelSpec, TrainingSettings
from blendphot.models.train import run_identity, training_settings


def test_training_settings_of_a_model(tiny_config):
    merged = training_settings(tiny_config, "unet")  # the model's epochs: 1
    settings = TrainingSettings.of(merged)
    assert settings.epochs == 1 and settings.batch_size == tiny_config["training"]["batch_size"]
    assert settings.freeze_init == () and settings.as_config() == merged
    assert TrainingSettings.of(settings) is settings
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.epochs = 3
    frozen = TrainingSettings.of({**merged, "freeze_init": ["unet"], "learning_rate": 1})
    assert frozen.freeze_init == ("unet",)
    assert frozen.as_config()["freeze_init"] == ["unet"]
    assert type(frozen.as_config()["learning_rate"]) is int  # kept as written


def test_training_settings_name_missing_and_unknown_keys(tiny_config):
    section = {k: v for k, v in tiny_config["training"].items() if k != "patience"}
    with pytest.raises(ValueError, match="training settings: lacks patience; has unknown lr"):
        TrainingSettings.of({**section, "lr": 0.1})


@pytest.mark.parametrize("name", ["blend2flux", "unet", "blend2mask2flux"])
def test_model_spec_gives_back_the_entry(tiny_config, name):
    entry = tiny_config["models"][name]
    spec = ModelSpec.of(entry)
    assert spec.architecture == entry["architecture"]
    assert dict(spec.params) == entry["params"]
    assert spec.as_config() == entry
    assert ModelSpec.of(spec) is spec
    with pytest.raises(TypeError):
        spec.params["filters"] = 99  # read-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.architecture = "unet"


def test_model_spec_optional_keys():
    spec = ModelSpec.of({"architecture": "blend2flux"})
    assert dict(spec.params) == {} and spec.init_sources == []
    assert spec.as_config() == {"architecture": "blend2flux", "params": {}}
    one = ModelSpec.of({"architecture": "a", "params": {}, "init_from": "unet"})
    assert one.init_sources == ["unet"] and one.as_config()["init_from"] == "unet"
    entry = {"architecture": "a", "params": {"f": [1, 2]}, "init_from": ["u", "v"],
             "training": {"epochs": 2}, "symmetries": 4, "column": "c", "module": "m"}  # fmt: skip
    many = ModelSpec.of(entry)
    assert many.init_from == ("u", "v") and many.init_sources == ["u", "v"]
    assert dict(many.training) == {"epochs": 2} and many.symmetries == 4
    assert many.as_config() == entry
    with pytest.raises(ValueError, match="model entry: lacks architecture"):
        ModelSpec.of({"params": {}})
    with pytest.raises(ValueError, match="model entry: has unknown paramz"):
        ModelSpec.of({"architecture": "a", "paramz": {}})


def test_run_identity_of_the_objects_is_that_of_the_config(tiny_config, tmp_path):
    """A resume state recorded from the config dicts is taken up by a run given the objects."""
    data = tmp_path / "train.h5"
    data.write_bytes(b"blends")
    for name, entry in tiny_config["models"].items():
        merged = training_settings(tiny_config, name)
        expected = run_identity(entry, merged, 1, 2, [data])
        got = run_identity(ModelSpec.of(entry), TrainingSettings.of(merged), 1, 2, [data])
        assert got == expected
        # the GPUs a model trains on are left out: a resume on another number takes it up;
        # the keys added since 0.2.0 at their defaults too: an older state is taken up
        left_out = ("gpus", "flux_loss", "lr_schedule")
        assert got["model"] == entry and got["training"] == {
            k: v for k, v in merged.items() if k not in left_out
        }


def test_flux_loss_and_schedule_enter_the_resume_identity_only_off_their_defaults(tiny_config):
    section = {
        k: v for k, v in tiny_config["training"].items() if k not in ("flux_loss", "lr_schedule")
    }
    base = TrainingSettings.of(section)  # a section of 0.2.0, before the two keys
    assert base.flux_loss == "mape" and base.lr_schedule == "plateau"
    assert base.identity() == TrainingSettings.of(tiny_config["training"]).identity()
    assert "flux_loss" not in base.identity() and "lr_schedule" not in base.identity()
    changed = TrainingSettings.of({**section, "flux_loss": "log_mse"})
    assert changed.identity()["flux_loss"] == "log_mse"
    assert changed.identity() != base.identity()
