import h5py
import numpy as np
import pytest

from blendphot.blends import (
    build_blend_sets,
    check_blend_file,
    draw_pairs,
    draw_shift,
    open_blend_set,
    shift_stamp,
    split_galaxies,
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
