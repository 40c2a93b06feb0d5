import logging
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest
import sep

from blendphot.baseline import (
    COLUMNS,
    associate,
    gather_shards,
    kron_fluxes,
    measure_blend,
    measure_isolated,
    measure_set,
    prepare_image,
    problem_counts,
    run_baseline,
    sep_pass,
    shard_rows,
    table3,
)
from blendphot.baseline import sep_photometry as sp
from blendphot.baseline.kron import kron_scale
from blendphot.errors import InputError

from .conftest import ROOT, TINY
from .test_stamps import _gaussian

PARAMS = {
    "noise": "known",
    "central_radius_factor": 0.5,
    "cold": {"thresh": 5.0, "minarea": 10, "deblend_cont": 0.01, "deblend_nthresh": 64},
    "hot": {"thresh": 4.0, "minarea": 6, "deblend_cont": 1e-4, "deblend_nthresh": 64},
    "shards": 1,
    "kron": {"factor": 2.5, "min_radius": 3.5, "moments_radius": 6.0},
}
NOISE = 0.01


def _objects(xy_flux):
    dtype = [("x", float), ("y", float), ("flux", float)]
    return np.array([tuple(r) for r in xy_flux], dtype=dtype)


def _pair(flux2=60.0, x2=94, seed=0):
    rng = np.random.default_rng(seed)
    img = _gaussian(128, 64, 64, 100, 3) + _gaussian(128, x2, 64, flux2, 3)
    return (img + rng.normal(0, NOISE, img.shape)).astype(np.float32)


def _count_extract_calls(monkeypatch):
    calls = []
    real = sep.extract

    def spy(*args, **kwargs):
        calls.append(args[1])  # the threshold: 5 cold, 4 hot
        return real(*args, **kwargs)

    monkeypatch.setattr(sep, "extract", spy)
    return calls


def test_associate_two_or_more():
    objs = _objects([(90, 64, 30.0), (65, 63, 10.0), (20, 20, 50.0)])
    f_cen, f_comp, code = associate(objs, 64, r_cen=5, radius_factor=0.5)
    assert (f_cen, f_comp, code) == (10.0, 50.0, 3)
    f_cen, f_comp, code = associate(objs[:2], 64, r_cen=5, radius_factor=0.5)
    assert (f_cen, f_comp, code) == (10.0, 30.0, 2)


def test_associate_companion_is_brightest_other_even_if_central_is_brightest():
    objs = _objects([(64, 64, 99.0), (90, 64, 5.0), (30, 64, 8.0)])
    assert associate(objs, 64, r_cen=5, radius_factor=0.5) == (99.0, 8.0, 3)


def test_associate_single_detection_uses_half_radius():
    near = _objects([(66, 64, 7.0)])  # 2 px from the centre
    assert associate(near, 64, r_cen=5.0, radius_factor=0.5)[2] == 0
    f_cen, f_comp, code = associate(near, 64, r_cen=3.0, radius_factor=0.5)
    assert code == 1 and np.isnan(f_cen) and f_comp == 7.0
    assert associate(_objects([]), 64, 5.0, 0.5)[2] == -1


def test_cold_pass_only_when_it_finds_two(monkeypatch):
    calls = _count_extract_calls(monkeypatch)
    m = measure_blend(_pair(), NOISE, 6.0, PARAMS)
    assert calls == [5.0]
    assert m.detection == 2 and m.pass_used == "cold" and m.n_detected == 2
    assert m.flux_central == pytest.approx(100, rel=0.1)
    assert m.flux_companion == pytest.approx(60, rel=0.1)


def test_hot_pass_replaces_cold_when_cold_finds_fewer_than_two(monkeypatch):
    calls = _count_extract_calls(monkeypatch)
    rng = np.random.default_rng(1)
    single = (_gaussian(128, 64, 64, 100, 3) + rng.normal(0, NOISE, (128, 128))).astype("f4")
    m = measure_blend(single, NOISE, 6.0, PARAMS)
    assert calls == [5.0, 4.0]
    assert m.pass_used == "hot" and m.detection == 0


