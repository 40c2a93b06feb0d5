"""The default pair recipe against the paper's published test set (paper_output_catalog.csv).

A paper-size test set (as many pairs as the table's 4776) is drawn with the default config's
``blends`` section from the calibrated synthetic sky's galaxies, without rendering anything:
the galaxy catalogue comes from the sky's priors, the stamps stage's magnitude cut is applied
and :func:`draw_pairs` pairs the test split's galaxies on their catalogue magnitudes and radii
(the ``radius`` column, which the blends stage writes to ``g1_rad``/``g2_rad``; the sky's radii
are calibrated on the table's ``g_rad``).

The pairs of one set share galaxies (4776 pairs of a few hundred centrals: 383 in the table,
400 here), so a pair-level KS test treats them as far more independent than they are. For the
distance, which scales with the pool's radii, that matters: pair-level p was 0.04 at the
config's seed but below 0.01 for 18 of 20 other sky seeds, and two draws of this same model
fail against each other 6 times in 8. Its KS test therefore takes one pair per central galaxy
on each side (independent samples; passes for 20 of 20 seeds and still rejects the paper's
text recipe). distance / min(R) and |dmag| hold at pair level across seeds. The recipe alone
is also checked on the table's own pairs, each shifted anew, where the pairs are independent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from blendphot.blends.build import STAGE_STREAM
from blendphot.blends.pairing import draw_pairs, draw_shift, split_galaxies
from blendphot.config import load_config
from blendphot.data import paper_table_path
from blendphot.sky import draw_galaxy_catalog

from .conftest import ROOT

N_GALAXIES = 2000
HALF_SIZE = 64  # half the 128-pixel stamp
KS_P_MIN = 0.01
MAX_FRACTION_GAP = 0.02


def pair_summary(distance, r1, r2, m1, m2, central) -> dict[str, np.ndarray]:
    """Per pair: distance, distance / min(R), |dmag|, whether max R > 4 min R, the central."""
    r_small, r_large = np.minimum(r1, r2), np.maximum(r1, r2)
    return {
        "central": np.asarray(central),
        "distance": np.asarray(distance, float),
        "distance/minR": np.asarray(distance / r_small, float),
        "|dmag|": np.abs(np.asarray(m1 - m2, float)),
        "unequal": np.asarray(r_large > 4 * r_small),
    }


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(paper_table_path())


@pytest.fixture(scope="module")
def published(table) -> dict[str, np.ndarray]:
    return pair_summary(
        table["distance"],
        table["g1_rad"],
        table["g2_rad"],
        table["g1_mag"],
        table["g2_mag"],
        table["g1_id"],
    )


@pytest.fixture(scope="module")
def config() -> dict:
    return load_config(ROOT / "config" / "config.yaml")


@pytest.fixture(scope="module")
def galaxies(config) -> pd.DataFrame:
    """The sky's primaries that pass the stamps stage's magnitude cut."""
    catalog = draw_galaxy_catalog({**config["sky"], "n_galaxies": N_GALAXIES}, config["seed"])
    keep = catalog["primary"] & (catalog["mag"] < config["stamps"]["mag_max"])
    return catalog[keep].reset_index(drop=True)


def draw_test_set(galaxies: pd.DataFrame, params: dict, n_pairs: int, seed: int) -> dict:
    """Pairs of the test split's galaxies, as the blends stage draws them (no images)."""
    mags = galaxies["mag"].to_numpy(float)
    radii = galaxies["radius"].to_numpy(float)
    rng = np.random.default_rng([seed, STAGE_STREAM])
    _, test = split_galaxies(len(galaxies), params["test_fraction"], rng)
    rows = draw_pairs(mags, radii, test, n_pairs, params, HALF_SIZE, rng)
    cen, comp = rows[:, 0], rows[:, 1]
    return pair_summary(
        np.hypot(rows[:, 2], rows[:, 3]), radii[cen], radii[comp], mags[cen], mags[comp], cen
    )


