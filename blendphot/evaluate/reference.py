"""The paper's own per-blend results table as a dataset of its own, and the side-by-side
summary of the paper's numbers and this project's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.errors import InputError
from blendphot.evaluate.catalog import PAPER_COLUMNS
from blendphot.io import read_csv_checked, write_csv


def load_reference_catalog(path: str | Path) -> pd.DataFrame:
    """Read the published output_catalog.csv and check it has the paper's schema."""
    table = read_csv_checked(
        path,
        PAPER_COLUMNS,
        "the paper's per-blend table is not there (the package ships it in blendphot/data; "
        "evaluate.paper_reference.catalog points elsewhere)",
    )
    bad = ~np.isfinite(table[["g1_flux", "g2_flux", "g1_mag", "g2_mag"]].to_numpy(float))
    if bad.any():
        raise InputError(path, f"{int(bad.any(axis=1).sum())} rows with non-finite truth")
    return table[list(PAPER_COLUMNS)]


def write_reference_catalog(source: Path, out_path: Path) -> int:
    """Validated copy of the published table as the paper_reference output catalogue."""
    table = load_reference_catalog(source)
    write_csv(table, out_path)
    return len(table)


def summary_table(metrics: dict[str, pd.DataFrame], selection: str = "figure5") -> pd.DataFrame:
    """Side by side: one row per (source, method, role) of ``selection``, sources in order."""
    parts = []
    for source, table in metrics.items():
        part = table[(table["selection"] == selection) & (table["role"] != "both")].copy()
        part.insert(0, "source", source)
        parts.append(part)
    columns = [
        "source",
        "method",
        "role",
        "n",
        "bias",
        "sigma_mag",
        "outlier_fraction",
        "mape_flux",
        "mape_mag",
    ]
    out = pd.concat(parts, ignore_index=True)[columns]
    return out.round({c: 4 for c in columns[4:]})
