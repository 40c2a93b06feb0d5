"""The file contracts on tiny synthetic files, in milliseconds (the default tier).

Each checker (blendphot/contracts.py, blendphot/blends/layout.py) passes a good file and
refuses a bad one with an InputError naming the file and the rule broken. The fault battery
(tests/test_faults.py, slow) makes the same faults in files of the real stages and runs them
through the stages' command lines.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from blendphot.blends.layout import (
    check_blend_file,
    galaxy_counts,
    nonfinite_rows,
    open_blend_set,
    present_slots,
)
from blendphot.contracts import (
    blend_set_ids,
    check_output_catalog,
    check_per_blend_csv,
    check_predictions,
    check_stamps,
    match_predictions,
    read_output_catalog,
    read_prediction_file,
    write_prediction_file,
)
from blendphot.errors import InputError
from blendphot.evaluate.catalog import PAPER_COLUMNS
from blendphot.io import write_table
from blendphot.testing import write_multi_set

COUNTS = [2, 3, 4, 2]


def refused(check, path, *patterns):
    """``check()`` raises an InputError naming ``path`` and every pattern; the message."""
    with pytest.raises(InputError) as err:
        check()
    message = str(err.value)
    assert path is None or message.startswith(f"{path}: "), message
    for pattern in patterns:
        assert pattern in message, f"{pattern!r} not in {message!r}"
    return message


# ---------------------------------------------------------------------------- blend sets


@pytest.fixture
def blend_set(tmp_path) -> Path:
    """Four blends of 2 to 4 Gaussian galaxies (K = 4), 48 x 48 pixels."""
    return write_multi_set(tmp_path / "set.h5", COUNTS, size=48)


def check_set(path: Path) -> int:
    with h5py.File(path, "r") as h5:
        return check_blend_file(h5, path)


def replace(path: Path, name: str, data) -> None:
    """Replace dataset ``name`` of an HDF5 file by ``data``."""
    with h5py.File(path, "r+") as h5:
        if name in h5:
            del h5[name]
        h5[name] = data


def test_a_good_blend_set_passes_and_gives_n(blend_set):
    assert check_set(blend_set) == len(COUNTS)
    with open_blend_set(blend_set) as h5:
        assert galaxy_counts(h5).tolist() == COUNTS
        assert present_slots(galaxy_counts(h5), 4).sum(axis=1).tolist() == COUNTS
    assert blend_set_ids(blend_set).tolist() == list(range(len(COUNTS)))
    pairs = write_multi_set(blend_set.parent / "pairs.h5", [2, 2, 2], size=32)
    assert check_set(pairs) == 3  # K = 2: the paper's layout, no n_galaxies column


def test_a_blend_set_without_a_dataset_is_refused(blend_set):
    with h5py.File(blend_set, "r+") as h5:
        del h5["mask"]
    refused(lambda: check_set(blend_set), blend_set, "lacks dataset(s): mask")


@pytest.mark.parametrize(
    "name, data, pattern",
    [
        ("isolated", np.zeros((4, 3, 48, 48), np.float32), "isolated has shape (4, 3, 48, 48)"),
        ("mask", np.zeros((4, 4, 40, 40), np.uint8), "mask has shape"),
        ("flux", np.ones(4), "flux has shape (4,), expected (N, K >= 2)"),
        ("blend", np.zeros((4, 48, 48), np.int32), "blend is stored as int32"),
        ("mask", np.zeros((4, 4, 48, 48), np.float32), "expected integer 0/1 masks"),
    ],
)
def test_a_dataset_of_the_wrong_shape_or_type_is_refused(blend_set, name, data, pattern):
    replace(blend_set, name, data)
    refused(lambda: check_set(blend_set), blend_set, pattern)


def test_table_columns_must_all_be_there_with_n_rows(blend_set):
    replace(blend_set, "table/g2_z", np.ones(3))
    refused(lambda: check_set(blend_set), blend_set, "g2_z do not have the set's 4 rows")
    with h5py.File(blend_set, "r+") as h5:
        del h5["table/g1_mag"]
    refused(lambda: check_set(blend_set), blend_set, "lacks column(s): g1_mag")


def test_attributes_must_be_there(blend_set):
    with h5py.File(blend_set, "r+") as h5:
        del h5.attrs["zeropoint"]
    refused(lambda: check_set(blend_set), blend_set, "lacks attribute(s): zeropoint")


def test_ids_must_be_unique(blend_set):
    replace(blend_set, "table/id", np.array([0, 1, 1, 3]))
    refused(lambda: check_set(blend_set), blend_set, "id 1 appears more than once")


def test_galaxy_counts_must_fit_the_slots(blend_set):
    replace(blend_set, "table/n_galaxies", np.array([2, 5, 4, 2]))
    refused(lambda: check_set(blend_set), blend_set, "n_galaxies 5 of row 1 is not in 2..4")


def test_true_fluxes_are_nan_in_absent_slots_and_positive_in_present_ones(blend_set):
    with h5py.File(blend_set, "r+") as h5:
        h5["flux"][0, 2] = 3.0  # row 0 holds 2 galaxies
    refused(lambda: check_set(blend_set), blend_set, "row 0:", "NaN must mark exactly")
    with h5py.File(blend_set, "r+") as h5:
        h5["flux"][0, 2] = np.nan
        h5["flux"][2, 3] = -1.0
        h5["table/g4_flux"][2] = -1.0
    refused(lambda: check_set(blend_set), blend_set, "dataset flux, row 2", "g4: -1.0")


def test_true_fluxes_agree_with_their_table_copies(blend_set):
    with h5py.File(blend_set, "r+") as h5:
        h5["table/g1_flux"][3] *= 1.01
    refused(lambda: check_set(blend_set), blend_set, "flux and table/g1_flux disagree in row 3")


def test_open_blend_set_refuses_a_bad_or_missing_file(blend_set, tmp_path):
    replace(blend_set, "table/id", np.array([7, 7, 7, 7]))
    refused(lambda: open_blend_set(blend_set), blend_set, "appears more than once")
    missing = tmp_path / "none.h5"
    refused(lambda: open_blend_set(missing), missing, "file does not exist")
    text = tmp_path / "text.h5"
    text.write_text("not HDF5")
    refused(lambda: open_blend_set(text), text, "not a readable HDF5 file")


@pytest.mark.parametrize("block", [1, 3, 256])
def test_nonfinite_rows_are_found_block_by_block(blend_set, block):
    with h5py.File(blend_set, "r+") as h5:
        h5["blend"][1, 5, 5] = np.nan
        h5["blend"][3, 0, 0] = np.inf
        h5["isolated"][2, 1, 0, 0] = np.nan
    with h5py.File(blend_set, "r") as h5:
        assert nonfinite_rows(h5, block=block).tolist() == [1, 3]
        assert nonfinite_rows(h5, "isolated", block=block).tolist() == [2]
        assert nonfinite_rows(h5, "mask", block=block).tolist() == []


# ---------------------------------------------------------------------------- predictions


@pytest.fixture
def truth(blend_set) -> dict:
    """The blend set's ids, fluxes and present slots."""
    with open_blend_set(blend_set) as h5:
        flux = h5["flux"][()]
        return {"ids": h5["table/id"][()], "flux": flux, "present": np.isfinite(flux)}


