"""The paper's own per-blend table through our metrics: the paper's numbers, reproduced.

The table (aboucaud/coindeblend, paper_plots/output_catalog.csv) ships with the package
(blendphot/data/, with its provenance and licence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from blendphot.evaluate import PAPER_LABELS, methods_in, metrics_table
from blendphot.evaluate.reference import load_reference_catalog
from blendphot.sky.calibration import reference_path

TABLE = reference_path()  # the copy shipped in blendphot/data


@pytest.fixture(scope="module")
def paper() -> pd.DataFrame:
    return load_reference_catalog(TABLE)


@pytest.fixture(scope="module")
def metrics(paper) -> pd.DataFrame:
    methods = methods_in(paper, PAPER_LABELS, 25.96, 25.67)
    assert [m.label for m in methods] == ["blend2flux", "blend2mask2flux", "sep"]
    return metrics_table(paper, methods, 0.75).set_index(["selection", "method", "role"])


PANELS = {  # the paper's figure code: which galaxies each panel of Figures 5 and 6 uses
    ("figure5", "central"): (("g1",), (0, 2)),
    ("figure5", "companion"): (("g2",), (1, 2)),
    ("figure6_top", "both"): (("g1", "g2"), (2,)),
    ("figure6_bottom", "both"): (("g1", "g2"), (0, 1, 3)),
}


@pytest.mark.parametrize("panel", list(PANELS))
@pytest.mark.parametrize(
    "column, label", [("b2f", "blend2flux"), ("b2m2f", "blend2mask2flux"), ("sex", "sep")]
)
def test_every_panel_of_figures_5_and_6(paper, metrics, panel, column, label):
    """Recomputed here with plain pandas, the paper's way, for every panel."""
    galaxies, detections = PANELS[panel]
    zeropoint = 25.67 if column == "sex" else 25.96
    rows = paper[paper["detection"].isin(detections)]
    dmag = np.concatenate(
        [
            zeropoint - 2.5 * np.log10(rows[f"{g}_flux_{column}"]) - rows[f"{g}_mag"]
            for g in galaxies
        ]
    )
    dmag = dmag[np.isfinite(dmag)]
    ours = metrics.loc[(panel[0], label, panel[1])]
    assert ours["n"] == len(dmag)
    assert ours["bias"] == pytest.approx(dmag.mean(), abs=1e-12)
    assert ours["sigma_mag"] == pytest.approx(dmag.std(), abs=1e-12)
    assert ours["outlier_fraction"] == pytest.approx(np.mean(np.abs(dmag) > 0.75), abs=1e-12)


def test_the_papers_statements_hold(paper, metrics):
    """Section 4.1 in words: networks ~0.1 mag scatter and ~0.1% outliers, sep 0.5-0.7 mag
    scatter, ~10% outliers and +0.1 mag bias on centrals; detection classes of section 3.3."""
    fig5 = metrics.loc["figure5"]
    for net in ("blend2flux", "blend2mask2flux"):
        for role in ("central", "companion"):
            assert fig5.loc[(net, role), "sigma_mag"] < 0.15
            assert fig5.loc[(net, role), "outlier_fraction"] < 0.002
        assert metrics.loc[("figure6_bottom", net, "both"), "outlier_fraction"] < 0.004
    assert 0.5 < fig5.loc[("sep", "central"), "sigma_mag"] < 0.75
    assert 0.5 < fig5.loc[("sep", "companion"), "sigma_mag"] < 0.75
    assert fig5.loc[("sep", "central"), "bias"] == pytest.approx(0.10, abs=0.01)
    assert metrics.loc[("figure6_top", "sep", "both"), "outlier_fraction"] > 0.1
    fractions = paper["detection"].value_counts(normalize=True)
    for code, percent in {2: 74.3, 1: 16.6, 0: 6.2, 3: 2.9}.items():
        assert 100 * fractions[code] == pytest.approx(percent, abs=0.05)


def test_pinned_figure5_numbers(metrics):
    """The Figure 5 numbers this table gives (bias, sigma_mag, outlier fraction)."""
    expected = {
        ("blend2flux", "central"): (0.015188, 0.120291, 0.001561),
        ("blend2flux", "companion"): (0.011733, 0.126965, 0.001151),
        ("blend2mask2flux", "central"): (0.016094, 0.111303, 0.001041),
        ("blend2mask2flux", "companion"): (0.016570, 0.119464, 0.000230),
        ("sep", "central"): (0.101381, 0.542083, 0.124350),
        ("sep", "companion"): (0.002405, 0.709806, 0.162293),
    }
    for key, values in expected.items():
        row = metrics.loc[("figure5", *key)]
        got = (row["bias"], row["sigma_mag"], row["outlier_fraction"])
        assert got == pytest.approx(values, abs=1e-6), key
