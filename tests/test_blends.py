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
from blendphot.blends.pairing import candels_blender_bounds
from blendphot.errors import ConfigError, InputError
from blendphot.io import file_sha256, read_table

from .conftest import ROOT


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


@pytest.mark.parametrize("recipe", ["paper", "candels_blender", "released"])
def test_draw_shift_respects_recipe_bounds(recipe):
    rng = np.random.default_rng(1)
    for _ in range(500):
        r1, r2 = rng.uniform(1, 15, size=2)
        shift = draw_shift(r1, r2, 64, recipe, 0.5, rng)
        if shift is None:
            assert recipe != "paper"
            continue
        d = np.hypot(*shift)
        if recipe == "paper":
            assert 0.5 * max(r1, r2) <= d < 64
            continue
        r_max = min(4 * min(r1, r2), 64)
        r_min = max(r1, r2) if max(r1, r2) < r_max else 0.8 * r_max
        assert r_min <= d <= r_max
        assert -int(r_max) <= min(shift) and max(shift) < int(r_max)
        assert 1.0 <= d / min(r1, r2) <= 4.0


def test_candels_blender_bounds_and_fallback():
    assert candels_blender_bounds(3.0, 5.0, 64) == (5.0, 12.0)
    assert candels_blender_bounds(5.0, 3.0, 64) == (5.0, 12.0)
    # max R >= 4 min R: r_min falls back to 0.8 r_max
    assert candels_blender_bounds(2.0, 8.0, 64) == pytest.approx((6.4, 8.0))
    assert candels_blender_bounds(2.0, 30.0, 64) == pytest.approx((6.4, 8.0))
    # r_max is clipped at half the stamp
    assert candels_blender_bounds(20.0, 30.0, 64) == (30.0, 64.0)
    assert candels_blender_bounds(20.0, 90.0, 64) == pytest.approx((51.2, 64.0))


def test_candels_blender_draws_very_unequal_pairs():
    """The fallback: a pair with max R > 4 min R is placed at 0.8 r_max <= d <= r_max."""
    rng = np.random.default_rng(2)
    shifts = [draw_shift(2.0, 12.0, 64, "candels_blender", 0.5, rng) for _ in range(300)]
    d = np.array([np.hypot(*s) for s in shifts if s is not None])
    assert len(d) > 100
    assert (d >= 6.4).all() and (d <= 8.0).all()
    assert (d / 2.0 >= 3.2).all()


def test_candels_blender_range_is_one_pixel_short_on_the_positive_side():
    """Components are uniform in [-r_max, r_max): -8 is drawn, +8 never (r_max = 8)."""
    rng = np.random.default_rng(3)
    shifts = np.array([draw_shift(2.0, 2.0, 64, "candels_blender", 0.5, rng) for _ in range(3000)])
    assert shifts.min() == -8 and shifts.max() == 7
    assert ((shifts[:, 0] == -8) & (shifts[:, 1] == 0)).any()


def test_candels_blender_gives_up_after_25_tries():
    """r_max < 1 leaves only (0, 0), below r_min; an unlikely annulus is mostly skipped."""
    rng = np.random.default_rng(4)
    assert draw_shift(0.2, 0.2, 64, "candels_blender", 0.5, rng) is None
    # r_min = 3.99, r_max = 4: only (-4, 0) and (0, -4) qualify, 2 in 64 per try
    got = [draw_shift(1.0, 3.99, 64, "candels_blender", 0.5, rng) for _ in range(400)]
    assert any(s is None for s in got)
    assert {tuple(s) for s in got if s is not None} <= {(-4, 0), (0, -4)}


def test_unknown_recipe_fails():
    with pytest.raises(ValueError, match="unknown blends recipe"):
        draw_shift(3.0, 3.0, 64, "nope", 0.5, np.random.default_rng(0))


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
            # the default recipe, candels_blender: |shift| within [r_min, r_max]
            r_max = np.minimum(4 * np.minimum(table["g1_rad"], table["g2_rad"]), 64)
            r_min = np.maximum(table["g1_rad"], table["g2_rad"])
            r_min = np.where(r_min >= r_max, 0.8 * r_max, r_min)
            assert (table["distance"] >= r_min).all() and (table["distance"] <= r_max).all()
            assert h5.attrs["recipe"] == "candels_blender"
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


