"""The contracts of the files that pass between stages, checked wherever a file is read.

One checker per kind of file; each reader calls it before it uses the file, and a violation
is one :class:`~blendphot.errors.InputError` naming the file, the dataset or column, the rows
and the rule broken:

================  ===================================================  ===========================
file              checker                                              written by
================  ===================================================  ===========================
catalogue (sky)   :func:`blendphot.sky.inputs.check_catalog`           sky / user
stamps            :func:`check_stamps`                                 stamps
blend set         :func:`blendphot.blends.layout.check_blend_file`     blends
model file        :func:`blendphot.models.modelfile.check_model_file`  train_model
predictions       :func:`check_predictions`                            predict, other methods
per-blend CSV     :func:`check_per_blend_csv`                          sep, scarlet, oracle
output catalogue  :func:`check_output_catalog`                         output_catalog
================  ===================================================  ===========================

The predictions layout (one HDF5 file per method and blend set):

- ``id`` (N,): the blend set's ``table/id``, in its order
- ``flux`` (N, K) float: each slot's flux; NaN in absent slots and in skipped rows
- ``flux_err`` (N, K) float, optional: a 1-sigma width of each flux (finite, >= 0 where the
  flux is finite)
- ``masks`` (N, K, S, S), optional: each slot's mask probability
- ``skipped`` (N,) bool, optional: rows the method could not measure (a blend with non-finite
  pixels); their fluxes are NaN, never a number. Absent: no row skipped
- ``found`` (N, K) bool, optional: the galaxies the method found (a detection-based method
  may miss one); a present slot not found holds NaN (it counts as not measured, as sep's
  misses do), a found one a finite flux; an absent slot is never found. Absent: every
  present slot of a measured row found
- attributes: ``model`` (the method's configured name), ``width`` (``model``, ``symmetries``
  or ``none``), ``version`` and ``commit`` (the software's, :mod:`blendphot.version`; files
  written before 0.2.0 have no ``commit``)

At least one of ``flux`` and ``masks``. Readers match a file to a method by its ``model``
attribute, never by its position among the inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from blendphot.errors import InputError, describe_rows
from blendphot.io import open_h5

PREDICTION_ATTRIBUTES = ("model",)
WIDTH_KINDS = ("model", "symmetries", "none")
SKIPPED = "skipped"
FOUND = "found"


def _plain(value):
    """A numpy scalar as the Python value it holds (``12``, not ``np.int64(12)``), for a
    message."""
    return value.item() if isinstance(value, np.generic) else value


def _mismatch(found: np.ndarray, expected: np.ndarray) -> str:
    """How two id columns differ, for a message."""
    if len(found) != len(expected):
        return f"{len(found)} rows, the blend set has {len(expected)}"
    rows = np.flatnonzero(found != expected)
    return f"ids differ from the blend set's in {describe_rows(rows)} (row {rows[0]}: " + (
        f"{_plain(found[rows[0]])!r} against {_plain(expected[rows[0]])!r})"
    )


def check_predictions(
    h5: h5py.File,
    path: str | Path,
    ids: np.ndarray | None = None,
    model: str | None = None,
    present: np.ndarray | None = None,
    need: Sequence[str] = (),
) -> int:
    """Check an open predictions file against the layout; return N or raise InputError.

    ``ids``: the blend set's ids, which the file's must equal (same order); ``model``: the
    name the file must carry; ``present`` (N, K): the blend set's present slots (the file's K
    must be K, absent slots NaN, present ones finite unless the row is skipped); ``need``:
    datasets the reader needs (``flux``, ``masks``)."""
    if "id" not in h5:
        raise InputError(path, "predictions file lacks dataset id")
    found = h5["id"][()]
    n = len(found)
    name = h5.attrs.get("model")
    if name is None:
        raise InputError(path, "predictions file lacks attribute model (the method's name)")
    name = name.decode() if isinstance(name, bytes) else str(name)
    if model is not None and name != model:
        raise InputError(path, f"holds predictions of model '{name}', expected '{model}'")
    if ids is not None and (len(found) != len(ids) or not np.array_equal(found, ids)):
        raise InputError(path, f"dataset id: {_mismatch(found, np.asarray(ids))}")
    if "flux" not in h5 and "masks" not in h5:
        raise InputError(path, f"predictions of {name} hold neither flux nor masks")
    for dataset in need:
        if dataset not in h5:
            raise InputError(path, f"predictions of {name} hold no {dataset}")
    width = h5.attrs.get("width", "none")
    width = width.decode() if isinstance(width, bytes) else str(width)
    if width not in WIDTH_KINDS:
        raise InputError(path, f"attribute width '{width}' is not one of {', '.join(WIDTH_KINDS)}")
    skipped = np.zeros(n, dtype=bool)
    if SKIPPED in h5:
        if h5[SKIPPED].shape != (n,):
            raise InputError(
                path, f"dataset {SKIPPED} has shape {h5[SKIPPED].shape}, expected ({n},)"
            )
        skipped = h5[SKIPPED][()].astype(bool)
    k = None if present is None else present.shape[1]
    if "flux" in h5:
        flux = _slot_values(h5, path, "flux", n, k)
        k = flux.shape[1]
        found = _found(h5, path, n, k)
        if found is not None:
            _check_found(path, flux, found, present)
        if present is not None:
            _check_slots(path, "flux", flux, present if found is None else found, skipped)
        if "flux_err" in h5:
            err = _slot_values(h5, path, "flux_err", n, k)
            with np.errstate(invalid="ignore"):
                bad = np.isfinite(flux) & ~(np.isfinite(err) & (err >= 0))
            if bad.any():
                rows = np.flatnonzero(bad.any(axis=1))
                raise InputError(
                    path,
                    f"dataset flux_err, {describe_rows(rows)}: a width must be finite and >= 0 "
                    "where the flux is finite",
                )
    if "masks" in h5:
        shape = h5["masks"].shape
        if len(shape) != 4 or shape[0] != n or (k is not None and shape[1] != k):
            expected = f"({n}, {k if k is not None else 'K'}, S, S)"
            raise InputError(path, f"dataset masks has shape {shape}, expected {expected}")
    return n


def _slot_values(h5: h5py.File, path: str | Path, name: str, n: int, k: int | None) -> np.ndarray:
    """A float (N, K) dataset of a predictions file, its shape and dtype checked."""
    data = h5[name]
    if data.dtype.kind != "f":
        raise InputError(path, f"dataset {name} is stored as {data.dtype}, expected floating point")
    if data.ndim != 2 or data.shape[0] != n or (k is not None and data.shape[1] != k):
        expected = f"({n}, {k if k is not None else 'K'})"
        raise InputError(path, f"dataset {name} has shape {data.shape}, expected {expected}")
    return data[()]


def _found(h5: h5py.File, path: str | Path, n: int, k: int) -> np.ndarray | None:
    """The ``found`` dataset (N, K) as booleans, its shape checked; None where absent."""
    if FOUND not in h5:
        return None
    if h5[FOUND].shape != (n, k):
        raise InputError(path, f"dataset {FOUND} has shape {h5[FOUND].shape}, expected ({n}, {k})")
    return h5[FOUND][()].astype(bool)


def _check_found(
    path: str | Path, flux: np.ndarray, found: np.ndarray, present: np.ndarray | None
) -> None:
    """Found slots hold a finite flux, slots not found NaN, absent slots are never found."""
    rows = np.flatnonzero((found != np.isfinite(flux)).any(axis=1))
    if rows.size:
        rule = "a found slot must hold a finite flux and a slot not found NaN"
        raise InputError(path, f"dataset {FOUND}, {describe_rows(rows)}: {rule}")
    rows = np.flatnonzero((found & ~present).any(axis=1)) if present is not None else []
    if len(rows):
        raise InputError(path, f"dataset {FOUND}, {describe_rows(rows)}: an absent slot is found")


def _check_slots(
    path: str | Path, name: str, values: np.ndarray, present: np.ndarray, skipped: np.ndarray
) -> None:
    """Absent slots NaN; present slots finite unless the row is skipped; skipped rows NaN."""
    finite = np.isfinite(values)
    rows = np.flatnonzero((finite & ~present).any(axis=1))
    if rows.size:
        raise InputError(
            path, f"dataset {name}, {describe_rows(rows)}: a value in an absent slot (must be NaN)"
        )
    rows = np.flatnonzero((~finite & present).any(axis=1) & ~skipped)
    if rows.size:
        raise InputError(
            path,
            f"dataset {name}, {describe_rows(rows)}: not finite in a present slot of a row not "
            f"marked in dataset {SKIPPED}",
        )
    rows = np.flatnonzero(finite.any(axis=1) & skipped)
    if rows.size:
        raise InputError(
            path, f"dataset {name}, {describe_rows(rows)}: skipped rows must hold NaN, not numbers"
        )


def read_prediction_file(
    path: str | Path,
    ids: np.ndarray | None = None,
    model: str | None = None,
    present: np.ndarray | None = None,
    need: Sequence[str] = (),
) -> dict[str, np.ndarray | str | None]:
    """A predictions file, checked (:func:`check_predictions`): ``id``, ``flux``,
    ``flux_err`` (None where absent), ``skipped`` (N,), ``found`` (N, K; None where absent)
    and the ``model`` name."""
    with open_h5(path) as h5:
        check_predictions(h5, path, ids, model, present, need)
        n = len(h5["id"])
        name = h5.attrs["model"]
        return {
            "model": name.decode() if isinstance(name, bytes) else str(name),
            "id": h5["id"][()],
            "flux": h5["flux"][()] if "flux" in h5 else None,
            "flux_err": h5["flux_err"][()] if "flux_err" in h5 else None,
            SKIPPED: h5[SKIPPED][()].astype(bool) if SKIPPED in h5 else np.zeros(n, dtype=bool),
            FOUND: h5[FOUND][()].astype(bool) if FOUND in h5 else None,
        }


def write_prediction_file(
    path: str | Path,
    ids: np.ndarray,
    model: str,
    flux: np.ndarray | None = None,
    flux_err: np.ndarray | None = None,
    masks: np.ndarray | None = None,
    skipped: np.ndarray | None = None,
    width: str | None = None,
    found: np.ndarray | None = None,
) -> None:
    """Write a predictions file in the layout (atomically), from whole arrays: what a
    method of one's own writes for the workflow to evaluate it like a network. ``width``
    defaults to ``model`` with ``flux_err``, else ``none``. The file is checked on the way
    out, so that a writer never hands on a file its readers refuse."""
    from blendphot.io import atomic_path
    from blendphot.version import software_version

    n = len(ids)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("id", data=np.asarray(ids), track_times=False)
            h5.create_dataset(
                SKIPPED,
                data=np.zeros(n, bool) if skipped is None else np.asarray(skipped, bool),
                track_times=False,
            )
            for name, values in (("flux", flux), ("flux_err", flux_err)):
                if values is not None:
                    h5.create_dataset(name, data=np.asarray(values, np.float64), track_times=False)
            if found is not None:
                h5.create_dataset(FOUND, data=np.asarray(found, bool), track_times=False)
            if masks is not None:
                h5.create_dataset("masks", data=np.asarray(masks, np.float16), track_times=False)
            h5.attrs.update(
                {
                    "model": model,
                    **software_version(),  # version and commit
                    "width": width or ("model" if flux_err is not None else "none"),
                }
            )
        with h5py.File(tmp, "r") as h5:
            check_predictions(h5, path)


def prediction_model(path: str | Path) -> str:
    """The ``model`` attribute of a predictions file (InputError when unreadable or absent)."""
    with open_h5(path) as h5:
        name = h5.attrs.get("model")
    if name is None:
        raise InputError(path, "predictions file lacks attribute model (the method's name)")
    return name.decode() if isinstance(name, bytes) else str(name)


def match_predictions(paths: Sequence[str | Path], names: Sequence[str]) -> dict[str, Path]:
    """Each expected method's predictions file, found by the file's ``model`` attribute, never
    by position: InputError for a file of no expected method, two files of one method, or a
    method without a file."""
    found: dict[str, Path] = {}
    for path in map(Path, paths):
        name = prediction_model(path)
        if name not in names:
            raise InputError(
                path, f"predictions of model '{name}', not one of {', '.join(names) or 'none'}"
            )
        if name in found:
            raise InputError(path, f"a second predictions file of model '{name}' ({found[name]})")
        found[name] = path
    missing = [name for name in names if name not in found]
    if missing:
        raise InputError(None, f"no predictions file of model(s) {', '.join(missing)}")
    return {name: found[name] for name in names}


def check_per_blend_csv(
    table: pd.DataFrame,
    path: str | Path,
    ids: np.ndarray,
    columns: Sequence[str] = (),
    numeric: Sequence[str] = (),
) -> None:
    """A per-blend CSV (sep.csv, scarlet.csv, oracle.csv) against its blend set: an ``id``
    column equal to the set's ids (same rows, same order), the ``columns`` present and the
    ``numeric`` ones numbers (NaN allowed: a method may not measure a galaxy)."""
    if "id" not in table.columns:
        raise InputError(path, "missing column id")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}")
    found = table["id"].to_numpy()
    expected = np.asarray(ids)
    if found.dtype.kind != expected.dtype.kind and expected.dtype.kind in "SUO":
        found = found.astype(str)
        expected = expected.astype(str)
    if len(found) != len(expected) or not np.array_equal(found, expected):
        raise InputError(path, f"column id: {_mismatch(found, expected)}")
    for column in numeric:
        if not pd.api.types.is_numeric_dtype(table[column]):
            values = pd.to_numeric(table[column], errors="coerce")
            rows = np.flatnonzero(values.isna() & table[column].notna())
            raise InputError(
                path,
                f"column {column}, {describe_rows(rows)}: not a number "
                f"({table[column].iloc[rows[0]]!r})",
            )


CATALOG_TRUTH = ("g1_flux", "g2_flux")
"""Truth columns of an output catalogue that must be finite and positive in every row."""


def check_output_catalog(
    catalog: pd.DataFrame, path: str | Path, ids: np.ndarray | None = None
) -> None:
    """An output catalogue: the paper's columns, unique ids (equal to the blend set's, when
    given: no row lost or added), every row's true fluxes finite and positive, a detection
    class in every row."""
    from blendphot.evaluate.catalog import PAPER_COLUMNS

    missing = [c for c in PAPER_COLUMNS if c not in catalog.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}")
    if len(catalog) == 0:
        raise InputError(path, "no rows")
    if ids is not None:
        found = catalog["id"].to_numpy()
        if len(found) != len(ids) or not np.array_equal(found, np.asarray(ids)):
            raise InputError(path, f"column id: {_mismatch(found, np.asarray(ids))}")
    duplicated = np.flatnonzero(catalog["id"].duplicated().to_numpy())
    if duplicated.size:
        raise InputError(path, f"column id, {describe_rows(duplicated)}: ids appear twice")
    for column in CATALOG_TRUTH:
        values = pd.to_numeric(catalog[column], errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
        if bad.size:
            raise InputError(
                path,
                f"column {column}, {describe_rows(bad)}: a true flux must be finite and positive",
            )
    if "detection" in catalog.columns and catalog["detection"].isna().any():
        rows = np.flatnonzero(catalog["detection"].isna().to_numpy())
        raise InputError(path, f"column detection, {describe_rows(rows)}: empty")


def read_output_catalog(path: str | Path, ids: np.ndarray | None = None) -> pd.DataFrame:
    """An output catalogue, read and checked (:func:`check_output_catalog`)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file does not exist")
    try:
        catalog = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file
        raise InputError(path, f"cannot read CSV ({exc})") from exc
    if not ends_with_newline(path):
        raise InputError(path, f"the last line (row {len(catalog) - 1}) is cut short: no newline")
    check_output_catalog(catalog, path, ids)
    return catalog


