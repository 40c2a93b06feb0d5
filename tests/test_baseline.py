import numpy as np
import pytest

from blendphot.baseline import associate, measure_blend, run_baseline, sep_pass, table3

from .test_stamps import _gaussian

PARAMS = {
    "noise": "known",
    "central_radius_factor": 0.5,
    "cold": {"thresh": 5.0, "minarea": 10, "deblend_cont": 0.01, "deblend_nthresh": 64},
    "hot": {"thresh": 4.0, "minarea": 6, "deblend_cont": 1e-4, "deblend_nthresh": 64},
}


def _objects(xy_flux):
    dtype = [("x", float), ("y", float), ("flux", float)]
    return np.array([tuple(r) for r in xy_flux], dtype=dtype)


def test_associate_two_or_more():
    objs = _objects([(90, 64, 30.0), (65, 63, 10.0), (20, 20, 50.0)])
    f_cen, f_comp, code = associate(objs, 64, r_cen=5, radius_factor=0.5)
    assert (f_cen, f_comp, code) == (10.0, 50.0, 3)
    f_cen, f_comp, code = associate(objs[:2], 64, r_cen=5, radius_factor=0.5)
    assert (f_cen, f_comp, code) == (10.0, 30.0, 2)


def test_associate_single_detection_uses_half_radius():
    near = _objects([(66, 64, 7.0)])  # 2 px from the centre
    assert associate(near, 64, r_cen=5.0, radius_factor=0.5)[2] == 0
    f_cen, f_comp, code = associate(near, 64, r_cen=3.0, radius_factor=0.5)
    assert code == 1 and np.isnan(f_cen) and f_comp == 7.0
    assert associate(_objects([]), 64, 5.0, 0.5)[2] == -1


def test_measure_blend_finds_two_separated_galaxies():
    rng = np.random.default_rng(0)
    img = _gaussian(128, 64, 64, 100, 3) + _gaussian(128, 94, 64, 60, 3)
    img = (img + rng.normal(0, 0.01, img.shape)).astype(np.float32)
    f_cen, f_comp, code, used = measure_blend(img, 0.01, 6.0, PARAMS)
    assert code == 2 and used == "cold"
    assert f_cen == pytest.approx(100, rel=0.1) and f_comp == pytest.approx(60, rel=0.1)


def test_blank_and_awkward_stamps_are_handled():
    blank = np.zeros((128, 128), np.float32)
    assert measure_blend(blank, 0.01, 3.0, PARAMS)[2] == -1
    big_endian = (_gaussian(128, 64, 64, 100, 3)).astype(">f8")
    assert len(sep_pass(big_endian, 0.01, PARAMS["cold"])) == 1
    strided = np.zeros((256, 256), np.float32)
    strided[::2, ::2] = _gaussian(128, 64, 64, 100, 3)
    assert len(sep_pass(strided[::2, ::2], 0.01, PARAMS["cold"])) == 1
    with_nan = _gaussian(128, 64, 64, 100, 3).astype(np.float32)
    with_nan[0, 0] = np.nan
    assert len(sep_pass(with_nan, 0.01, PARAMS["cold"])) == 1


def test_run_baseline_on_test_set(tiny_data, tmp_path):
    result = run_baseline(tiny_data["test"], PARAMS, tmp_path / "sep.csv")
    assert len(result) == tiny_data["config"]["blends"]["n_test"]
    assert set(result["detection"]) <= {-1, 0, 1, 2, 3}
    found = result["detection"].isin([0, 2, 3])
    assert np.isfinite(result.loc[found, "flux_central"]).all()
    assert (tmp_path / "sep.csv").exists()


def test_table3_comes_from_the_config():
    t = table3(PARAMS)
    row = t.set_index("parameter").loc["Minimum contrast ratio"]
    assert row["hot"] == 1e-4 and row["cold"] == 0.01
