"""output_catalog.csv: the paper's per-blend schema plus one column pair per extra method."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.blends import open_blend_set
from blendphot.errors import InputError
from blendphot.evaluate.metrics import magnitudes
from blendphot.io import read_table, write_csv
from blendphot.models.predict import read_predictions

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


def methods_for(
    catalog: pd.DataFrame, model_columns: dict[str, str], zeropoint: float, sep_zeropoint: float
) -> list[Method]:
    """The methods whose flux columns are filled in ``catalog`` (models first, then sep)."""
    methods = [
        Method(label, col, zeropoint)
        for label, col in model_columns.items()
        if catalog[f"g1_flux_{col}"].notna().any()
    ]
    if catalog["g1_flux_sex"].notna().any() or catalog["g2_flux_sex"].notna().any():
        methods.append(Method("sep", "sex", sep_zeropoint, detection_based=True))
    return methods


def build_output_catalog(
    test_path: Path,
    predictions: dict[str, Path],
    model_columns: dict[str, str],
    baseline_path: Path,
    sep_zeropoint: float,
    out_path: Path,
) -> pd.DataFrame:
    """Join the test table, each model's predictions and the sep baseline into one CSV."""
    with open_blend_set(test_path) as h5:
        table = read_table(h5["table"])
    catalog = pd.DataFrame(index=table.index)
    for col in PAPER_COLUMNS:
        catalog[col] = table[col] if col in table.columns else np.nan
    for name, path in predictions.items():
        ids, flux = read_predictions(path)
        if not np.array_equal(ids, table["id"].to_numpy()):
            raise InputError(path, f"predictions of {name} do not match the test set's ids")
        col = model_columns[name]
        catalog[f"g1_flux_{col}"] = flux[:, 0]
        catalog[f"g2_flux_{col}"] = flux[:, 1]
    sep = pd.read_csv(baseline_path)
    if not np.array_equal(sep["id"].to_numpy(), table["id"].to_numpy()):
        raise InputError(baseline_path, "baseline rows do not match the test set's ids")
    catalog["g1_flux_sex"] = sep["flux_central"].to_numpy()
    catalog["g2_flux_sex"] = sep["flux_companion"].to_numpy()
    catalog["detection"] = sep["detection"].to_numpy()
    catalog["g1_sex_mag"] = magnitudes(catalog["g1_flux_sex"].to_numpy(), sep_zeropoint)
    catalog["g2_sex_mag"] = magnitudes(catalog["g2_flux_sex"].to_numpy(), sep_zeropoint)
    write_csv(catalog, out_path)
    return catalog
