"""output_catalog.csv: the paper's per-blend schema plus one column pair per extra method."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.blends import galaxy_counts, open_blend_set, slot_count
from blendphot.blends.layout import nonfinite_rows, present_slots, slot_names
from blendphot.contracts import check_per_blend_csv, read_prediction_file
from blendphot.errors import InputError
from blendphot.evaluate.metrics import SKIPPED_COLUMN, magnitudes
from blendphot.evaluate.uncertainty import RAW, calibrated_columns, is_uncertainty_column
from blendphot.io import read_csv_checked, read_table, write_csv

log = logging.getLogger(__name__)

PAPER_COLUMNS = (
    "id",
    "distance",
    "g1_id",
    "g1_mag",
    "g1_rad",
    "g1_z",
    "g1_type",
    "g2_id",
    "g2_mag",
    "g2_rad",
    "g2_z",
    "g2_type",
    "g1_flux",
    "g2_flux",
    "g1_flux_b2f",
    "g2_flux_b2f",
    "g1_flux_sex",
    "g2_flux_sex",
    "g1_flux_b2m2f",
    "g2_flux_b2m2f",
    "detection",
    "g1_sex_mag",
    "g2_sex_mag",
)
"""Columns of the paper's published output_catalog.csv, in its order."""


@dataclass(frozen=True)
class Method:
    """A photometry method as it appears in the catalogue: label, column suffix, zero point."""

    label: str
    column: str
    zeropoint: float
    detection_based: bool = False


PAPER_LABELS = {"b2f": "blend2flux", "b2m2f": "blend2mask2flux", "sex": "sep"}
"""Method labels of the paper's column suffixes."""
SEP_PREFIXES = ("sex", "kron", "iso_sex", "iso_kron")
"""Column suffixes of sep-based methods: magnitudes with the sep zero point."""


def methods_in(
    catalog: pd.DataFrame, labels: dict[str, str], zeropoint: float, sep_zeropoint: float
) -> list[Method]:
    """Every method with a filled g1_flux_<col>/g2_flux_<col> pair in ``catalog``.

    ``labels`` names columns (model column -> model name); paper columns keep the paper's
    names. Sep-based columns take ``sep_zeropoint`` and are selected by detection class.
    """
    methods = []
    for name in catalog.columns:
        if not name.startswith("g1_flux_") or is_uncertainty_column(name):
            continue
        col = name[len("g1_flux_") :]
        pair = (
            catalog[[f"g1_flux_{col}", f"g2_flux_{col}"]] if f"g2_flux_{col}" in catalog else None
        )
        if pair is None or not pair.notna().to_numpy().any():
            continue
        is_sep = col.startswith(SEP_PREFIXES)
        label = labels.get(col, PAPER_LABELS.get(col, col))
        methods.append(Method(label, col, sep_zeropoint if is_sep else zeropoint, is_sep))
    # networks first, then the sep-based methods, then the oracle (the paper's column order)
    return sorted(methods, key=lambda m: (m.detection_based, m.column == "oracle"))


BASELINE_COLUMNS = {
    "sex" + RAW: "flux_{}_err",
    "kron": "kron_{}",
    "kron" + RAW: "kron_{}_err",
    "iso_sex": "iso_{}",
    "iso_kron": "iso_kron_{}",
}
"""Catalogue suffix <- sep.csv column pattern ({} the slot's name, as
:func:`blendphot.blends.layout.slot_names` gives it) of the baseline's methods beyond the
paper's, and of the raw (pre-calibration) errors of its fluxes."""
FITTED_BASELINES = ("scarlet",)
"""Model-fitting baselines: catalogue suffix = input name, a per-blend CSV with
flux_central, flux_companion and their errors err_central, err_companion
(baseline/<name>.csv)."""
SLOT_FIELDS = ("id", "mag", "rad", "z", "type", "distance", "flux")
"""Truth columns of the slots beyond the pair (g3_id, g3_mag, ...), after the paper's."""
SEP_FOUND = {"found": "sep_found", "n_spurious": "sep_spurious"}
"""sep.csv columns of a set of more than two galaxies -> catalogue columns."""


def skip_nonfinite(catalog: pd.DataFrame, skipped: np.ndarray, source: Path) -> None:
    """Every method's fluxes and errors NaN in the ``skipped`` rows (blends with non-finite
    pixels: no method measures them), logging per method how many numbers were dropped."""
    if not skipped.any():
        return
    dropped: dict[str, int] = {}
    for name in [c for c in catalog.columns if c.startswith("g") and "_flux_" in c]:
        suffix = name.split("_flux_", 1)[1]
        numbers = int(np.isfinite(catalog[name].to_numpy(dtype=float)[skipped]).sum())
        dropped[suffix] = dropped.get(suffix, 0) + numbers
        catalog.loc[skipped, name] = np.nan
    log.warning(
        "%s: %d blends with non-finite pixels skipped by every method (NaN fluxes, counted as "
        "n_skipped in the metrics); numbers dropped per column suffix: %s",
        source,
        int(skipped.sum()),
        {k: v for k, v in dropped.items() if v},
    )


def _per_blend_csv(path: Path, ids: np.ndarray, patterns: tuple[str, ...], n_slots: int):
    """A per-blend CSV (sep, scarlet, the oracle), read and checked against the blend set
    (:func:`blendphot.contracts.check_per_blend_csv`): its ids, and each ``patterns`` column
    (formatted with the slot names) present and numeric."""
    table = read_csv_checked(path, ("id",))
    names = [p.format(slot) for p in patterns for slot in slot_names(n_slots)]
    check_per_blend_csv(table, path, ids, names, names)
    return table