def ends_with_newline(path: str | Path) -> bool:
    """Whether a text file ends with a newline (every CSV written here does; a file cut
    short mid-line does not)."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return False
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


def blend_set_ids(path: str | Path) -> np.ndarray:
    """The ids of a blend set (checked), for the readers that compare another file's rows."""
    from blendphot.blends import open_blend_set

    with open_blend_set(path) as h5:
        return h5["table/id"][()]


def check_stamps(h5: h5py.File, path: str | Path) -> int:
    """A stamps file: its datasets of N stamps of one size, images floating point, masks
    integer, the catalogue of N rows with unique ids; return N."""
    from blendphot.stamps.layout import STAMPS_DATASETS, TRUTH_DATASET

    missing = [name for name in STAMPS_DATASETS if name not in h5]
    if missing:
        raise InputError(path, f"missing HDF5 dataset(s): {', '.join(missing)}")
    n, size = h5["image"].shape[0], h5["image"].shape[-1]
    for name in ("image_raw", "segmap_raw", "image", "mask", TRUTH_DATASET):
        if name not in h5:
            continue
        if h5[name].shape != (n, size, size):
            raise InputError(
                path, f"dataset {name} has shape {h5[name].shape}, expected ({n}, {size}, {size})"
            )
        kind = h5[name].dtype.kind
        floating = name in ("image_raw", "image", TRUTH_DATASET)
        if floating and kind != "f":
            raise InputError(
                path, f"dataset {name} is stored as {h5[name].dtype}, expected floating point"
            )
        if not floating and kind not in "uib":
            raise InputError(
                path, f"dataset {name} is stored as {h5[name].dtype}, expected integers"
            )
    group = h5["catalog"]
    short = [c for c in group if group[c].shape[:1] != (n,)]
    if short:
        raise InputError(
            path, f"catalog column(s) {', '.join(short)} do not have the {n} stamps' rows"
        )
    if "id" in group:
        ids = group["id"][()]
        unique, seen = np.unique(ids, return_counts=True)
        if (seen > 1).any():
            raise InputError(
                path, f"catalog/id: id {_plain(unique[seen > 1][0])!r} appears more than once"
            )
    return n