def check_file(path: Path, **kwargs) -> int:
    with h5py.File(path, "r") as h5:
        return check_predictions(h5, path, **kwargs)


def test_written_predictions_pass_and_read_back(truth, tmp_path):
    path = tmp_path / "net.h5"
    err = np.where(truth["present"], 0.1, np.nan)
    write_prediction_file(path, truth["ids"], "net", 1.1 * truth["flux"], flux_err=err)
    got = read_prediction_file(path, truth["ids"], "net", truth["present"], need=("flux",))
    assert got["model"] == "net" and got["id"].tolist() == truth["ids"].tolist()
    np.testing.assert_allclose(got["flux"], 1.1 * truth["flux"])
    np.testing.assert_array_equal(got["flux_err"], err)
    assert not got["skipped"].any()
    masks = np.zeros((4, 4, 48, 48), np.float16)
    write_prediction_file(tmp_path / "seg.h5", truth["ids"], "seg", masks=masks)
    assert check_file(tmp_path / "seg.h5", need=("masks",)) == 4


def test_predictions_name_their_model_and_follow_the_blend_set_rows(truth, tmp_path):
    path = tmp_path / "net.h5"
    write_prediction_file(path, truth["ids"], "net", truth["flux"])
    refused(lambda: check_file(path, model="unet"), path, "model 'net', expected 'unet'")
    refused(
        lambda: check_file(path, ids=truth["ids"][::-1]), path, "ids differ", "(row 0: 0 against 3)"
    )
    refused(lambda: check_file(path, ids=truth["ids"][:3]), path, "4 rows, the blend set has 3")
    refused(lambda: check_file(path, need=("masks",)), path, "predictions of net hold no masks")
    with h5py.File(path, "r+") as h5:
        h5.attrs["width"] = "guess"
    refused(lambda: check_file(path), path, "attribute width 'guess' is not one of")
    with h5py.File(path, "r+") as h5:
        del h5.attrs["model"]
    refused(lambda: check_file(path), path, "lacks attribute model")
    with h5py.File(path, "r+") as h5:
        del h5["id"]
    refused(lambda: check_file(path), path, "lacks dataset id")


