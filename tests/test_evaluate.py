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


def test_binned_stats_hand_computed():
    from blendphot.evaluate import binned_stats

    x = np.array([0.1, 0.2, 0.9, 1.5, 2.0, np.nan])
    d = np.array([1.0, 3.0, 5.0, -1.0, 1.0, 9.0])
    t = binned_stats(x, d, np.array([0.0, 1.0, 2.0]))
    assert list(t["n"]) == [3, 2]  # the last bin includes its upper edge; NaN dropped
    assert list(t["median"]) == [3.0, 0.0]
    assert t["scatter"][1] == pytest.approx(1.0)


def test_iou_and_overlap_estimator():
    from blendphot.evaluate.segmentation import delta_n, iou, overlap_pixels

    a = np.zeros((2, 4, 4), bool)
    b = np.zeros((2, 4, 4), bool)
    a[0, :2, :2] = True  # 4 pixels
    b[0, :2, :3] = True  # 6 pixels, 4 shared
    assert iou(a, b)[0] == pytest.approx(4 / 6)
    assert np.isnan(iou(a, b)[1])
    masks = np.stack([a[0], b[0]])[None]  # one blend, two masks
    assert overlap_pixels(masks)[0] == 4
    assert delta_n(np.array([4, 6]), np.array([2, 6])) == pytest.approx(2 / 2 / 5)


def test_oracle_recovers_amplitudes_exactly_without_noise():
    from blendphot.evaluate.oracle import fit_amplitudes

    rng = np.random.default_rng(0)
    templates = rng.uniform(size=(3, 2, 16, 16))
    amps = np.array([[1.0, 2.0], [0.5, 0.1], [3.0, 3.0]])
    blends = np.einsum("ni,nipq->npq", amps, templates)
    np.testing.assert_allclose(fit_amplitudes(blends, templates), amps, rtol=1e-10)


def test_methods_in_uses_labels_and_zeropoints():
    from blendphot.evaluate import methods_in

    cat = pd.DataFrame(
        {"g1_flux_b2f": [1.0], "g2_flux_b2f": [1.0], "g1_flux_sex": [np.nan],
         "g2_flux_sex": [2.0], "g1_flux_kron": [np.nan], "g2_flux_kron": [np.nan]}
    )  # fmt: skip
    methods = methods_in(cat, {"b2f": "mynet"}, 25.96, 25.67)
    assert [(m.label, m.zeropoint, m.detection_based) for m in methods] == [
        ("mynet", 25.96, False),
        ("sep", 25.67, True),
    ]


def test_reference_catalog_checks(tmp_path):
    from blendphot.errors import InputError
    from blendphot.evaluate.reference import load_reference_catalog

    with pytest.raises(InputError, match="ships it in blendphot/data"):
        load_reference_catalog(tmp_path / "absent.csv")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": [1], "distance": [3.0]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match="missing column.*g1_id"):
        load_reference_catalog(bad)