def _slots(table: pd.DataFrame, path: Path, pattern: str, n_slots: int) -> np.ndarray:
    """Per-slot columns (N, K) of a per-blend table read from ``path``, ``pattern`` formatted
    with each slot's name (:func:`blendphot.blends.layout.slot_names`)."""
    names = [pattern.format(slot) for slot in slot_names(n_slots)]
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}")
    return table[names].to_numpy(dtype=float)


def _put_slots(catalog: pd.DataFrame, suffix: str, values: np.ndarray) -> None:
    """g1_flux_<suffix>, g2_flux_<suffix>, ... from an (N, K) array."""
    for k in range(values.shape[1]):
        catalog[f"g{k + 1}_flux_{suffix}"] = values[:, k]


def build_output_catalog(
    test_path: Path,
    predictions: dict[str, Path],
    model_columns: dict[str, str],
    baseline_path: Path,
    sep_zeropoint: float,
    out_path: Path,
    oracle_path: Path | None = None,
    fitted: dict[str, Path] | None = None,
    calibration: dict | None = None,
) -> pd.DataFrame:
    """Join the test table, the flux models' predictions, the sep baseline (isophotal as in
    the paper, plus Kron and the isolated references), the model-fitting baselines
    (``fitted``: catalogue suffix -> per-blend CSV) and the oracle into one CSV.

    The paper's columns come first; blends of more than two galaxies add ``n_galaxies`` and
    the truth of slots 3..K (g3_id, g3_mag, ...; NaN where a blend has fewer galaxies), and
    every method a g<k>_flux_<col> column per slot, in the layout's slot order (the central,
    then the companions brightest first).

    Each method's own 1-sigma errors, where it gives them, become ``g1_flux_<col>_err_raw``
    (and g2...); with a ``calibration`` (:func:`blendphot.evaluate.uncertainty.fit_calibration`)
    every method it holds gets its calibrated ``_err``, ``_p16`` and ``_p84`` columns."""
    with open_blend_set(test_path) as h5:
        table = read_table(h5["table"])
        n_slots = slot_count(h5)
        counts = galaxy_counts(h5)
        skipped = np.zeros(len(table), dtype=bool)
        skipped[nonfinite_rows(h5)] = True
    ids = table["id"].to_numpy()
    catalog = pd.DataFrame(index=table.index)
    for col in PAPER_COLUMNS:
        catalog[col] = table[col] if col in table.columns else np.nan
    if n_slots > 2:
        catalog["n_galaxies"] = counts
        for k in range(2, n_slots):
            for field in SLOT_FIELDS:
                catalog[f"g{k + 1}_{field}"] = table[f"g{k + 1}_{field}"]
    present = present_slots(counts, n_slots)
    for name, path in predictions.items():
        pred = read_prediction_file(path, ids, name, present, need=("flux",))
        col = model_columns[name]
        _put_slots(catalog, col, pred["flux"])
        if pred["flux_err"] is not None:
            _put_slots(catalog, col + RAW, pred["flux_err"])
    sep = _per_blend_csv(baseline_path, ids, ("flux_{}",), n_slots)
    _put_slots(catalog, "sex", _slots(sep, baseline_path, "flux_{}", n_slots))
    catalog["detection"] = sep["detection"].to_numpy()
    for column, name in SEP_FOUND.items():
        if column in sep.columns:  # which members sep found, in sets of more galaxies
            catalog[name] = sep[column].to_numpy()
    if "separation" in sep.columns:  # an observable of the overlap (uncertainty groups)
        catalog["sep_separation"] = sep["separation"].to_numpy(float)
    catalog["g1_sex_mag"] = magnitudes(catalog["g1_flux_sex"].to_numpy(), sep_zeropoint)
    catalog["g2_sex_mag"] = magnitudes(catalog["g2_flux_sex"].to_numpy(), sep_zeropoint)
    for suffix, pattern in BASELINE_COLUMNS.items():
        if pattern.format("central") in sep.columns:
            _put_slots(catalog, suffix, _slots(sep, baseline_path, pattern, n_slots))
    for suffix, path in (fitted or {}).items():  # pairs only (scarlet)
        fit = _per_blend_csv(path, ids, ("flux_{}", "err_{}"), 2)
        _put_slots(catalog, suffix, _slots(fit, path, "flux_{}", 2))
        _put_slots(catalog, suffix + RAW, _slots(fit, path, "err_{}", 2))
    if oracle_path is not None:
        oracle = _per_blend_csv(oracle_path, ids, ("flux_{}", "flux_{}_err"), n_slots)
        _put_slots(catalog, "oracle", _slots(oracle, oracle_path, "flux_{}", n_slots))
        _put_slots(catalog, "oracle" + RAW, _slots(oracle, oracle_path, "flux_{}_err", n_slots))
    catalog[SKIPPED_COLUMN] = skipped.astype(np.int64)
    skip_nonfinite(catalog, skipped, test_path)
    for col, fit in (calibration or {}).items():
        if f"g1_flux_{col}" not in catalog:
            raise InputError(out_path, f"calibration of method {col} but no such column")
        for name, values in calibrated_columns(catalog, col, fit).items():
            catalog[name] = values
    write_csv(catalog, out_path)
    return catalog
