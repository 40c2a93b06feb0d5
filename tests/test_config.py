import copy
from pathlib import Path

import pytest
import yaml

from blendphot.config import load_config, validate_config
from blendphot.errors import ConfigError

from .conftest import ROOT, TINY, tiny_config_dict


def test_default_config_is_valid():
    assert load_config(ROOT / "config" / "config.yaml")["models"]


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


def test_config_override_text_takes_the_type_the_schema_wants():
    """Snakemake hands a nested --config value over as text (blends={n_test: 5} gives
    {'n_test': '5'}): it takes the type YAML reads in it where the schema accepts that."""
    from blendphot.config import apply_overlays

    overrides = {
        "blends": {"n_test": "5", "n_galaxies": {"2": "0", "3": "1"}},
        "training": {"xla": "true", "learning_rate": "1e-4"},
        "evaluate": {"sep_zeropoint": "null"},
        "scarlet": {"enabled": "false"},
        "uncertainty": {"groups": ["-1", "0.5"]},
        "sky": {"cosmos": {"sample": "23.5"}},  # the schema wants text: stays text
        "stamps": {"inspect": "on"},  # YAML reads true; the schema wants "on"
        "models": {"unet": {"params": {"depth": "3"}}},  # free-form: as a config file reads
    }
    config = tiny_config_dict()
    config["blends"]["n_galaxies"] = {2: 1.0}  # as config/config.yaml writes it
    merged = copy.deepcopy(config)
    for key, value in copy.deepcopy(overrides).items():  # Snakemake's merge of --config
        _merge(merged, {key: value})
    kept = copy.deepcopy(overrides)
    validate_config(apply_overlays(merged, [], overrides))
    assert merged["blends"]["n_test"] == 5
    assert merged["blends"]["n_galaxies"] == {2: 0, 3: 1}  # the count 2 replaced, not doubled
    assert merged["training"]["xla"] is True and merged["training"]["learning_rate"] == 1e-4
    assert merged["evaluate"]["sep_zeropoint"] is None and merged["scarlet"]["enabled"] is False
    assert merged["uncertainty"]["groups"] == [-1, 0.5]
    assert merged["sky"]["cosmos"]["sample"] == "23.5"
    assert merged["stamps"]["inspect"] == "on"
    assert merged["models"]["unet"]["params"] == {"depth": 3, "filters": 4}
    assert overrides == kept  # Snakemake's own --config values are left alone


def _merge(target: dict, new: dict) -> None:
    """Snakemake's update_config: nested mappings merge, anything else replaces."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


@pytest.mark.parametrize(
    "override, message",
    [
        ({"blends": {"n_test": "many"}}, "invalid config key 'blends.n_test': 'many'"),
        ({"uncertainty": {"groups": ["-1", "x"]}}, "invalid config key 'uncertainty.groups.1'"),
        ({"training": {"xla": "sometimes"}}, "invalid config key 'training.xla'"),
    ],
)
def test_config_override_of_a_wrong_type_fails_naming_config_and_the_key(override, message):
    from blendphot.config import apply_overlays, key_origin

    config = tiny_config_dict()
    _merge(config, copy.deepcopy(override))
    origin = key_origin([("config/config.yaml", tiny_config_dict()), ("--config", override)])
    with pytest.raises(ConfigError) as err:
        validate_config(apply_overlays(config, [], override), "config", origin)
    assert str(err.value).startswith("--config: " + message), str(err.value)


@pytest.mark.workflow
def test_config_override_of_a_nested_integer_through_snakemake(tmp_path):
    """--config blends='{n_test: 5}' plans the workflow, and the run's effective config (a
    cheap rule, run for real) holds the integer."""
    from .test_workflow import snakemake, workdir_with

    work = workdir_with(tmp_path, TINY.read_text())
    target = "results/tiny/config.yaml"
    result = snakemake("-d", str(work), "--cores", "1", target, "--config", "blends={n_test: 5}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert yaml.safe_load((work / target).read_text())["blends"]["n_test"] == 5


def test_key_origin_finds_list_items_and_integer_keys():
    from blendphot.config import key_origin

    origin = key_origin(
        [("config/config.yaml", {"blends": {"n_galaxies": {2: 1.0}}}),
         ("--config", {"uncertainty": {"groups": ["-1", "x"]}})]
    )  # fmt: skip
    assert origin(["uncertainty", "groups", "1"]) == "--config"
    assert origin(["uncertainty", "groups", "2"]) is None
    assert origin(["blends", "n_galaxies", "2"]) == "config/config.yaml"
