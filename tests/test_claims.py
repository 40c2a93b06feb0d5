"""The paper's claims checked on a run's metrics: each verdict follows its numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from blendphot.docs import headline_table
from blendphot.evaluate.claims import check_claims, claims_markdown

NETWORKS = {"blend2flux": "blend2flux", "blend2mask2flux": "blend2mask2flux"}


def metrics(rows: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """A metrics table of the figure-5 selection: method -> (mape, bias, outliers), the same
    for both roles; plus a row of another selection that must be ignored."""
    table = [
        {"selection": "figure5", "method": m, "role": r, "mape_flux": mape, "bias": bias,
         "outlier_fraction": out}
        for m, (mape, bias, out) in rows.items()
        for r in ("central", "companion", "both")
    ]  # fmt: skip
    table.append({"selection": "all", "method": "blend2flux", "role": "central",
                  "mape_flux": 99.0, "bias": 9.0, "outlier_fraction": 0.9})  # fmt: skip
    return pd.DataFrame(table)


def test_every_claim_holds_on_the_papers_numbers():
    m = metrics(
        {"blend2flux": (7.6, 0.015, 0.0016), "blend2mask2flux": (6.8, 0.016, 0.001),
         "sep isophotal": (33.6, 0.10, 0.12)}
    )  # fmt: skip
    claims = check_claims(m, NETWORKS, np.array([2] * 74 + [0] * 26), {"unet": 0.82})
    assert claims["holds"].tolist() == ["yes"] * 6
    assert "74.0% of 100 test blends" in claims["numbers"].iloc[-2]
    assert claims["numbers"].iloc[-1] == "unet 0.82 (paper 0.82)"
    assert "(4.4 / 4.4x)" in claims["numbers"].iloc[0]


def test_a_failing_claim_says_so_with_its_numbers():
    m = metrics(
        {"blend2flux": (15.3, 0.14, 0.014), "blend2mask2flux": (16.0, 0.04, 0.001),
         "sep isophotal": (27.0, 0.3, 0.12)}
    )  # fmt: skip
    claims = check_claims(m, NETWORKS, np.array([2] * 60 + [1] * 40), {"unet": 0.49})
    claims = claims.set_index("claim")
    assert claims["holds"].tolist() == ["no"] * 6
    assert claims.iloc[5]["numbers"] == "unet 0.49 (paper 0.82)"
    assert "blend2flux +0.140 / +0.140" in claims.iloc[2]["numbers"]
    assert "blend2flux 1.4 / 1.4 %" in claims.iloc[3]["numbers"]
    assert "60.0% of 100" in claims.iloc[4]["numbers"]


def test_claims_without_what_they_need_are_not_applicable():
    m = metrics({"blend2flux": (7.0, 0.0, 0.0)})  # no sep, no blend2mask2flux
    claims = check_claims(m, {"blend2flux": "blend2flux"}, None)
    assert claims["holds"].tolist() == ["n/a", "n/a", "yes", "yes", "n/a", "n/a"]


def test_the_readme_table_reads_a_summary_followed_by_its_claims():
    summary = (
        "Summary.\n\n| source | method | role | mape_flux |\n|---|---|---|---|\n"
        "| blendphot (demo) | blend2flux | central | 15.3 |\n"
        "| blendphot (demo) | blend2flux | companion | 13.9 |\n\n"
    )
    m = metrics({"blend2flux": (7.0, 0.0, 0.0)})
    text = summary + claims_markdown(check_claims(m, {"blend2flux": "blend2flux"}, None))
    dataset, table = headline_table(text)
    assert dataset == "demo" and "| blend2flux | 15.3 | 13.9 |" in table
