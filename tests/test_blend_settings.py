"""The blend-set settings object (blendphot.blends.settings): built from a config section,
frozen, strict about its keys, and giving back the section (and the recorded hash) as before."""

import dataclasses

import numpy as np
import pytest

from blendphot.blends.build import blends_hash
from blendphot.blends.pairing import draw_blends, draw_pairs
from blendphot.blends.settings import BlendSettings, Pairing
from blendphot.io import config_hash


def test_of_a_section_reads_every_key_and_gives_it_back(tiny_config):
    section = tiny_config["blends"]
    settings = BlendSettings.of(section)
    assert settings.recipe == section["recipe"] and settings.chunk == section["chunk"]
    assert settings.n_galaxies == ((2, 1.0),) and settings.shares == {2: 1.0}
    assert settings.sizes == {s: section[f"n_{s}"] for s in ("train", "val", "test")}
    assert settings.as_config() == section
    assert BlendSettings.of(settings) is settings
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.recipe = "paper"


def test_values_are_kept_as_written(tiny_config):
    """No number is converted (the hash of an integer window is that of the integer)."""
    section = {**tiny_config["blends"], "mag_window": 2, "n_galaxies": {"2": 0.5, 3: 0.5}}
    settings = BlendSettings.of(section)
    assert settings.as_config() == section
    assert type(settings.as_config()["mag_window"]) is int
    assert settings.shares == {2: 0.5, 3: 0.5}


def test_missing_or_unknown_keys_fail_naming_them(tiny_config):
    section = {k: v for k, v in tiny_config["blends"].items() if k not in ("chunk", "n_test")}
    with pytest.raises(ValueError, match="blends settings: lacks n_test, chunk"):
        BlendSettings.of(section)
    with pytest.raises(ValueError, match="has unknown mag_windw"):
        BlendSettings.of({**tiny_config["blends"], "mag_windw": 1.0})
    # a section written before n_galaxies existed: pairs only, and given back without it
    old = {k: v for k, v in tiny_config["blends"].items() if k != "n_galaxies"}
    settings = BlendSettings.of(old)
    assert settings.n_galaxies is None and settings.shares == {2: 1.0}
    assert settings.as_config() == old


@pytest.mark.parametrize("shares", [None, {2: 1.0}, {2: 1, 3: 0}, {2: 0.5, 3: 0.5}])
def test_the_recorded_hash_is_that_of_the_section(tiny_config, shares):
    section = {k: v for k, v in tiny_config["blends"].items() if k != "n_galaxies"}
    if shares is not None:
        section["n_galaxies"] = shares
    pairs_only = shares in (None, {2: 1.0}, {2: 1, 3: 0})
    without = {k: v for k, v in section.items() if k != "n_galaxies"}
    expected = config_hash(without if pairs_only else section)
    assert blends_hash(section) == blends_hash(BlendSettings.of(section)) == expected


def test_pairing_of_settings_or_mapping(tiny_config):
    settings = BlendSettings.of(tiny_config["blends"])
    pairing = Pairing.of(settings)
    assert pairing == Pairing(settings.recipe, settings.mag_window, settings.min_distance_factor)
    assert Pairing.of(tiny_config["blends"]) == pairing == Pairing.of(pairing)
    with pytest.raises(KeyError):
        Pairing.of({"recipe": "paper"})


@pytest.mark.parametrize("recipe", ["paper", "candels_blender"])
def test_drawing_from_the_object_or_the_dict_is_the_same(recipe):
    params = {"mag_window": 2.0, "recipe": recipe, "min_distance_factor": 0.5}
    mags = np.random.default_rng(0).uniform(19, 23, 40)
    radii = np.random.default_rng(1).uniform(2, 10, 40)
    counts = np.array([2, 3, 4] * 5)
    for how in (params, Pairing.of(params)):
        rng = np.random.default_rng(3)
        rows = draw_pairs(mags, radii, np.arange(40), 30, how, 64, rng)
        blends = draw_blends(mags, radii, np.arange(40), counts, how, 64, rng)
        if how is params:
            first = (rows, *blends)
    for a, b in zip(first, (rows, *blends), strict=True):
        np.testing.assert_array_equal(a, b)
