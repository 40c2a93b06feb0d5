"""The sky settings objects (blendphot.sky.settings): built once from the ``sky`` section, frozen,
one field per config key, and read by the sky's science functions as the section itself is."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from blendphot.config import load_schema
from blendphot.sky.settings import (
    READ_ELSEWHERE,
    SKY_KEYS,
    CosmosSettings,
    PsfSettings,
    SkySettings,
    SyntheticSettings,
    TypeFractions,
)
from blendphot.sky.synthetic import (
    draw_galaxy_catalog,
    make_psf,
    mosaic_shape,
    psf_image,
    render_mosaic,
)

from .conftest import tiny_config_dict


def names(cls: type) -> list[str]:
    return [field.name for field in dataclasses.fields(cls)]


def test_the_settings_hold_every_key_of_the_schemas_sky_section():
    schema = load_schema()["properties"]["sky"]["properties"]
    held = [*SKY_KEYS, *names(PsfSettings), *names(SyntheticSettings), *READ_ELSEWHERE]
    assert sorted(set(held)) == sorted(schema)  # pixel_scale: the PSF's and the field's
    assert names(CosmosSettings) == list(schema["cosmos"]["properties"])
    assert names(TypeFractions) == list(schema["type_fractions"]["properties"])


def test_sky_settings_of_a_section_nested_and_frozen():
    section = tiny_config_dict()["sky"]
    sky = SkySettings.of(section)
    assert SkySettings.of(sky) is sky
    assert sky.source == "synthetic" and sky.zeropoint == section["zeropoint"]
    assert sky.pixel_scale == sky.psf.pixel_scale == section["pixel_scale"]
    assert sky.psf == PsfSettings.of(section) == PsfSettings.of(sky)
    assert sky.synthetic == SyntheticSettings.of(section) == SyntheticSettings.of(sky)
    assert sky.cosmos == CosmosSettings.of(section) == CosmosSettings.of(section["cosmos"])
    assert CosmosSettings.of(sky) is sky.cosmos and not sky.is_cosmos
    synthetic = sky.synthetic
    assert synthetic.n_galaxies == section["n_galaxies"]
    assert synthetic.neighbour_mag_range == tuple(section["neighbour_mag_range"])
    assert isinstance(synthetic.neighbour_distance, tuple)
    assert synthetic.type_fractions.share("sphd") == section["type_fractions"]["sphd"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sky.source = "cosmos"
    with pytest.raises(dataclasses.FrozenInstanceError):
        synthetic.n_galaxies = 3
    hash(sky)  # frozen all the way down: hashable


def test_sky_settings_name_the_keys_a_section_lacks_or_has_in_excess():
    section = tiny_config_dict()["sky"]
    with pytest.raises(ValueError, match="lacks noise_sigma"):
        SkySettings.of({k: v for k, v in section.items() if k != "noise_sigma"})
    with pytest.raises(ValueError, match="unknown noise_sgima"):
        SkySettings.of({**section, "noise_sgima": 0.1})
    with pytest.raises(ValueError, match="sky.type_fractions settings: lacks irr"):
        SkySettings.of({**section, "type_fractions": {"sph": 1, "disk": 1, "sphd": 1}})
    with pytest.raises(ValueError, match="sky.cosmos settings: has unknown depth"):
        CosmosSettings.of({**section["cosmos"], "depth": "25.2"})
    with pytest.raises(ValueError, match="sky psf settings: lacks psf_fwhm"):
        PsfSettings.of({"psf_model": "moffat", "pixel_scale": 0.06})


def test_the_psf_needs_only_its_own_keys():
    three = {"psf_model": "moffat", "psf_fwhm": 0.18, "pixel_scale": 0.06}
    psf = PsfSettings.of({**three, "source": "synthetic"})
    assert psf == PsfSettings("moffat", 0.18, 0.06)
    np.testing.assert_array_equal(psf_image(psf, 21), psf_image(three, 21))
    assert make_psf(psf)[1] == "no_pixel"


def test_the_science_functions_read_the_object_as_the_section():
    section = {**tiny_config_dict()["sky"], "n_galaxies": 2, "neighbours_per_galaxy": 1.0}
    sky = SkySettings.of(section)
    assert mosaic_shape(sky) == mosaic_shape(section) == mosaic_shape(sky.synthetic)
    catalog = draw_galaxy_catalog(sky, 3)
    pd.testing.assert_frame_equal(catalog, draw_galaxy_catalog(section, 3))
    mosaic = render_mosaic(catalog, sky, 3)
    np.testing.assert_array_equal(mosaic, render_mosaic(catalog, section, 3))


def test_a_key_the_schema_gains_is_not_refused_but_a_stray_one_is(monkeypatch):
    """A settings object ignores a key the schema names that it does not read (a new
    version's key with its default), and still names a key the schema does not know."""
    import blendphot.sections as sections

    section = dict(tiny_config_dict()["sky"])
    monkeypatch.setattr(
        sections,
        "schema_section_keys",
        lambda path: frozenset({"new_knob"}) if path else frozenset(),
    )
    SkySettings.of({**section, "new_knob": 2.0})
    with pytest.raises(ValueError, match="sky settings: has unknown stray"):
        SkySettings.of({**section, "stray": 1})