def test_kron_flux_is_closer_to_truth_than_isophotal():
    m = measure_blend(_pair(), NOISE, 6.0, PARAMS)
    assert m.kron_central == pytest.approx(100, rel=0.04)
    assert m.kron_companion == pytest.approx(60, rel=0.06)
    assert abs(m.kron_central - 100) < abs(m.flux_central - 100)


def test_separation_of_the_detections_grows_with_their_distance():
    near, far = (measure_blend(_pair(x2=x2), NOISE, 6.0, PARAMS) for x2 in (80, 100))
    assert near.detection == far.detection == 2
    assert 0 < near.separation < far.separation
    # sigma 3 px Gaussians: sep's a is about 3 px each, so 36 px apart is about 6 sums of a
    assert far.separation == pytest.approx(36 / 6, rel=0.25)
    alone = measure_blend(_gaussian(128, 64, 64, 100, 3).astype(np.float32), NOISE, 6.0, PARAMS)
    assert np.isnan(alone.separation)


def test_kron_masks_neighbours_through_the_segmentation():
    img = _pair(flux2=400.0, x2=80)
    data, _ = prepare_image(img)
    objects, segmap, _ = sep_pass(data, NOISE, PARAMS["cold"], segmentation=True)
    assert len(objects) == 2
    central = int(np.argmin(np.hypot(objects["x"] - 64, objects["y"] - 64)))
    masked = kron_fluxes(data, objects, segmap, np.array([central]), PARAMS["kron"])[0]
    o = objects[central : central + 1]
    unmasked = sep.sum_ellipse(data, o["x"], o["y"], o["a"], o["b"], o["theta"], 8.75)[0][0]
    assert masked == pytest.approx(100, rel=0.15)
    assert unmasked > 150  # the bright neighbour leaks into an unmasked aperture


def test_kron_scale_has_sextractor_minimum():
    scale = kron_scale(np.array([0.5, np.nan, 2.0]), 2.5, 3.5)
    assert scale.tolist() == [3.5, 3.5, 5.0]


def test_isolated_reference_takes_the_detection_nearest_the_galaxy():
    img = _pair()
    iso_c, kron_c, flags = measure_isolated(img, NOISE, 64, 64, PARAMS)
    iso_2, kron_2, _ = measure_isolated(img, NOISE, 93, 65, PARAMS)
    assert flags == 0
    assert iso_c == pytest.approx(100, rel=0.1) and iso_2 == pytest.approx(60, rel=0.1)
    assert kron_2 == pytest.approx(60, rel=0.06)
    blank = np.zeros((128, 128), np.float32)
    assert np.isnan(measure_isolated(blank, NOISE, 64, 64, PARAMS)[0])


def test_awkward_arrays_give_the_same_answer():
    ref = measure_blend(_pair(), NOISE, 6.0, PARAMS)
    big_endian = _pair().astype(">f8")
    strided = np.zeros((256, 256), np.float32)
    strided[::2, ::2] = _pair()
    for image in (big_endian, strided[::2, ::2], np.asfortranarray(_pair())):
        m = measure_blend(image, NOISE, 6.0, PARAMS)
        assert m.problems == sp.CONVERTED
        assert m.flux_central == pytest.approx(ref.flux_central, rel=1e-5)
        assert m.kron_companion == pytest.approx(ref.kron_companion, rel=1e-5)


def test_blank_nan_and_bad_noise_are_counted_not_raised():
    blank = measure_blend(np.zeros((128, 128), np.float32), NOISE, 3.0, PARAMS)
    assert (blank.detection, blank.pass_used, blank.problems) == (-1, "none", sp.BLANK)
    all_nan = measure_blend(np.full((128, 128), np.nan, np.float32), NOISE, 3.0, PARAMS)
    assert all_nan.problems == sp.NONFINITE | sp.BLANK and all_nan.detection == -1
    with_nan = _pair()
    with_nan[0, :5] = [np.nan, np.inf, -np.inf, np.nan, np.nan]
    m = measure_blend(with_nan, NOISE, 6.0, PARAMS)
    assert m.problems == sp.NONFINITE and m.detection == 2
    bad_noise = measure_blend(_pair(), float("nan"), 6.0, PARAMS)
    assert bad_noise.detection == -1 and bad_noise.problems & sp.SEP_FAILED
    noise, bits = sp.stamp_noise(np.zeros((128, 128), np.float32), 0.02, "background")
    assert (noise, bits) == (0.02, sp.NOISE_FALLBACK)