def test_predictions_hold_flux_or_masks_of_the_right_shape_and_type(truth, tmp_path):
    path = tmp_path / "net.h5"
    write_prediction_file(path, truth["ids"], "net", truth["flux"])
    replace(path, "flux", np.ones((4, 4), np.int64))
    refused(lambda: check_file(path), path, "flux is stored as int64")
    replace(path, "flux", np.ones((4, 3)))
    refused(lambda: check_file(path, present=truth["present"]), path, "shape (4, 3), expected")
    replace(path, "flux", np.ones(4))
    refused(lambda: check_file(path), path, "flux has shape (4,), expected (4, K)")
    replace(path, "masks", np.zeros((4, 2, 8, 8), np.float16))
    with h5py.File(path, "r+") as h5:
        del h5["flux"]
    refused(lambda: check_file(path, present=truth["present"]), path, "masks has shape")
    with h5py.File(path, "r+") as h5:
        del h5["masks"]
    refused(lambda: check_file(path), path, "hold neither flux nor masks")


def test_slots_absent_nan_present_finite_unless_skipped(truth, tmp_path):
    path, present = tmp_path / "net.h5", truth["present"]
    flux = truth["flux"].copy()
    flux[0, 3] = 1.0  # row 0 holds 2 galaxies
    write_prediction_file(path, truth["ids"], "net", flux)
    refused(lambda: check_file(path, present=present), path, "row 0: a value in an absent slot")
    flux = truth["flux"].copy()
    flux[2, 1] = np.nan
    write_prediction_file(path, truth["ids"], "net", flux)
    refused(lambda: check_file(path, present=present), path, "row 2: not finite in a present")
    skipped = np.array([False, False, True, False])
    flux[2] = np.nan  # a skipped row: NaN throughout, accepted
    write_prediction_file(path, truth["ids"], "net", flux, skipped=skipped)
    assert check_file(path, present=present) == 4
    flux[2, 0] = 1.0
    write_prediction_file(path, truth["ids"], "net", flux, skipped=skipped)
    refused(lambda: check_file(path, present=present), path, "row 2: skipped rows must hold NaN")
    replace(path, "skipped", np.zeros(3, bool))
    refused(lambda: check_file(path), path, "skipped has shape (3,), expected (4,)")


def test_widths_are_finite_and_non_negative_where_the_flux_is(truth, tmp_path):
    path = tmp_path / "net.h5"
    err = np.where(truth["present"], 0.1, np.nan)
    err[1, 0] = -0.1
    with pytest.raises(InputError, match="row 1: a width must be finite and >= 0"):
        write_prediction_file(path, truth["ids"], "net", truth["flux"], flux_err=err)
    assert not path.exists()  # refused on the way out: nothing written


def test_predictions_are_matched_by_model_name_not_order(truth, tmp_path):
    paths = {}
    for name in ("a", "b"):
        paths[name] = tmp_path / f"{name}.h5"
        write_prediction_file(paths[name], truth["ids"], name, truth["flux"])
    assert match_predictions([paths["b"], paths["a"]], ["a", "b"]) == paths
    refused(lambda: match_predictions([paths["a"]], ["b"]), paths["a"], "not one of b")
    refused(lambda: match_predictions([paths["a"]] * 2, ["a"]), paths["a"], "a second")
    refused(lambda: match_predictions([paths["a"]], ["a", "b"]), None, "model(s) b")


# ---------------------------------------------------------------------------- CSV files


