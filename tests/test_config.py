from pathlib import Path

import pytest
import yaml

from blendphot.config import load_config, validate_config
from blendphot.errors import ConfigError

from .conftest import ROOT, tiny_config_dict


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_shipped_configs_are_valid(name):
    config = load_config(ROOT / "config" / name)
    assert config["models"]


def test_defaults_are_filled_at_every_level():
    config = tiny_config_dict()
    assert config["blends"]["recipe"] == "candels_blender"
    assert config["sky"]["zeropoint"] == 25.96
    assert config["training"]["patience"] == 10
    assert config["evaluate"]["outlier_threshold"] == 0.75


def test_unknown_key_is_named_with_its_path():
    config = tiny_config_dict()
    config["blends"]["n_trian"] = 5
    with pytest.raises(ConfigError, match=r"unknown config key 'blends\.n_trian'"):
        validate_config(config, "my.yaml")


def test_unknown_top_level_key():
    config = tiny_config_dict()
    config["sed"] = 1
    with pytest.raises(ConfigError, match="unknown config key 'sed'"):
        validate_config(config)


def test_wrong_type_names_key_and_file():
    config = tiny_config_dict()
    config["training"]["epochs"] = "ten"
    with pytest.raises(ConfigError) as err:
        validate_config(config, "my.yaml")
    assert "my.yaml" in str(err.value)
    assert "training.epochs" in str(err.value)
    assert "integer" in str(err.value)


def test_unknown_key_inside_a_model():
    config = tiny_config_dict()
    config["models"]["blend2flux"]["filters"] = 3
    with pytest.raises(ConfigError, match=r"models\.blend2flux\.filters"):
        validate_config(config)


def test_load_config_rejects_non_mapping(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_overlay_model_entries_replace_whole_and_other_keys_merge():
    from blendphot.config import apply_overlays

    merged = {  # what Snakemake's deep merge gives for the two files below
        "blends": {"n_test": 9, "n_train": 3},
        "models": {"a": {"params": {"filters": 256, "dense_units": 32}}, "b": {"x": 1}},
    }
    overlay = {"blends": {"n_test": 9}, "models": {"a": {"params": {"filters": 256}}}}
    apply_overlays(merged, [overlay], {"models": {"b": {"y": 2}}})
    assert merged["models"]["a"] == {"params": {"filters": 256}}  # no dense_units leaks in
    assert merged["models"]["b"] == {"x": 1, "y": 2}  # --config merges into an entry
    assert merged["blends"] == {"n_test": 9, "n_train": 3}
    overlay["models"]["a"]["params"]["filters"] = 8  # a copy, not the overlay's own dict
    assert merged["models"]["a"]["params"]["filters"] == 256


def test_key_origin_names_the_last_source_that_set_a_key():
    from blendphot.config import key_origin

    origin = key_origin(
        [("config/config.yaml", {"blends": {"n_test": 1}}), ("paper.yaml", {"seed": 2}),
         ("--config", {"blends": {"n_test": "x"}})]
    )  # fmt: skip
    assert origin(["blends", "n_test"]) == "--config"
    assert origin(["seed"]) == "paper.yaml"
    assert origin(["sky"]) is None


def test_effective_config_covers_every_top_level_section():
    from blendphot.config import load_schema
    from blendphot.provenance import CONFIG_SECTIONS

    assert set(CONFIG_SECTIONS) == set(load_schema()["properties"])