def test_sep_overflow_is_retried_once_with_larger_limits():
    img = _pair()
    data, _ = prepare_image(img)
    before = sep.get_extract_pixstack(), sep.get_sub_object_limit()
    tiny = sp.Limits(pixstack=50, sub_objects=1)
    with sp.sep_limits(tiny):
        objects, _, bits = sep_pass(data, NOISE, PARAMS["hot"], limits=tiny)
        assert (sep.get_extract_pixstack(), sep.get_sub_object_limit()) == (50, 1)
    assert bits == sp.OVERFLOW_RETRIED and len(objects) == 2
    assert (sep.get_extract_pixstack(), sep.get_sub_object_limit()) == before


def test_sep_that_keeps_failing_gives_no_detection(monkeypatch):
    def broken(*args, **kwargs):
        raise Exception("internal pixel buffer full: The limit of 1 active pixels")

    monkeypatch.setattr(sep, "extract", broken)
    m = measure_blend(_pair(), NOISE, 6.0, PARAMS)
    assert m.detection == -1 and np.isnan(m.flux_central) and np.isnan(m.kron_central)
    assert m.problems == sp.OVERFLOW_RETRIED | sp.SEP_FAILED
    counts = problem_counts(np.array([m.problems, 0, sp.BLANK]))
    assert counts["sep_failed"] == 1 and counts["overflow_retried"] == 1 and counts["blank"] == 1


def test_shard_rows_cover_every_row_once():
    n, k = 101, 4
    parts = [shard_rows(n, s, k) for s in range(k)]
    rows = np.concatenate([np.arange(n)[p] for p in parts])
    assert rows.tolist() == list(range(n))
    assert max(p.stop - p.start for p in parts) - min(p.stop - p.start for p in parts) <= 1
    with pytest.raises(ValueError):
        shard_rows(n, 4, 4)


def test_known_blend_noise_is_sqrt2_times_the_stamp_noise(tiny_data):
    with h5py.File(tiny_data["test"]) as h5:
        known = float(h5.attrs["noise"])
        rms = [sep.Background(np.ascontiguousarray(b)).globalrms for b in h5["blend"][:16]]
        iso = [sep.Background(np.ascontiguousarray(b)).globalrms for b in h5["isolated"][:16, 0]]
    assert np.median(rms) == pytest.approx(np.sqrt(2) * known, rel=0.1)
    assert np.median(iso) == pytest.approx(known, rel=0.1)


def test_shards_gather_into_the_whole_set_run(tiny_data, tmp_path, caplog):
    whole = run_baseline(tiny_data["test"], PARAMS, tmp_path / "whole.csv")
    assert list(whole.columns) == list(COLUMNS)
    assert len(whole) == tiny_data["config"]["blends"]["n_test"]
    assert set(whole["detection"]) <= {-1, 0, 1, 2, 3}
    found = whole["detection"].isin([0, 2, 3])
    assert np.isfinite(whole.loc[found, ["flux_central", "kron_central"]]).all().all()
    assert np.isfinite(whole[["iso_central", "iso_kron_central"]]).mean().min() > 0.8
    paths = [tmp_path / f"sep_{s}.csv" for s in range(2)]
    for s, path in enumerate(paths):
        part = run_baseline(tiny_data["test"], PARAMS, path, shard=s, n_shards=2)
        assert 0 < len(part) < len(whole)
    with caplog.at_level(logging.INFO):
        gathered = gather_shards(paths, tiny_data["test"], tmp_path / "sep.csv")
    assert "problems handled" in caplog.text and "detection classes" in caplog.text
    pd.testing.assert_frame_equal(gathered, pd.read_csv(tmp_path / "whole.csv"))
    with pytest.raises(InputError, match="do not cover"):
        gather_shards(paths[:1], tiny_data["test"], tmp_path / "partial.csv")


