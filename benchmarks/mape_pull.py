"""How much of a network's magnitude bias is the MAPE loss's pull towards low fluxes?

A network trained on the mean absolute percentage error predicts, for a blend whose flux it
knows to within a log-normal scatter sigma (in ln flux), the value that minimises
E|f - a| / f: the median of the flux distribution weighted by 1/f, exp(-sigma^2) times the
median. Its magnitudes then read faint by 2.5 log10(e) sigma^2 = 1.086 sigma^2 on average: a
bias that grows with the square of the scatter and that no amount of training removes. This
script prints, per catalogue, method and role (and per quartile of the true magnitude), the
bias beside that pull, sigma estimated robustly from the residuals (1.4826 x the median
absolute deviation of ln(f_pred / f_true)), over every blend with both fluxes positive.

It reads output catalogues: the paper's published per-blend table as the workflow turns it
into one (``results/paper_reference/output_catalog.csv``: the paper's own networks, trained
with the MAPE at full scale) and any run's (``results/demo/output_catalog.csv``).

    python benchmarks/mape_pull.py results/paper_reference/output_catalog.csv \
        results/demo/output_catalog.csv [--markdown docs/studies/tables/mape-pull.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

MAG_PER_LN = 2.5 / np.log(10.0)  # 1.0857: magnitudes per unit of ln(flux)
NETWORK_COLUMNS = {"b2f": "blend2flux", "b2m2f": "blend2mask2flux"}


def mape_pull(log_ratio: np.ndarray) -> float:
    """The MAPE's expected pull (magnitudes, > 0: faint) for residuals ``log_ratio`` =
    ln(f_pred / f_true): 1.086 sigma^2, sigma = 1.4826 MAD (robust to outliers)."""
    r = np.asarray(log_ratio, float)
    sigma = 1.4826 * np.median(np.abs(r - np.median(r)))
    return float(MAG_PER_LN * sigma**2)


def pull_rows(catalog: pd.DataFrame, source: str) -> list[dict]:
    """Bias and pull per network column of ``catalog``, role, and quartile of true magnitude
    ('all' first)."""
    rows = []
    for column, label in NETWORK_COLUMNS.items():
        for prefix, role in (("g1", "central"), ("g2", "companion")):
            name = f"{prefix}_flux_{column}"
            if name not in catalog:
                continue
            pred = catalog[name].to_numpy(float)
            true = catalog[f"{prefix}_flux"].to_numpy(float)
            mag = catalog[f"{prefix}_mag"].to_numpy(float)
            ok = (pred > 0) & (true > 0)
            r, mag = np.log(pred[ok] / true[ok]), mag[ok]
            edges = np.quantile(mag, [0.0, 0.25, 0.5, 0.75, 1.0])
            bins = [("all", np.ones(r.shape, bool))] + [
                (f"{lo:.1f}-{hi:.1f}", (mag >= lo) & (mag <= hi))
                for lo, hi in zip(edges[:-1], edges[1:], strict=True)
            ]
            for name_bin, inside in bins:
                rows.append(
                    {
                        "source": source,
                        "method": label,
                        "role": role,
                        "true magnitude": name_bin,
                        "n": int(inside.sum()),
                        "bias": float(-MAG_PER_LN * r[inside].mean()),
                        "MAPE pull 1.086 sigma^2": mape_pull(r[inside]),
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalogs", nargs="+", type=Path, help="output catalogues (CSV)")
    parser.add_argument("--markdown", type=Path, default=None, help="append the table here")
    args = parser.parse_args(argv)
    rows = []
    for path in args.catalogs:
        source = path.parent.name  # results/<dataset>/output_catalog.csv
        rows += pull_rows(pd.read_csv(path), source)
    table = pd.DataFrame(rows).round(4)
    print(table.to_string(index=False))
    if args.markdown:
        from blendphot.docs import write_study_table
        from blendphot.evaluate.tables import markdown_table

        write_study_table(args.markdown, markdown_table(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