def _rotated_copies(stamps_path, out_path, copies=3):
    """A stamps file where each galaxy appears ``copies`` times, rotated by 90 degrees each
    time, with new stamp ids and the original id in a ``galaxy`` column."""
    import pandas as pd

    from blendphot.io import write_table

    with h5py.File(stamps_path) as src, h5py.File(out_path, "w") as dst:
        catalog = read_table(src["catalog"])
        for name in ("image_raw", "segmap_raw", "image", "mask", "image_true"):
            stack = src[name][()]
            dst[name] = np.concatenate([np.rot90(stack, k, axes=(1, 2)) for k in range(copies)])
        rows = pd.concat([catalog] * copies, ignore_index=True)
        rows["galaxy"] = rows["id"]
        rows["id"] = np.arange(1, len(rows) + 1)
        write_table(dst.create_group("catalog"), rows)
        dst.attrs.update(dict(src.attrs))
    return rows


def test_galaxy_key_keeps_rotated_copies_on_one_side(tiny_data, tmp_path):
    """Three rotated stamps per galaxy: keyed on the galaxy, no galaxy is in train and test
    and none is paired with itself; keyed on the stamp (the default) the copies leak."""
    stamps = tmp_path / "rotated.h5"
    rows = _rotated_copies(tiny_data["stamps"], stamps)
    galaxy_of = dict(zip(rows["id"], rows["galaxy"], strict=True))
    sides = {}
    for key in ("galaxy", None):
        cfg = {**tiny_data["config"]["blends"], "galaxy_key": key}
        outs = {s: tmp_path / f"{key}_{s}.h5" for s in ("train", "val", "test")}
        build_blend_sets(stamps, cfg, 5, outs)
        check_disjoint_splits(outs)  # checks the key each set was written with
        galaxies = {}
        for split, path in outs.items():
            with open_blend_set(path) as h5:
                table = read_table(h5["table"])
                assert h5.attrs["galaxy_key"] == (key or "id")
            pair = table[["g1_id", "g2_id"]].to_numpy()
            galaxies[split] = {galaxy_of[i] for i in pair.ravel()}
            if key:
                assert (table["g1_galaxy"] != table["g2_galaxy"]).all()
                assert (table["g1_galaxy"] == [str(galaxy_of[i]) for i in table["g1_id"]]).all()
        sides[key] = galaxies
    keyed, per_stamp = sides["galaxy"], sides[None]
    assert not keyed["test"] & (keyed["train"] | keyed["val"])
    assert per_stamp["test"] & (per_stamp["train"] | per_stamp["val"])  # the leak


def test_disjointness_check_reads_the_galaxy_key(tiny_data, tmp_path):
    """Two different stamp ids of one galaxy in train and test: caught through the key."""
    import shutil

    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    for split, path in outs.items():
        shutil.copy(tiny_data[split], path)
    check_disjoint_splits(outs)
    with h5py.File(outs["train"]) as h5:
        shared = h5["table/g1_galaxy"][0]
    with h5py.File(outs["test"], "a") as h5:
        keys = h5["table/g2_galaxy"][()]
        keys[0] = shared
        del h5["table/g2_galaxy"]
        h5["table/g2_galaxy"] = keys
    with pytest.raises(InputError, match="test galaxies also in train/val"):
        check_disjoint_splits(outs)


def test_unknown_galaxy_key_fails_clearly(tiny_data, tmp_path):
    cfg = {**tiny_data["config"]["blends"], "galaxy_key": "field"}
    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    with pytest.raises(InputError, match="stamps.h5.*galaxy_key 'field' is not a column"):
        build_blend_sets(tiny_data["stamps"], cfg, 1, outs)


