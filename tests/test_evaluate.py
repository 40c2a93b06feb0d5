import numpy as np
import pandas as pd
import pytest

from blendphot.evaluate import (
    PAPER_COLUMNS,
    Method,
    magnitudes,
    metrics_table,
    photometry_summary,
    selections,
)


def test_magnitudes():
    np.testing.assert_allclose(magnitudes([1.0, 10.0], 25.0), [25.0, 22.5])
    assert np.isnan(magnitudes([0.0, -1.0, np.nan], 25.0)).all()


def test_photometry_summary_hand_computed():
    mag_true = np.array([20.0, 21.0, 22.0, 23.0])
    mag_pred = np.array([20.1, 20.9, 23.0, 23.0])  # dmag = 0.1, -0.1, 1.0, 0.0
    flux_true = np.array([100.0, 50.0, 20.0, 10.0])
    flux_pred = np.array([110.0, 45.0, 20.0, 10.0])
    s = photometry_summary(mag_pred, mag_true, flux_pred, flux_true, 0.75)
    assert s["n"] == 4 and s["n_invalid"] == 0
    assert s["bias"] == pytest.approx(0.25)
    assert s["sigma_mag"] == pytest.approx(np.std([0.1, -0.1, 1.0, 0.0]))
    assert s["outlier_fraction"] == pytest.approx(0.25)
    assert s["mape_flux"] == pytest.approx(100 * (0.1 + 0.1 + 0 + 0) / 4)
    assert s["mape_mag"] == pytest.approx(100 * np.mean([0.1 / 20, 0.1 / 21, 1.0 / 22, 0.0]))


def test_photometry_summary_drops_invalid():
    s = photometry_summary(
        np.array([np.nan, 20.0]), np.array([20.0, 20.0]), np.array([-1.0, 5.0]),
        np.array([5.0, 5.0]), 0.75,
    )  # fmt: skip
    assert s["n"] == 1 and s["n_invalid"] == 1 and s["bias"] == 0.0


def test_selections_follow_the_paper():
    det = np.array([0, 1, 2, 3, -1])
    sel = selections(det)
    assert list(sel["figure5"]["central"]) == [True, False, True, False, False]
    assert list(sel["figure5"]["companion"]) == [False, True, True, False, False]
    assert list(sel["figure6_top"]["central"]) == [False, False, True, False, False]
    assert list(sel["figure6_bottom"]["central"]) == [True, True, False, True, False]


def test_metrics_table_rows():
    cat = pd.DataFrame(
        {
            "g1_flux": [10.0, 10.0], "g2_flux": [5.0, 5.0],
            "g1_mag": magnitudes([10.0, 10.0], 25.0), "g2_mag": magnitudes([5.0, 5.0], 25.0),
            "g1_flux_m": [10.0, 20.0], "g2_flux_m": [5.0, 5.0],
            "detection": [2, 2],
        }
    )  # fmt: skip
    table = metrics_table(cat, [Method("model", "m", 25.0)], 0.75)
    row = table.query("selection == 'all' and role == 'central'").iloc[0]
    assert row["n"] == 2
    assert row["mape_flux"] == pytest.approx(50.0)
    assert row["bias"] == pytest.approx(-2.5 * np.log10(2) / 2)
    both = table.query("selection == 'all' and role == 'both'").iloc[0]
    assert both["n"] == 4


def test_paper_columns_are_the_published_schema():
    assert PAPER_COLUMNS[:2] == ("id", "distance")
    assert len(PAPER_COLUMNS) == 23
