import h5py
import numpy as np
import pytest

from blendphot.blends import (
    build_blend_sets,
    check_blend_file,
    check_disjoint_splits,
    draw_pairs,
    draw_shift,
    open_blend_set,
    shift_stamp,
    split_galaxies,
    uncovered_pixels,
)
from blendphot.errors import InputError
from blendphot.io import file_sha256, read_table


def test_shift_stamp_moves_and_fills():
    img = np.zeros((8, 8), np.float32)
    img[4, 4] = 1.0
    out = shift_stamp(img, 2, -1, fill=-5.0)
    assert out[3, 6] == 1.0
    assert out.sum() == 1.0 + (-5.0) * (8 * 8 - 6 * 7)
    assert (out[:, :2] == -5.0).all() and (out[-1, :] == -5.0).all()
    hole = uncovered_pixels((8, 8), 2, -1)
    assert hole.sum() == 8 * 8 - 6 * 7
    np.testing.assert_array_equal(hole, out == -5.0)


@pytest.mark.parametrize("recipe", ["paper", "released"])
def test_draw_shift_respects_recipe_bounds(recipe):
    rng = np.random.default_rng(1)
    for _ in range(500):
        r1, r2 = rng.uniform(1, 15, size=2)
        shift = draw_shift(r1, r2, 64, recipe, 0.5, rng)
        if shift is None:
            assert recipe == "released"
            continue
        d = np.hypot(*shift)
        if recipe == "paper":
            assert 0.5 * max(r1, r2) <= d < 64
        else:
            assert max(r1, r2) <= d <= min(4 * min(r1, r2), 64)


def test_split_is_disjoint_and_complete():
    rng = np.random.default_rng(0)
    tv, test = split_galaxies(100, 0.2, rng)
    assert len(test) == 20 and len(tv) == 80
    assert not set(tv) & set(test)
    with pytest.raises(InputError, match="cannot be split"):
        split_galaxies(3, 0.2, rng)


def test_draw_pairs_magnitude_window():
    rng = np.random.default_rng(0)
    mags = rng.uniform(19, 23, 50)
    radii = rng.uniform(2, 10, 50)
    params = {"mag_window": 2.0, "recipe": "paper", "min_distance_factor": 0.5}
    pool = np.arange(50)
    rows = draw_pairs(mags, radii, pool, 400, params, 64, rng)
    assert (rows[:, 0] != rows[:, 1]).all()
    assert (np.abs(mags[rows[:, 0]] - mags[rows[:, 1]]) < 2.0).all()


def test_draw_pairs_impossible_window_fails_clearly():
    rng = np.random.default_rng(0)
    mags = np.array([18.0, 21.0, 24.0])
    params = {"mag_window": 2.0, "recipe": "paper", "min_distance_factor": 0.5}
    with pytest.raises(InputError, match="no companion"):
        draw_pairs(mags, np.ones(3) * 3, np.arange(3), 10, params, 64, rng)


def test_blend_sets_layout_and_disjoint_splits(tiny_data):
    ids = {}
    for split in ("train", "val", "test"):
        with open_blend_set(tiny_data[split]) as h5:
            n = check_blend_file(h5, tiny_data[split])
            assert n == tiny_data["config"]["blends"][f"n_{split}"]
            table = read_table(h5["table"])
            ids[split] = set(table["g1_id"]) | set(table["g2_id"])
            # the blend is the pixel sum of the two isolated stamps
            np.testing.assert_allclose(
                h5["blend"][:8], h5["isolated"][:8, 0] + h5["isolated"][:8, 1], rtol=1e-6
            )
            np.testing.assert_allclose(h5["flux"][:, 0], table["g1_flux"])
            assert (np.abs(table["g1_mag"] - table["g2_mag"]) < 2.0).all()
            r = np.maximum(table["g1_rad"], table["g2_rad"])
            assert (table["distance"] >= 0.5 * r).all() and (table["distance"] < 64).all()
            assert h5["blend"].chunks[0] <= 32
    assert not ids["test"] & (ids["train"] | ids["val"])


def test_blend_sets_are_byte_identical_for_a_seed(tiny_data, tmp_path):
    cfg = tiny_data["config"]
    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    build_blend_sets(tiny_data["stamps"], cfg["blends"], cfg["seed"], outs)
    for split, path in outs.items():
        assert file_sha256(path) == file_sha256(tiny_data[split])


def test_too_few_galaxies_fails_clearly(tiny_data, tmp_path):
    cfg = dict(tiny_data["config"]["blends"])
    cfg["test_fraction"] = 0.01
    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    with pytest.raises(InputError, match="stamps.h5.*cannot be split"):
        build_blend_sets(tiny_data["stamps"], cfg, 1, outs)
    assert not any(p.exists() for p in outs.values())


def test_corrupt_or_incomplete_blend_file(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF garbage")
    with pytest.raises(InputError, match="bad.h5.*not a readable HDF5"):
        open_blend_set(bad)
    partial = tmp_path / "partial.h5"
    with h5py.File(partial, "w") as h5:
        h5["blend"] = np.zeros((2, 8, 8), np.float32)
    with pytest.raises(InputError, match="partial.h5.*lacks dataset"):
        open_blend_set(partial)


@pytest.mark.parametrize("sizes", [(10, 3, 7), (1, 1, 1), (50, 20, 33)])
def test_any_sizes_stay_disjoint(tiny_data, tmp_path, sizes):
    cfg = dict(tiny_data["config"]["blends"])
    cfg.update(n_train=sizes[0], n_val=sizes[1], n_test=sizes[2])
    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    got = build_blend_sets(tiny_data["stamps"], cfg, 11, outs)
    assert got == {"train": sizes[0], "val": sizes[1], "test": sizes[2]}
    check_disjoint_splits(outs)


def test_disjointness_check_catches_a_leak(tiny_data):
    leaky = {"train": tiny_data["train"], "val": tiny_data["val"], "test": tiny_data["train"]}
    with pytest.raises(InputError, match="test galaxies also in train/val"):
        check_disjoint_splits(leaky)


def test_noiseless_truth_is_carried_when_known(tiny_data, tmp_path):
    """A stamps file with image_true gives blend sets with the noiseless shifted pair."""
    import shutil

    stamps = tmp_path / "stamps.h5"
    shutil.copy(tiny_data["stamps"], stamps)
    with h5py.File(stamps, "a") as h5:
        if "image_true" not in h5:
            h5["image_true"] = h5["image"][()] * 0 + h5["mask"][()]  # a recognisable truth
        truth = h5["image_true"][()]
    cfg = tiny_data["config"]
    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    build_blend_sets(stamps, cfg["blends"], cfg["seed"], outs)
    with open_blend_set(outs["test"]) as h5:
        table = read_table(h5["table"])
        true = h5["isolated_true"][()]
    with h5py.File(stamps) as h5:
        ids = read_table(h5["catalog"])["id"].to_numpy()
    row = 0
    cen = int(np.flatnonzero(ids == table["g1_id"][row])[0])
    comp = int(np.flatnonzero(ids == table["g2_id"][row])[0])
    np.testing.assert_array_equal(true[row, 0], truth[cen])
    expected = shift_stamp(truth[comp], int(table["shift_x"][row]), int(table["shift_y"][row]))
    np.testing.assert_array_equal(true[row, 1], expected)