def test_val_fraction_keeps_validation_galaxies_out_of_training(tiny_data, tmp_path):
    cfg = dict(tiny_data["config"]["blends"]) | {"n_train": 20, "n_val": 8, "n_test": 5}
    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    build_blend_sets(tiny_data["stamps"], cfg, 11, outs)
    with pytest.raises(InputError, match="validation galaxies also in train"):
        check_disjoint_splits(outs, val_disjoint=True)  # the default shares them
    build_blend_sets(tiny_data["stamps"], cfg | {"val_fraction": 0.3}, 11, outs)
    check_disjoint_splits(outs, val_disjoint=True)


def test_multi_galaxy_layout_checked(tmp_path):
    """A K-slot set passes the checker; NaN fluxes must mark exactly the absent slots."""
    from blendphot.blends.layout import galaxy_counts, present_slots, slot_count
    from blendphot.testing import write_multi_set

    path = write_multi_set(tmp_path / "multi.h5", [2, 3, 4, 2], size=48)
    with h5py.File(path, "r") as h5:
        assert check_blend_file(h5, path) == 4
        assert slot_count(h5) == 4
        assert galaxy_counts(h5).tolist() == [2, 3, 4, 2]
        assert present_slots(galaxy_counts(h5), 4).sum() == 11
    with h5py.File(path, "r+") as h5:
        h5["flux"][1, 3] = 1.0  # a flux in an absent slot
    with h5py.File(path, "r") as h5, pytest.raises(InputError, match="absent slots"):
        check_blend_file(h5, path)


MIX = {2: 0.5, 3: 0.3, 4: 0.2}


@pytest.fixture(scope="module")
def multi_sets(tiny_data, tmp_path_factory):
    """The tiny stamps blended 2 to 4 at a time (shares MIX)."""
    cfg = {**tiny_data["config"]["blends"], "n_galaxies": MIX}
    out = tmp_path_factory.mktemp("multi")
    outs = {s: out / f"{s}.h5" for s in ("train", "val", "test")}
    build_blend_sets(tiny_data["stamps"], cfg, tiny_data["config"]["seed"], outs)
    return {"config": cfg, "paths": outs}


def test_blend_counts_by_largest_remainder():
    from collections import Counter

    from blendphot.blends.pairing import blend_counts

    rng = np.random.default_rng(0)
    # quotas 7.5, 2, 0.5: the one blend left over goes to the first of the tied remainders
    got = blend_counts({2: 0.75, 3: 0.2, 4: 0.05}, 10, rng)
    assert Counter(got.tolist()) == {2: 8, 3: 2}
    got = blend_counts({2: 0.75, 3: 0.2, 4: 0.05}, 600, rng)
    assert Counter(got.tolist()) == {2: 450, 3: 120, 4: 30}
    assert (np.diff(got) != 0).sum() > 10  # shuffled, not sorted
    np.testing.assert_array_equal(
        blend_counts({3: 1 / 3, 4: 2 / 3}, 7, np.random.default_rng(1)),
        blend_counts({3: 1 / 3, 4: 2 / 3}, 7, np.random.default_rng(1)),
    )
    assert Counter(blend_counts({3: 1 / 3, 4: 2 / 3}, 7, rng).tolist()) == {3: 2, 4: 5}


