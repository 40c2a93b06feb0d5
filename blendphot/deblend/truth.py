"""The deblended catalogue of a drawn field measured against its truth, per group size, beside
sep's photometry of the same objects and beside the artificial test blends.

The objects scored are the blended ones a network measured (a slot of a group of two or
more, no non-finite pixels). ``own domain`` keeps those with no flag of their own against the
training domain (magnitude, size, contrast with the central, distance from it, a stamp off the
mosaic); ``in domain`` also drops those of a group with such a member or larger than the
networks' K. Per method and group size: n, the flux MAPE (per cent), the bias (mean magnitude
error) and the 68% coverage (the true flux within the calibrated [p16, p84]); sep and Kron are
scored on the objects they found (``found``: the share they did), and ``vs sep`` is sep's MAPE
over the network's on the objects both measured. The artificial test blends (the run's output
catalogue) are scored alike, both roles pooled, so that ``natural / artificial`` is the ratio
of the two MAPEs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.deblend.catalog import (
    DOMAIN_FLAGS,
    FLAGS,
    OWN_DOMAIN,
    SEP_METHODS,
    flag_mask,
    read_catalog_table,
)
from blendphot.io import atomic_path, write_csv

OWN_FLAGS = (*OWN_DOMAIN, "near_edge")
"""Flags that put an object itself, or its stamp, outside what the networks learnt."""
SELECTIONS = ("all", "own domain", "in domain")


def scored_objects(deblended: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The blended objects a network took, with their true flux (``flux_true``),
    ``own_domain`` (no flag of its own against the training domain) and ``in_domain`` (nor of
    its group's)."""
    true = truth.set_index("id")["flux"]
    table = deblended[(deblended["group_size"] > 1) & (deblended["slot"] > 0)].copy()
    nonfinite = FLAGS["nonfinite"][0]
    table = table[(table["flags"] & nonfinite) == 0]
    table["flux_true"] = true.reindex(table["id"]).to_numpy(float)
    table["own_domain"] = (table["flags"] & flag_mask(OWN_FLAGS)) == 0
    table["in_domain"] = (table["flags"] & flag_mask(DOMAIN_FLAGS)) == 0
    return table.reset_index(drop=True)


def flux_scores(flux, true, p16=None, p84=None) -> dict[str, float]:
    """n, MAPE (per cent), bias (mean of m_measured - m_true) and 68% coverage (per cent) of
    the finite positive fluxes (the coverage over those with an interval; NaN if none has)."""
    flux, true = np.asarray(flux, float), np.asarray(true, float)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(flux) & (flux > 0) & np.isfinite(true) & (true > 0)
    if not ok.any():
        return {"n": 0, "mape": np.nan, "bias": np.nan, "coverage": np.nan}
    f, t = flux[ok], true[ok]
    out = {
        "n": int(ok.sum()),
        "mape": float(100 * np.mean(np.abs(f - t) / t)),
        "bias": float(np.mean(-2.5 * np.log10(f / t))),
        "coverage": np.nan,
    }
    if p16 is not None and p84 is not None:
        lo, hi = np.asarray(p16, float)[ok], np.asarray(p84, float)[ok]
        given = np.isfinite(lo) & np.isfinite(hi)  # a method without widths has none
        if given.any():
            covered = (t >= lo) & (t <= hi)
            out["coverage"] = float(100 * covered[given].mean())
    return out


def size_label(size: int) -> str:
    """The group-size bin of a group: 2, 3, 4+."""
    return str(size) if size < 4 else "4+"