def test_measure_set_without_kron_or_reference_leaves_them_empty(tiny_data):
    rows = slice(0, 8)
    result = measure_set(tiny_data["test"], PARAMS, rows, kron=False, reference=False)
    assert len(result) == 8
    assert result[["kron_central", "iso_central", "iso_kron_companion"]].isna().all().all()
    assert result["flux_central"].notna().any()


def test_workflow_plans_one_job_per_shard_and_a_gather(tmp_path):
    (tmp_path / "config").mkdir()
    config = TINY.read_text().replace("shards: 2", "shards: 3")
    (tmp_path / "config" / "config.yaml").write_text(config)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path)]
        + ["-n", "results/tiny/baseline/sep.csv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for shard in range(3):
        assert f"results/tiny/baseline/shards/sep_{shard}.csv" in result.stdout
    assert "sep_3.csv" not in result.stdout
    assert result.stdout.count("rule sep_baseline_shard:") == 3
    assert result.stdout.count("rule sep_baseline:") == 1


def test_table3_comes_from_the_config():
    t = table3(PARAMS)
    row = t.set_index("parameter").loc["Minimum contrast ratio"]
    assert row["hot"] == 1e-4 and row["cold"] == 0.01
    assert t.to_csv(index=False).splitlines()[2] == "Minimum pixel area per object,6,10"


def test_sep_errors_follow_the_pixel_noise_and_scatter_as_stated():
    m = measure_blend(_pair(), NOISE, 6.0, PARAMS)
    data = _pair()
    objects, _, _ = sep_pass(data, NOISE, PARAMS["cold"])
    npix = np.sort(objects["npix"])[::-1]  # the central is the larger segment here
    assert m.err_central == pytest.approx(NOISE * np.sqrt(npix[0]))
    assert m.kron_err_central > m.err_central  # the Kron aperture is larger than the isophote
    # Kron on one galaxy, over noise realisations: the error is the flux scatter
    rng = np.random.default_rng(5)
    fluxes, errors = [], []
    for _ in range(100):
        img = (_gaussian(128, 64, 64, 100, 3) + rng.normal(0, NOISE, (128, 128))).astype("f4")
        found = measure_blend(img, NOISE, 6.0, PARAMS)
        fluxes.append(found.kron_central)
        errors.append(found.kron_err_central)
    assert np.std(fluxes) == pytest.approx(np.median(errors), rel=0.3)


# Blends of 2..K galaxies (K > 2 sets): association to the members' true positions.


def _dets(xy):
    """sep-like detections at (x, y), unit flux."""
    return _objects([(x, y, 1.0) for x, y in xy])


def test_members_match_nearest_detections_one_to_one_within_the_gate():
    members = np.array([[32.0, 32.0], [44.0, 32.0], [32.0, 20.0]])
    gates = sp.member_gates([2.0, 5.0, np.nan])  # floored at 3 px, NaN -> 3 px
    assert gates.tolist() == [3.0, 5.0, 3.0]
    # listed out of order; one detection between the central and the second member
    objs = _dets([(43.0, 33.0), (32.5, 32.0), (32.0, 24.0)])
    assert sp.match_members(objs, members, gates).tolist() == [1, 0, -1]  # (32, 24) is 4 px off
    # two members close to one detection: the nearer takes it, the other its own next one
    members = np.array([[32.0, 32.0], [35.0, 32.0]])
    objs = _dets([(34.0, 32.0), (31.0, 32.0)])
    assert sp.match_members(objs, members, np.array([3.0, 3.0])).tolist() == [1, 0]
    assert sp.match_members(_dets([]), members, np.array([3.0, 3.0])).tolist() == [-1, -1]


def test_found_mask_and_detection_codes_of_member_matches():
    assert sp.found_mask(np.array([0, -1, 2, 1])) == 0b1101
    code = sp.member_detection_code
    assert code(np.array([-1, -1, -1]), 0) == -1  # nothing detected
    assert code(np.array([0, 1, 2]), 3) == 2  # every member found
    assert code(np.array([0, 1, 2]), 4) == 3  # and one spurious detection
    assert code(np.array([-1, -1]), 1) == 3  # the only detection matches nobody
    assert code(np.array([0, -1, 1]), 2) == 0  # central found, a companion missed
    assert code(np.array([-1, 0, 1]), 2) == 1  # central missed
    assert set(sp.MULTI_DETECTION_CODES) == set(sp.DETECTION_CODES)


def test_measure_set_on_a_multi_galaxy_set(tmp_path, caplog):
    from blendphot.baseline.run import columns_for, found_per_slot, join_shards
    from blendphot.testing import write_multi_set

    counts = [2, 3, 4, 4, 3, 2]
    path = write_multi_set(tmp_path / "multi.h5", counts, size=64)
    result = measure_set(path, PARAMS)
    assert list(result.columns) == list(columns_for(4))
    assert result["n_galaxies"].tolist() == counts
    roles = ("central", "companion", "g3", "g4")
    absent = np.arange(4)[None, :] >= np.array(counts)[:, None]
    for pattern in ("flux_{}", "kron_{}", "flux_{}_err", "kron_{}_err", "iso_{}", "iso_kron_{}"):
        values = result[[pattern.format(r) for r in roles]].to_numpy(float)
        assert np.array_equal(np.isnan(values), absent), pattern  # NaN exactly where absent
    # well-separated Gaussians: every member found, no spurious detection, Kron near truth
    assert (result["found"] == (1 << np.array(counts)) - 1).all()
    assert (result["n_spurious"] == 0).all() and (result["detection"] == 2).all()
    with h5py.File(path) as h5:
        truth = h5["flux"][()]
    ratio = np.abs(result[[f"kron_{r}" for r in roles]].to_numpy(float) / truth - 1)
    assert np.nanmedian(ratio) < 0.03 and np.nanmedian(ratio, axis=0).max() < 0.05
    assert np.nanmax(ratio) < 0.15
    table = found_per_slot(result)
    assert table.loc[table["n_galaxies"] == "all", "n"].tolist() == [6, 6, 4, 2]
    assert (table["found_percent"] == 100).all()
    # shards gather into the whole, the per-slot summary in the log
    paths = [tmp_path / f"sep_{s}.csv" for s in range(2)]
    for s, p in enumerate(paths):
        run_baseline(path, PARAMS, p, shard=s, n_shards=2)
    with caplog.at_level(logging.INFO):
        gathered = gather_shards(paths, path, tmp_path / "sep.csv")
    assert "members found per slot" in caplog.text and "g4" in caplog.text
    pd.testing.assert_frame_equal(gathered, pd.read_csv(tmp_path / "sep.csv"))
    assert join_shards(paths, path)[1].shape == (6, 4)
    with pytest.raises(InputError, match="shard columns"):
        join_shards(paths, path, COLUMNS)


def test_multi_set_association_finds_a_missing_member_and_a_spurious_one(tmp_path):
    from blendphot.testing import gaussian, write_multi_set

    path = write_multi_set(tmp_path / "multi.h5", [3, 3], size=64, seed=2)
    with h5py.File(path, "r+") as h5:
        iso = h5["isolated"][()]
        iso[0, 2] = 0.0  # blend 0: slot 3's galaxy erased from the blend (its flux is kept)
        blend = iso.sum(axis=1)
        blend[1] += gaussian(64, 4, 4, 2.0, 30.0)  # blend 1: a galaxy nobody drew, in a corner
        h5["blend"][...] = blend
    result = measure_set(path, PARAMS, reference=False)
    assert result["found"].tolist() == [0b011, 0b111]
    assert result["n_spurious"].tolist() == [0, 1]
    assert result["detection"].tolist() == [0, 3]
    assert np.isnan(result.loc[0, "flux_g3"]) and np.isfinite(result.loc[1, "flux_g3"])


def test_pairs_keep_the_paper_association_unless_members_are_asked_for(tmp_path):
    from blendphot.baseline.run import MEMBER_COLUMNS, columns_for
    from blendphot.testing import write_multi_set

    path = write_multi_set(tmp_path / "pairs.h5", [2, 2, 2], size=64)
    assert columns_for(2) == COLUMNS
    assert list(measure_set(path, PARAMS, reference=False).columns) == list(COLUMNS)
    members = measure_set(path, PARAMS, reference=False, members=True)
    assert list(members.columns) == list(COLUMNS + MEMBER_COLUMNS)
    assert (members["found"] == 0b11).all() and (members["n_galaxies"] == 2).all()
