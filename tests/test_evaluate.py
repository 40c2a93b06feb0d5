import h5py
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


def multi_catalog() -> pd.DataFrame:
    """Four blends of 2, 3, 4 and 3 galaxies; method m exact except on the third slot."""
    nan = np.nan
    cat = pd.DataFrame(
        {
            "id": [0, 1, 2, 3], "distance": [10.0, 12.0, 8.0, 9.0], "n_galaxies": [2, 3, 4, 3],
            "g1_flux": [10.0] * 4, "g2_flux": [5.0] * 4, "g3_flux": [nan, 4.0, 4.0, 4.0],
            "g4_flux": [nan, nan, 2.0, nan], "detection": [2, 2, 0, 3],
            "sep_found": [3, 7, 5, 7],
        }
    )  # fmt: skip
    for g in ("g1", "g2", "g3", "g4"):
        cat[f"{g}_mag"] = magnitudes(cat[f"{g}_flux"].to_numpy(), 25.0)
        cat[f"{g}_rad"] = 2.0
        cat[f"{g}_type"] = "disk"
        cat[f"{g}_flux_m"] = cat[f"{g}_flux"] * (1.5 if g == "g3" else 1.0)
    cat["g3_distance"], cat["g4_distance"] = 15.0, 20.0
    return cat


def test_selections_of_larger_blends_follow_found_members_and_present_slots():
    from blendphot.evaluate.metrics import catalog_roles, catalog_selections

    cat = multi_catalog()
    assert list(catalog_roles(cat)) == ["central", "companion", "companion_2", "companion_3"]
    sel = catalog_selections(cat)
    assert sel["all"]["companion_2"].tolist() == [False, True, True, True]
    assert sel["figure5"]["companion"].tolist() == [True, True, False, True]  # bit 1
    assert sel["figure5"]["companion_2"].tolist() == [False, True, True, True]
    assert sel["figure5"]["companion_3"].tolist() == [False, False, False, False]
    assert sel["figure6_top"]["companion_2"].tolist() == [False, True, False, False]


def test_metrics_per_slot_and_per_number_of_galaxies():
    from blendphot.evaluate.metrics import count_metrics_table

    cat = multi_catalog()
    table = metrics_table(cat, [Method("model", "m", 25.0)], 0.75).set_index(["selection", "role"])
    assert table.loc[("all", "companion_2"), "n"] == 3
    assert table.loc[("all", "companion_2"), "mape_flux"] == pytest.approx(50.0)
    assert table.loc[("all", "companion_3"), "n"] == 1
    assert table.loc[("all", "both"), "n"] == 4 + 4 + 3 + 1  # absent slots left out
    assert table.loc[("all", "both"), "n_invalid"] == 0
    by = count_metrics_table(cat, [Method("model", "m", 25.0)], 0.75)
    by = by[by.selection == "all"].set_index(["n_galaxies", "role"])
    assert sorted(by.index.get_level_values(0).unique()) == [2, 3, 4]
    assert ("companion_2", 2) not in [(r, n) for n, r in by.index]
    assert by.loc[(3, "companion_2"), "n"] == 2
    assert by.loc[(2, "both"), "mape_flux"] == 0.0
    assert by.loc[(4, "both"), "mape_flux"] == pytest.approx(50.0 / 4)


def test_count_figure_and_binned_tables_of_larger_blends(tmp_path):
    from blendphot.evaluate.metrics import binned_table, count_metrics_table
    from blendphot.figures.photometry import binned_figure, count_figure, figure5

    cat = multi_catalog()
    methods = [Method("model", "m", 25.0)]
    binned = binned_table(cat, methods)
    assert {"central", "companion", "companion_2", "companion_3", "both"} == set(binned["role"])
    figure5(cat, methods, 0.75, [tmp_path / "f5.png"])
    binned_figure(binned, "mag_difference", "dmag", [tmp_path / "f7.png"])
    count_figure(count_metrics_table(cat, methods, 0.75), [tmp_path / "count.png"])
    assert all((tmp_path / f).stat().st_size > 0 for f in ("f5.png", "f7.png", "count.png"))