@pytest.mark.parametrize("recipe", ["paper", "candels_blender"])
def test_draw_blends_places_companions_apart_and_by_distance(recipe):
    from blendphot.blends.pairing import draw_blends, min_separation

    rng = np.random.default_rng(5)
    mags = rng.uniform(19, 23, 80)
    radii = rng.uniform(2, 10, 80)
    galaxies = np.array([str(i // 2) for i in range(80)])  # two stamps per galaxy
    params = {"mag_window": 2.0, "recipe": recipe, "min_distance_factor": 0.5}
    counts = np.array([2, 3, 4, 4, 3, 2] * 20)
    members, shifts = draw_blends(mags, radii, np.arange(80), counts, params, 64, rng, galaxies)
    assert members.shape == (120, 4) and shifts.shape == (120, 4, 2)
    np.testing.assert_array_equal((members >= 0).sum(axis=1), counts)
    assert (shifts[:, 0] == 0).all()
    for m, s, n in zip(members, shifts, counts, strict=True):
        assert (m[n:] == -1).all() and (s[n:] == 0).all()
        keys = galaxies[m[:n]]
        assert len(set(keys)) == n  # distinct galaxies, not only distinct stamps
        assert (np.abs(mags[m[1:n]] - mags[m[0]]) < 2.0).all()  # the central's window
        assert (np.diff(mags[m[1:n]]) >= 0).all()  # the brightest companion first
        for a in range(1, n):  # each companion within the recipe's bounds around the central
            low = min_separation(radii[m[0]], radii[m[a]], 64, recipe, 0.5)
            assert np.hypot(*s[a]) >= min(low, 63)
            for b in range(a + 1, n):  # and companions no closer to each other than that
                gap = np.hypot(*(s[a] - s[b]))
                assert gap >= min_separation(radii[m[a]], radii[m[b]], 64, recipe, 0.5)
    rng = np.random.default_rng(5)
    rng.uniform(19, 23, 80), rng.uniform(2, 10, 80)
    again = draw_blends(mags, radii, np.arange(80), counts, params, 64, rng, galaxies)
    np.testing.assert_array_equal(again[0], members)  # reproducible for a fixed stream
    np.testing.assert_array_equal(again[1], shifts)


def test_multi_galaxy_sets_from_the_stamps(multi_sets, tiny_data):
    from blendphot.blends.layout import galaxy_counts, slot_count
    from blendphot.blends.pairing import candels_blender_bounds

    cfg = multi_sets["config"]
    ids = {}
    for split, path in multi_sets["paths"].items():
        with open_blend_set(path) as h5:
            n = cfg[f"n_{split}"]
            assert check_blend_file(h5, path) == n and slot_count(h5) == 4
            counts = galaxy_counts(h5)
            quotas = {c: share * n for c, share in MIX.items()}
            for c, quota in quotas.items():  # largest remainder: floor or one more
                assert int(quota) <= (counts == c).sum() <= int(quota) + 1
            table = read_table(h5["table"])
            flux, iso, blend = h5["flux"][()], h5["isolated"][()], h5["blend"][()]
            mask = h5["mask"][()]
            assert h5.attrs["galaxy_counts"] == '{"2": 0.5, "3": 0.3, "4": 0.2}'
            truth = h5["isolated_true"][()] if "isolated_true" in h5 else None
        present = np.arange(4)[None, :] < counts[:, None]
        np.testing.assert_array_equal(np.isfinite(flux), present)
        assert not iso[~present].any() and not mask[~present].any()
        if truth is not None:
            assert not truth[~present].any()
        np.testing.assert_allclose(blend, iso.sum(axis=1), rtol=1e-6, atol=1e-6)
        g = ["g1", "g2", "g3", "g4"]
        dist = np.stack(
            [np.zeros(n), table["distance"], table["g3_distance"], table["g4_distance"]], axis=1
        )
        assert np.isfinite(dist[present]).all() and np.isnan(dist[~present]).all()
        f = np.where(present, flux, -np.inf)
        np.testing.assert_array_equal(-np.sort(-f[:, 1:], axis=1), f[:, 1:])  # brightest first
        shift_x = np.stack(
            [np.zeros(n), table["shift_x"], table["g3_shift_x"], table["g4_shift_x"]], 1
        )
        shift_y = np.stack(
            [np.zeros(n), table["shift_y"], table["g3_shift_y"], table["g4_shift_y"]], 1
        )
        rad = table[[f"{p}_rad" for p in g]].to_numpy()
        mag = table[[f"{p}_mag" for p in g]].to_numpy()
        keys = table[[f"{p}_galaxy" for p in g]].to_numpy()
        assert (table[[f"{p}_id" for p in g]].to_numpy()[~present] == -1).all()
        assert (keys[~present] == "").all()
        for i in range(n):
            k = counts[i]
            assert len(set(keys[i, :k])) == k
            assert (np.abs(mag[i, 1:k] - mag[i, 0]) < cfg["mag_window"]).all()
            for a in range(1, k):
                r_min, r_max = candels_blender_bounds(rad[i, 0], rad[i, a], 64)
                assert r_min <= dist[i, a] <= r_max
                for b in range(a + 1, k):
                    gap = np.hypot(shift_x[i, a] - shift_x[i, b], shift_y[i, a] - shift_y[i, b])
                    assert gap >= candels_blender_bounds(rad[i, a], rad[i, b], 64)[0]
        ids[split] = set(keys[present].tolist())
    assert not ids["test"] & (ids["train"] | ids["val"])
    check_disjoint_splits(multi_sets["paths"])


def test_multi_galaxy_sets_are_reproducible(multi_sets, tiny_data, tmp_path):
    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    build_blend_sets(tiny_data["stamps"], multi_sets["config"], tiny_data["config"]["seed"], outs)
    for split, path in outs.items():
        assert file_sha256(path) == file_sha256(multi_sets["paths"][split])


def test_disjointness_check_reads_every_slot(multi_sets, tmp_path):
    """A test galaxy that appears only as a fourth galaxy in training is caught."""
    import shutil

    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    for split, path in outs.items():
        shutil.copy(multi_sets["paths"][split], path)
    with h5py.File(outs["test"]) as h5:
        shared = h5["table/g1_galaxy"][0]
    with h5py.File(outs["train"], "a") as h5:
        row = int(np.flatnonzero(h5["table/n_galaxies"][()] == 4)[0])
        keys = h5["table/g4_galaxy"][()].astype(object)
        keys[row] = shared
        del h5["table/g4_galaxy"]
        h5["table/g4_galaxy"] = keys.astype(bytes)
    with pytest.raises(InputError, match="test galaxies also in train/val"):
        check_disjoint_splits(outs)


@pytest.mark.parametrize("shares", [None, {2: 1.0}, {2: 1, 3: 0}, {"2": 1.0}])
def test_pairs_only_is_todays_set_byte_for_byte(tiny_data, tmp_path, shares):
    """The default (and any spelling of it) writes the pair sets of before blends.n_galaxies:
    same bytes, and a config_hash that leaves the key out."""
    from blendphot.io import config_hash

    cfg = {k: v for k, v in tiny_data["config"]["blends"].items() if k != "n_galaxies"}
    if shares is not None:
        cfg["n_galaxies"] = shares
    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    build_blend_sets(tiny_data["stamps"], cfg, tiny_data["config"]["seed"], outs)
    for split, path in outs.items():
        assert file_sha256(path) == file_sha256(tiny_data[split])
        with h5py.File(path) as h5:
            without = {k: v for k, v in cfg.items() if k != "n_galaxies"}
            assert h5.attrs["config_hash"] == config_hash(without)
            assert h5["flux"].shape[1] == 2 and "n_galaxies" not in h5["table"]
            assert "galaxy_counts" not in h5.attrs


def test_check_fillable_counts_distinct_galaxies():
    from blendphot.blends.pairing import check_fillable

    mags = np.array([20.0, 20.5, 21.0, 25.0])
    check_fillable(mags, np.arange(4), np.array([2, 3]), 2.0, "test")
    with pytest.raises(InputError, match=r"blends of 4 galaxies in the val split: no central "
                       r"has 3 companions within mag_window=2.0 \(most: 2\)"):  # fmt: skip
        check_fillable(mags, np.arange(4), np.array([2, 4]), 2.0, "val")
    galaxies = np.array(["a", "a", "b", "c"])  # two stamps of one galaxy are one companion
    with pytest.raises(InputError, match=r"blends of 3 galaxies.*\(most: 1\)"):
        check_fillable(mags, np.arange(4), np.array([3]), 2.0, "test", galaxies)


def test_unfillable_count_fails_before_any_blend_is_written(tiny_data, tmp_path):
    """Magnitudes in pairs 5 mag apart: no central has two companions, so blends of three
    galaxies cannot be made, and nothing is written."""
    import shutil

    from blendphot.io import write_table

    stamps = tmp_path / "paired_mags.h5"
    shutil.copy(tiny_data["stamps"], stamps)
    with h5py.File(stamps, "a") as h5:
        catalog = read_table(h5["catalog"])
        catalog["mag"] = 15.0 + 5.0 * (np.arange(len(catalog)) // 2)
        del h5["catalog"]
        write_table(h5.create_group("catalog"), catalog)
    cfg = {**tiny_data["config"]["blends"], "n_galaxies": {2: 0.5, 3: 0.5}}
    outs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    with pytest.raises(
        InputError,
        match=r"paired_mags.h5.*cannot make blends of 3 galaxies in the train split: no central "
        r"has 2 companions within mag_window=2.0 \(most: [01]\)",
    ):
        build_blend_sets(stamps, cfg, 1, outs)
    assert not any(p.exists() for p in outs.values())


@pytest.mark.parametrize(
    "shares, problem",
    [
        ({3: 1}, r"sum to 2, not 1.*merges into the default \{2: 1.0\}.*\{2: 0, 3: 1\}"),
        ({2: 0.5, 5: 0.5}, "count 5 is not an integer from 2 to 4"),
        ({1: 0.5, 2: 0.5}, "count 1 is not an integer from 2 to 4"),
        ({"x": 1.0}, "count 'x' is not an integer"),
        ({2: 1.5, 3: -0.5}, "blends.n_galaxies.3"),
        ({2: 0.7, 3: 0.2}, "sum to 0.9, not 1"),
    ],
)
def test_bad_galaxy_counts_fail_clearly(tiny_config, shares, problem):
    from blendphot.config import validate_config

    config = dict(tiny_config)
    config["blends"] = {k: v for k, v in tiny_config["blends"].items() if k != "n_galaxies"}
    if 2 not in shares:
        config["blends"]["n_galaxies"] = {2: 1.0, **shares}  # as an overlay merges it
    else:
        config["blends"]["n_galaxies"] = shares
    with pytest.raises(ConfigError, match=r"overlay.yaml.*" + problem):
        validate_config(config, "overlay.yaml")


def test_galaxy_counts_setting_is_normalised(tiny_config):
    from blendphot.config import galaxy_count_shares, validate_config

    assert tiny_config["blends"]["n_galaxies"] == {2: 1.0}  # the schema's default
    assert galaxy_count_shares({2: 0, 3: 0.25, "4": 0.75}) == {3: 0.25, 4: 0.75}
    assert galaxy_count_shares(None) == {2: 1.0}
    config = {**tiny_config, "blends": {**tiny_config["blends"], "n_galaxies": {2: 0, 3: 1}}}
    with pytest.raises(ConfigError, match="overlay.yaml: scarlet fits pairs only"):
        validate_config(config, "overlay.yaml")  # the tiny config fits scarlet
    config["scarlet"] = {**config["scarlet"], "enabled": False}
    validate_config(config, "overlay.yaml")


@pytest.mark.workflow
def test_snakemake_overlay_merges_galaxy_counts_into_the_default(tmp_path):
    """What Snakemake makes of an overlay: its counts merged into the default's {2: 1.0},
    so an overlay without pairs must give them 0; one that does not is refused by name."""
    from .test_workflow import effective_config, snakemake, workdir_with

    overlay = tmp_path / "triples.yaml"
    overlay.write_text("blends:\n  n_galaxies: {2: 0, 3: 0.5, 4: 0.5}\n")
    merged = effective_config(tmp_path / "a", "demo", "--configfile", str(overlay))
    assert merged["blends"]["n_galaxies"] == {2: 0, 3: 0.5, 4: 0.5}
    overlay.write_text("blends:\n  n_galaxies: {3: 1}\n")
    work = workdir_with(tmp_path / "b", (ROOT / "config" / "config.yaml").read_text())
    result = snakemake("-d", str(work), "-n", "--configfile", str(overlay))
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "triples.yaml: invalid config key 'blends.n_galaxies'" in text, text[-2000:]
    assert "write their share as 0, e.g. {2: 0, 3: 1}" in text