def test_a_per_blend_csv_has_the_set_ids_in_order_and_numbers(tmp_path):
    path, ids = tmp_path / "sep.csv", np.arange(4)
    table = pd.DataFrame({"id": ids, "flux_central": [1.0, np.nan, 2.0, 3.0]})
    check_per_blend_csv(table, path, ids, ["flux_central"], ["flux_central"])
    refused(lambda: check_per_blend_csv(table.drop(columns="id"), path, ids), path, "column id")
    refused(
        lambda: check_per_blend_csv(table, path, ids, ["flux_companion"]),
        path,
        "missing column(s) flux_companion",
    )
    refused(lambda: check_per_blend_csv(table[::-1], path, ids), path, "column id: ids differ")
    text = table.assign(flux_central=["1", "x", "2", "3"])
    refused(
        lambda: check_per_blend_csv(text, path, ids, numeric=["flux_central"]),
        path,
        "column flux_central, row 1: not a number ('x')",
    )
    names = np.array([b"a", b"b"])  # string ids (a real catalogue's) compare as text
    check_per_blend_csv(pd.DataFrame({"id": ["a", "b"]}), path, names)


def catalogue(n: int = 3) -> pd.DataFrame:
    table = pd.DataFrame({c: np.ones(n) for c in PAPER_COLUMNS})
    return table.assign(id=np.arange(n), detection=np.zeros(n, int))


def test_an_output_catalogue_has_the_paper_columns_unique_ids_and_true_fluxes(tmp_path):
    path = tmp_path / "output_catalog.csv"
    check_output_catalog(catalogue(), path, np.arange(3))
    refused(lambda: check_output_catalog(catalogue().drop(columns="g2_z"), path), path, "g2_z")
    refused(lambda: check_output_catalog(catalogue(0), path), path, "no rows")
    refused(lambda: check_output_catalog(catalogue(), path, np.arange(4)), path, "column id:")
    twice = catalogue().assign(id=[0, 1, 1])
    refused(lambda: check_output_catalog(twice, path), path, "row 2: ids appear twice")
    bad = catalogue().assign(g2_flux=[1.0, 0.0, np.nan])
    refused(lambda: check_output_catalog(bad, path), path, "g2_flux, rows 1, 2: a true flux")
    empty = catalogue().assign(detection=[0, None, 1])
    refused(lambda: check_output_catalog(empty, path), path, "column detection, row 1: empty")


def test_an_output_catalogue_file_cut_short_is_refused(tmp_path):
    path = tmp_path / "output_catalog.csv"
    refused(lambda: read_output_catalog(path), path, "file does not exist")
    catalogue().to_csv(path, index=False)
    assert len(read_output_catalog(path, np.arange(3))) == 3
    path.write_text(path.read_text()[:-5])
    refused(lambda: read_output_catalog(path), path, "row 2) is cut short: no newline")


# ---------------------------------------------------------------------------- stamps


@pytest.fixture
def stamps(tmp_path) -> Path:
    """A stamps file of 3 stamps of 8 x 8 pixels, written by hand."""
    path, n = tmp_path / "stamps.h5", 3
    with h5py.File(path, "w") as h5:
        for name in ("image_raw", "image", "image_true"):
            h5[name] = np.zeros((n, 8, 8), np.float32)
        for name in ("segmap_raw", "mask"):
            h5[name] = np.zeros((n, 8, 8), np.int32)
        write_table(h5.create_group("catalog"), pd.DataFrame({"id": [10, 11, 12]}))
    return path


def check_stamps_file(path: Path) -> int:
    with h5py.File(path, "r") as h5:
        return check_stamps(h5, path)


def test_a_good_stamps_file_passes(stamps):
    assert check_stamps_file(stamps) == 3


@pytest.mark.parametrize(
    "name, data, pattern",
    [
        ("mask", None, "missing HDF5 dataset(s): mask"),
        ("image_true", np.zeros((3, 9, 9), np.float32), "image_true has shape (3, 9, 9)"),
        ("image", np.zeros((3, 8, 8), np.int16), "image is stored as int16"),
        ("segmap_raw", np.zeros((3, 8, 8)), "segmap_raw is stored as float64"),
        ("catalog/id", np.array([10, 11]), "catalog column(s) id do not have the 3 stamps'"),
        ("catalog/id", np.array([10, 12, 12]), "catalog/id: id 12 appears more than once"),
    ],
)
def test_a_bad_stamps_file_is_refused(stamps, name, data, pattern):
    if data is None:
        with h5py.File(stamps, "r+") as h5:
            del h5[name]
    else:
        replace(stamps, name, data)
    refused(lambda: check_stamps_file(stamps), stamps, pattern)