def natural_table(scored: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Scores per (selection, group size, method) of the blended objects of the field; sep's
    ``vs sep`` ratio per network on the objects both measured."""
    rows = []
    parts = {
        "all": scored,
        "own domain": scored[scored["own_domain"]],
        "in domain": scored[scored["in_domain"]],
    }
    for selection, part in parts.items():
        sizes = part["group_size"].map(size_label)
        for size in ("all", *sorted(pd.unique(sizes))):
            sub = part if size == "all" else part[sizes == size]
            for method in methods:
                scores = flux_scores(
                    sub[f"flux_{method}"], sub["flux_true"],
                    sub[f"flux_{method}_p16"], sub[f"flux_{method}_p84"],
                )  # fmt: skip
                row = {"selection": selection, "group_size": size, "method": method, **scores}
                row["found"] = (
                    float(100 * np.isfinite(sub[f"flux_{method}"]).mean()) if len(sub) else np.nan
                )
                if method not in SEP_METHODS:
                    both = np.isfinite(sub[f"flux_{method}"]) & np.isfinite(sub["flux_sep"])
                    mine = flux_scores(sub.loc[both, f"flux_{method}"], sub.loc[both, "flux_true"])
                    seps = flux_scores(sub.loc[both, "flux_sep"], sub.loc[both, "flux_true"])
                    row["vs_sep"] = seps["mape"] / mine["mape"] if mine["n"] else np.nan
                rows.append(row)
    return pd.DataFrame(rows)


def artificial_table(catalog: pd.DataFrame, methods: dict[str, str]) -> pd.DataFrame:
    """Scores of the artificial test blends (every role pooled) per method; ``methods`` maps
    the deblended catalogue's name to the test catalogue's column."""
    roles = [c[: -len("_flux")] for c in catalog.columns if c.endswith("_flux") and c[0] == "g"]
    rows = []
    for name, column in methods.items():
        parts = {k: [] for k in ("flux", "true", "p16", "p84")}  # flux_scores' arguments
        for g in roles:
            if f"{g}_flux_{column}" not in catalog:
                continue
            parts["flux"].append(catalog[f"{g}_flux_{column}"].to_numpy(float))
            parts["true"].append(catalog[f"{g}_flux"].to_numpy(float))
            for s in ("p16", "p84"):
                name_s = f"{g}_flux_{column}_{s}"
                values = catalog[name_s] if name_s in catalog else np.full(len(catalog), np.nan)
                parts[s].append(np.asarray(values, float))
        if not parts["flux"]:
            continue
        joined = {k: np.concatenate(v) for k, v in parts.items()}
        rows.append({"method": name, **flux_scores(**joined)})
    return pd.DataFrame(rows)


def comparison(natural: pd.DataFrame, artificial: pd.DataFrame) -> pd.DataFrame:
    """Per method: MAPE on the natural blends (in domain, every group size) and on the
    artificial ones, and their ratio."""
    nat = natural[(natural["selection"] == "in domain") & (natural["group_size"] == "all")]
    merged = nat.merge(artificial, on="method", suffixes=("_natural", "_artificial"))
    merged["natural_over_artificial"] = merged["mape_natural"] / merged["mape_artificial"]
    return merged[
        ["method", "n_natural", "mape_natural", "coverage_natural", "n_artificial",
         "mape_artificial", "coverage_artificial", "natural_over_artificial"]
    ]  # fmt: skip


def field_summary(deblended: pd.DataFrame, scored: pd.DataFrame) -> dict[str, float]:
    """Counts of the field: objects, the share in groups of two or more, the blended objects
    a network measured and how many of them lie in its domain, groups by size."""
    sizes = deblended.drop_duplicates("group_id")["group_size"]
    return {
        "objects": len(deblended),
        "blended_share": float((deblended["group_size"] > 1).mean()) if len(deblended) else np.nan,
        "measured_blended": len(scored),
        "own_domain": int(scored["own_domain"].sum()),
        "in_domain": int(scored["in_domain"].sum()),
        **{f"groups_of_{size_label(s)}": int((sizes.map(size_label) == size_label(s)).sum())
           for s in sorted(set(sizes[sizes > 1].clip(upper=4)))},
    }  # fmt: skip


def markdown(natural: pd.DataFrame, compared: pd.DataFrame, summary: dict) -> str:
    """The report: the field, the comparison with the artificial blends, the full table."""

    from blendphot.evaluate.tables import markdown_table

    def fmt(v):
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:.3f}" if abs(v) < 1 else f"{v:.1f}"
        return str(v)

    lines = ["# Deblended field against its truth", ""]
    lines += [", ".join(f"{k.replace('_', ' ')}: {fmt(v)}" for k, v in summary.items()), ""]
    lines += ["## Natural blends (in domain) against the artificial test blends", ""]
    lines += [markdown_table(compared.map(fmt))]
    lines += ["## Per group size", "", markdown_table(natural.map(fmt))]
    return "\n".join(lines)


def write_truth_report(settings: dict, inputs: dict, outputs: dict, dataset: str) -> None:
    """The truth stage: tables (CSV, markdown) and the figure of a deblended region."""
    from astropy.table import Table

    from blendphot.deblend.figure import region_figure
    from blendphot.evaluate.methods import flux_columns

    deblended = read_catalog_table(inputs["deblended"])
    truth = Table.read(inputs["truth"]).to_pandas()
    networks = [c for c in flux_columns(settings["models"]).values() if f"flux_{c}" in deblended]
    methods = [*networks, *SEP_METHODS]
    scored = scored_objects(deblended, truth)
    natural = natural_table(scored, methods)
    names = {m: m for m in networks} | SEP_METHODS
    artificial = (
        artificial_table(pd.read_csv(inputs["test_catalog"]), names)
        if inputs.get("test_catalog")
        else pd.DataFrame(columns=["method", "n", "mape", "bias", "coverage"])
    )
    compared = comparison(natural, artificial)
    write_csv(natural, outputs["csv"])
    with atomic_path(outputs["md"]) as tmp:
        Path(tmp).write_text(markdown(natural, compared, field_summary(deblended, scored)))
    region_figure(
        inputs["mosaic"],
        deblended,
        truth,
        networks[:1] or ["sep"],
        Path(outputs["figure"]),
        settings["baseline"],
    )
