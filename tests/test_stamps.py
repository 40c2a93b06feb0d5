import h5py
import numpy as np
import pandas as pd

from blendphot.stamps import (
    STAMPS_DATASETS,
    classify_morphology,
    clean_stamp,
    cut_stamp,
    read_stamps,
    segment_stamp,
    select_galaxies,
)


def test_classify_morphology_rules():
    types = classify_morphology(
        np.array([0.9, 0.1, 0.9, 0.1, 0.5]),
        np.array([0.1, 0.9, 0.9, 0.1, 0.5]),
        np.array([0.0, 0.0, 0.0, 0.95, 0.5]),
    )
    assert list(types) == ["sph", "disk", "sphd", "irr", ""]


def test_select_galaxies_magnitude_and_exclusion():
    cat = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "mag": [20.0, 23.6, 22.0, 21.0],
            "p_sph": [0.9, 0.9, 0.1, 0.9],
            "p_disk": [0.1, 0.1, 0.2, 0.1],
            "p_irr": [0.0, 0.0, 0.3, 0.0],
        }
    )
    before, after = select_galaxies(cat, 23.5, 0.8, exclude_ids=[4])
    assert list(before["id"]) == [1, 4]
    assert list(after["id"]) == [1]


def test_cut_stamp_centre_and_edges():
    mosaic = np.arange(300 * 400, dtype=np.float32).reshape(300, 400)
    stamp = cut_stamp(mosaic, 200.2, 150.0, 128)
    assert stamp.shape == (128, 128)
    assert stamp[64, 64] == mosaic[150, 200]
    assert cut_stamp(mosaic, 30.0, 150.0, 128) is None
    assert cut_stamp(mosaic, 200.0, 290.0, 128) is None


def _gaussian(size, x0, y0, flux, sigma):
    y, x = np.mgrid[:size, :size]
    return flux * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)


def test_clean_stamp_removes_neighbour_keeps_central():
    rng = np.random.default_rng(0)
    noise = 0.01
    central = _gaussian(128, 64, 64, 50.0, 3.0)
    neighbour = _gaussian(128, 100, 30, 20.0, 2.5)
    stamp = (central + neighbour + rng.normal(0, noise, (128, 128))).astype(np.float32)
    segmap, label = segment_stamp(stamp, noise, 1.5, 5)
    assert label > 0 and segmap[64, 64] == label
    clean, mask = clean_stamp(stamp, segmap, label, 5, noise, rng)
    box = (slice(85, 116), slice(15, 46))
    assert abs(clean[box].sum()) < 0.02 * neighbour[box].sum() + 5 * noise * 31
    np.testing.assert_array_equal(clean[mask == 1], stamp[mask == 1])
    assert mask[64, 64] == 1 and mask[30, 100] == 0


def test_build_stamps_output(tiny_data):
    h5, catalog = read_stamps(tiny_data["stamps"])
    with h5:
        for name in STAMPS_DATASETS:
            assert name in h5
        n = h5["image"].shape[0]
        assert len(catalog) == n > 0
        assert h5["image"].shape[1:] == (128, 128)
        # every stamp has its galaxy at the centre of its mask
        assert (h5["mask"][:, 64, 64] == 1).mean() > 0.95
    table1 = pd.read_csv(tiny_data["table1"])
    assert table1.iloc[-1]["type"] == "Total"
    assert table1.iloc[:-1]["after_exclusion"].sum() == table1.iloc[-1]["after_exclusion"]


def test_stamps_file_is_deterministic(tiny_data, tmp_path):
    from blendphot.stamps import build_stamps

    cfg = tiny_data["config"]
    out = tmp_path / "stamps.h5"
    build_stamps(tiny_data["mosaic"], tiny_data["catalog"], cfg["stamps"], cfg["seed"], out,
                 tmp_path / "t1.csv")  # fmt: skip
    with h5py.File(out) as a, h5py.File(tiny_data["stamps"]) as b:
        np.testing.assert_array_equal(a["image"][()], b["image"][()])