def test_output_catalog_of_larger_blends(tmp_path):
    """A K = 4 set: every method gets a column per slot, NaN where a blend lacks the slot;
    the truth of slots 3 and 4 and n_galaxies follow the paper's columns."""
    import h5py

    from blendphot.contracts import write_prediction_file
    from blendphot.evaluate.catalog import build_output_catalog
    from blendphot.testing import write_multi_set

    test = write_multi_set(tmp_path / "test.h5", [2, 3, 4], size=48)
    with h5py.File(test, "r") as h5:
        flux = h5["flux"][()]
    pred = tmp_path / "pred.h5"
    write_prediction_file(pred, np.arange(3), "net", 1.1 * flux)
    slots = ("central", "companion", "g3", "g4")
    sep = {"id": np.arange(3), "detection": [2, 0, 3], "found": [3, 5, 15], "n_spurious": [0, 0, 1]}
    for k, slot in enumerate(slots):
        sep[f"flux_{slot}"] = 0.9 * flux[:, k]
        sep[f"flux_{slot}_err"] = 0.1 * flux[:, k]
    pd.DataFrame(sep).to_csv(tmp_path / "sep.csv", index=False)
    oracle = {"id": np.arange(3)}
    for k, slot in enumerate(slots):
        oracle[f"flux_{slot}"], oracle[f"flux_{slot}_err"] = flux[:, k], 0.01 * flux[:, k]
    pd.DataFrame(oracle).to_csv(tmp_path / "oracle.csv", index=False)
    cat = build_output_catalog(
        test, {"net": pred}, {"net": "b2f"}, tmp_path / "sep.csv", 25.0,
        tmp_path / "catalog.csv", oracle_path=tmp_path / "oracle.csv",
    )  # fmt: skip
    assert list(cat.columns[: len(PAPER_COLUMNS)]) == list(PAPER_COLUMNS)
    assert cat.columns[len(PAPER_COLUMNS)] == "n_galaxies"
    assert cat["n_galaxies"].tolist() == [2, 3, 4]
    for name in ("g3_id", "g4_mag", "g3_distance", "g4_flux_b2f", "g3_flux_sex", "g4_flux_oracle"):
        assert name in cat.columns
    np.testing.assert_allclose(cat["g3_flux_b2f"], 1.1 * flux[:, 2])
    assert np.isnan(cat.loc[0, "g3_flux_sex"]) and np.isfinite(cat.loc[2, "g4_flux_sex"])
    assert cat["sep_found"].tolist() == [3, 5, 15]
    np.testing.assert_allclose(cat["g4_flux_oracle_err_raw"], 0.01 * flux[:, 3])


def test_blend_histograms_pool_every_companion(tmp_path):
    """The companions' geometry of a K-slot set counts every present companion, once."""
    from blendphot.figures.blends import blend_histograms, companion_geometry
    from blendphot.io import read_table
    from blendphot.testing import write_multi_set

    path = write_multi_set(tmp_path / "test.h5", [2, 3, 4, 4], size=48)
    with h5py.File(path, "r") as h5:
        table = read_table(h5["table"])
    dist, dmag = companion_geometry(table)
    assert len(dist) == len(dmag) == 1 + 2 + 3 + 3
    assert (dist > 9).all() and np.isfinite(dmag).all()  # 10-24 px, rounded to pixels
    blend_histograms({"test": path}, [tmp_path / "hist.png"])
    assert (tmp_path / "hist.png").stat().st_size > 100


def test_table2_total_pools_every_galaxy_of_larger_blends():
    from blendphot.evaluate.tables import table2

    info = {"column": "m", "architecture": "x", "params": {}, "parameters": 0}
    row = table2(multi_catalog(), {"model": info}).iloc[0]
    assert row["flux_error_central_pct"] == 0.0 and row["flux_error_companion_pct"] == 0.0
    assert row["flux_error_total_pct"] == pytest.approx(100 * 0.5 * 3 / 12, abs=0.01)
