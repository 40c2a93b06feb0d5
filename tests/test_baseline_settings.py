"""The baseline's settings objects: built from config sections, frozen, strict about keys,
and what the science functions read in place of the raw dicts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from blendphot.baseline import measure_blend, table3
from blendphot.baseline.settings import (
    BaselineSettings,
    DetectionSettings,
    KronSettings,
    PassSettings,
    ScarletPsf,
    ScarletSettings,
)

from .conftest import tiny_config_dict
from .test_baseline import NOISE, PARAMS, _pair
from .test_scarlet import SETTINGS


def test_baseline_settings_of_a_config_section():
    s = BaselineSettings.of(PARAMS)
    assert s.noise == "known" and s.central_radius_factor == 0.5 and s.shards == 1
    assert s.cold == PassSettings(5.0, 10, 0.01, 64)
    assert s.hot.as_config() == PARAMS["hot"]
    assert s.kron == KronSettings(2.5, 3.5, 6.0) == KronSettings()
    assert BaselineSettings.of(s) is s
    assert s.detection == DetectionSettings(s.cold, s.hot, 0.5, "known")
    assert DetectionSettings.of(s) == s.detection == DetectionSettings.of(PARAMS)


def test_every_section_of_a_validated_config_converts():
    config = tiny_config_dict()
    baseline = BaselineSettings.of(config["baseline"])
    assert baseline.shards == config["baseline"]["shards"]
    scarlet = ScarletSettings.of({"scarlet": config["scarlet"], "baseline": config["baseline"]})
    assert scarlet.detection == baseline.detection
    assert (scarlet.enabled, scarlet.shards, scarlet.max_iter) == (True, 1, 300)
    assert scarlet.psf == ScarletPsf(None, None)


def test_settings_are_frozen():
    s = BaselineSettings.of(PARAMS)
    for obj, name in ((s, "noise"), (s.cold, "thresh"), (s.kron, "factor")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ScarletSettings.of(SETTINGS).max_iter = 3
    hash(s)  # nested objects are hashable: no lists or dicts inside


def test_missing_and_unknown_keys_are_named():
    with pytest.raises(ValueError, match="baseline settings: lacks shards, kron"):
        BaselineSettings.of({k: v for k, v in PARAMS.items() if k not in ("shards", "kron")})
    with pytest.raises(ValueError, match="has unknown extra"):
        BaselineSettings.of({**PARAMS, "extra": 1})
    with pytest.raises(ValueError, match="sep pass settings: lacks minarea"):
        PassSettings.of({"thresh": 5.0, "deblend_cont": 0.01, "deblend_nthresh": 64})
    with pytest.raises(ValueError, match="baseline.kron settings: has unknown radius"):
        KronSettings.of({**PARAMS["kron"], "radius": 1.0})
    with pytest.raises(ValueError, match="baseline settings: lacks hot"):
        DetectionSettings.of({"cold": PARAMS["cold"]})
    with pytest.raises(ValueError, match="scarlet settings: lacks patience"):
        scarlet = {k: v for k, v in SETTINGS["scarlet"].items() if k != "patience"}
        ScarletSettings.of({**SETTINGS, "scarlet": scarlet})
    with pytest.raises(ValueError, match="scarlet.psf settings: has unknown size"):
        ScarletPsf.of({"size": 41})


def test_partial_sections_take_the_schema_defaults_where_callers_hold_them():
    """The gather stage holds the passes alone (Table 3); the scarlet tests hold the fit's
    keys without enabled, shards and psf."""
    passes = DetectionSettings.of({"cold": PARAMS["cold"], "hot": PARAMS["hot"]})
    assert (passes.central_radius_factor, passes.noise) == (0.5, "known")
    s = ScarletSettings.of(SETTINGS)
    assert (s.enabled, s.shards, s.psf) == (False, 2, ScarletPsf())
    assert (s.oracle_positions, s.max_iter, s.tolerance, s.patience) == (False, 500, 1.0, 20)
    assert s.detection == DetectionSettings.of(SETTINGS["baseline"])
    assert ScarletSettings.of(s) is s


def test_science_functions_give_the_same_answer_for_a_dict_and_its_settings():
    image = _pair()
    from_dict = measure_blend(image, NOISE, 6.0, PARAMS)
    from_settings = measure_blend(image, NOISE, 6.0, BaselineSettings.of(PARAMS))
    np.testing.assert_equal(tuple(from_dict), tuple(from_settings))
    as_csv = table3(PARAMS).to_csv(index=False)
    assert table3(BaselineSettings.of(PARAMS)).to_csv(index=False) == as_csv
    assert table3(DetectionSettings.of(PARAMS)).to_csv(index=False) == as_csv


def test_table3_keeps_the_config_values_as_written():
    """An integer threshold stays an integer in Table 3, as the config wrote it."""
    cold = {**PARAMS["cold"], "thresh": 5}
    assert PassSettings.of(cold).thresh == 5 and isinstance(PassSettings.of(cold).thresh, int)
    csv = table3({"cold": cold, "hot": PARAMS["hot"]}).to_csv(index=False)
    assert csv.splitlines()[1] == "Detection threshold,4.0,5"
