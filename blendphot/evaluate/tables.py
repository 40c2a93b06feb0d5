"""The paper's tables from the workflow's outputs, as CSV and Markdown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.io import atomic_path, write_csv


def flux_mape(flux_pred: np.ndarray, flux_true: np.ndarray) -> float:
    """Mean absolute percentage error on fluxes (paper equation 1), over finite entries."""
    pred, true = np.asarray(flux_pred, float), np.asarray(flux_true, float)
    ok = np.isfinite(pred) & np.isfinite(true) & (true != 0)
    return float(100.0 * np.mean(np.abs((true[ok] - pred[ok]) / true[ok])))


def table2(catalog: pd.DataFrame, models: dict[str, dict]) -> pd.DataFrame:
    """Table 2: parameters and flux errors (MAPE, per cent) on the whole test set per model.

    ``models`` maps a model name to {column, architecture, params, parameters}. The total
    pools every galaxy: the central and the companion of a pair, every member of larger blends
    (whose companions beyond the first are not in the companion column).
    """
    from blendphot.evaluate.metrics import catalog_roles

    prefixes = list(catalog_roles(catalog).values())
    rows = []
    for name, info in models.items():
        col = info["column"]
        central = flux_mape(catalog[f"g1_flux_{col}"], catalog["g1_flux"])
        companion = flux_mape(catalog[f"g2_flux_{col}"], catalog["g2_flux"])
        both = flux_mape(
            np.concatenate([catalog[f"{g}_flux_{col}"] for g in prefixes]),
            np.concatenate([catalog[f"{g}_flux"] for g in prefixes]),
        )
        rows.append(
            {
                "model": name,
                "architecture": info["architecture"],
                "initial_filters": info["params"].get("filters", ""),
                "parameters_millions": round(info["parameters"] / 1e6, 2) or "",
                "flux_error_central_pct": round(central, 2),
                "flux_error_companion_pct": round(companion, 2),
                "flux_error_total_pct": round(both, 2),
            }
        )
    return pd.DataFrame(rows)


def _cell(value) -> str:
    """A table cell: floats in the shortest exact-enough form (64.0 -> 64, 1e-4 -> 0.0001)."""
    if isinstance(value, float):
        return (
            ""
            if np.isnan(value)
            else f"{value:.6g}"
            if abs(value) >= 1e-4 or value == 0
            else f"{value:.3g}"
        )
    return str(value)


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of a DataFrame."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(map(_cell, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def write_table_files(table: pd.DataFrame, csv_path: Path, md_path: Path, title: str) -> None:
    """Write a table as CSV and as Markdown (with a title line), atomically."""
    write_csv(table, csv_path)
    with atomic_path(md_path) as tmp:
        tmp.write_text(f"{title}\n\n{markdown_table(table)}")