def one_per_central(summary: dict, quantity: str) -> np.ndarray:
    """``quantity`` of the first pair of each central galaxy: independent values."""
    _, first = np.unique(summary["central"], return_index=True)
    return summary[quantity][np.sort(first)]


@pytest.fixture(scope="module")
def drawn(config, galaxies, published) -> dict[str, np.ndarray]:
    assert config["blends"]["recipe"] == "candels_blender"
    n_pairs = len(published["distance"])
    assert n_pairs >= 3000
    return draw_test_set(galaxies, config["blends"], n_pairs, config["seed"])


def describe(name: str, sample: np.ndarray, reference: np.ndarray) -> tuple[float, str]:
    p = float(stats.ks_2samp(sample, reference).pvalue)
    text = (
        f"{name}: KS p={p:.3g}, median {np.median(sample):.3f} "
        f"(published {np.median(reference):.3f}), n={len(sample)}"
    )
    return p, text


@pytest.mark.parametrize("quantity", ["distance/minR", "|dmag|"])
def test_default_recipe_matches_the_published_test_set(drawn, published, quantity):
    p, text = describe(quantity, drawn[quantity], published[quantity])
    assert p > KS_P_MIN, text


def test_default_recipe_matches_the_published_distances(drawn, published):
    """One pair per central galaxy on each side (the pairs of a central are not independent
    draws of the distance: they share its radius)."""
    ours, theirs = one_per_central(drawn, "distance"), one_per_central(published, "distance")
    assert len(ours) > 300 and len(theirs) > 300
    p, text = describe("distance (one pair per central)", ours, theirs)
    assert p > KS_P_MIN, text


def test_default_recipe_pairs_very_unequal_sizes_as_often(drawn, published):
    """The 0.8 r_max fallback admits pairs with max R > 4 min R, 11.6 % of the table."""
    got, want = drawn["unequal"].mean(), published["unequal"].mean()
    assert abs(got - want) < MAX_FRACTION_GAP, f"max R > 4 min R: {got:.4f} vs {want:.4f}"


def test_every_published_pair_lies_within_the_candels_blender_bounds(table, published):
    """r_min <= distance <= r_max on every row: the recipe that made the published set."""
    r1, r2 = table["g1_rad"].to_numpy(), table["g2_rad"].to_numpy()
    r_max = np.minimum(4 * np.minimum(r1, r2), HALF_SIZE)
    r_min = np.maximum(r1, r2)
    r_min = np.where(r_min >= r_max, 0.8 * r_max, r_min)
    d = published["distance"]
    assert ((d >= r_min) & (d <= r_max)).all()
    ratio = published["distance/minR"]
    assert ratio.min() >= 1.0 and ratio.max() <= 4.0
    assert (ratio[published["unequal"]] >= 3.2).all()


def test_recipe_redraws_the_published_distances(table, published):
    """Each published pair shifted anew: the distances keep their distribution."""
    rng = np.random.default_rng(0)
    redrawn = []
    for r1, r2 in zip(table["g1_rad"], table["g2_rad"], strict=True):
        shift = None
        while shift is None:
            shift = draw_shift(r1, r2, HALF_SIZE, "candels_blender", 0.5, rng)
        redrawn.append(np.hypot(*shift))
    redrawn = np.array(redrawn)
    for name, sample in (
        ("distance", redrawn),
        ("distance/minR", redrawn / np.minimum(table["g1_rad"], table["g2_rad"])),
    ):
        p, text = describe(name, np.asarray(sample), published[name])
        assert p > KS_P_MIN, text


def test_the_papers_text_recipe_does_not_match(config, galaxies, published):
    """The check has power: the ``paper`` recipe (distance up to 64 px) is far off."""
    params = {**config["blends"], "recipe": "paper"}
    paper = draw_test_set(galaxies, params, len(published["distance"]), config["seed"])
    p, text = describe("distance", paper["distance"], published["distance"])
    assert p < 1e-6, text
    ours, theirs = one_per_central(paper, "distance"), one_per_central(published, "distance")
    p, text = describe("distance (one pair per central)", ours, theirs)
    assert p < 1e-6, text
