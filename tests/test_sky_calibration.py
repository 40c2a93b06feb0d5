"""The synthetic sky against the paper's published galaxies (issue 3: calibration).

Uses the paper's table shipped in the package (blendphot/data/paper_output_catalog.csv).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blendphot.config import load_config
from blendphot.errors import InputError
from blendphot.sky import draw_galaxy_catalog
from blendphot.sky.calibration import (
    compare_to_reference,
    load_reference_galaxies,
    priors_from_reference,
    reference_path,
)
from blendphot.sky.priors_data import CANDELS_PRIORS

from .conftest import ROOT

N_GALAXIES = 2000


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return load_reference_galaxies(reference_path())


@pytest.fixture(scope="module")
def comparison(reference) -> pd.DataFrame:
    config = load_config(ROOT / "config" / "config.yaml")
    sky = {**config["sky"], "n_galaxies": N_GALAXIES}
    catalog = draw_galaxy_catalog(sky, config["seed"])
    return compare_to_reference(catalog[catalog["primary"]], reference)


def test_reference_holds_the_papers_galaxies(reference):
    assert len(reference) == 1050
    assert set(reference["type"]) == {"sph", "disk", "sphd", "irr"}


@pytest.mark.parametrize(
    "check, kind",
    [("mag", "all"), ("z", "all")] + [("radius", t) for t in ("sph", "disk", "sphd", "irr")],
)
def test_distributions_match_the_paper(comparison, check, kind):
    row = comparison[(comparison["check"] == check) & (comparison["type"] == kind)].iloc[0]
    assert row["n_sample"] > 300 if kind != "all" else row["n_sample"] == N_GALAXIES
    assert row["p_value"] > 0.01, f"KS {check}/{kind}: D={row['statistic']:.3f}"


def test_type_fractions_match_the_paper(comparison):
    fractions = comparison[comparison["check"] == "fraction"]
    assert len(fractions) == 4
    assert (fractions["statistic"].abs() < 0.03).all(), fractions


def test_embedded_priors_are_those_of_the_reference(reference):
    derived = priors_from_reference(reference)
    assert derived["levels"] == CANDELS_PRIORS["levels"]
    for kind, spec in derived["types"].items():
        embedded = CANDELS_PRIORS["types"][kind]
        assert spec["fraction"] == pytest.approx(embedded["fraction"], abs=1e-4)
        for name, values in spec["quantiles"].items():
            np.testing.assert_allclose(values, embedded["quantiles"][name], atol=1e-4)
        np.testing.assert_allclose(spec["correlation"], embedded["correlation"], atol=1e-4)


def test_comparison_detects_a_mismatch(reference):
    shifted = reference.assign(mag=reference["mag"] + 0.3, type="sph")
    table = compare_to_reference(shifted, reference)
    mag = table[(table["check"] == "mag") & (table["type"] == "all")].iloc[0]
    assert mag["p_value"] < 1e-6
    frac = table[(table["check"] == "fraction") & (table["type"] == "sph")].iloc[0]
    assert frac["statistic"] == pytest.approx(1 - (reference["type"] == "sph").mean())


def test_reference_is_shipped_inside_the_package_and_overridable(tmp_path):
    import blendphot

    shipped = reference_path()
    assert shipped.is_file()
    assert Path(blendphot.__file__).parent in shipped.parents
    path = reference_path(tmp_path / "absent.csv")
    assert path == tmp_path / "absent.csv"
    with pytest.raises(InputError, match="not found") as err:
        load_reference_galaxies(path)
    assert str(path) in str(err.value)
