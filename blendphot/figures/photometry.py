"""Figures 5 and 6 (magnitude on the blend against the isolated magnitude, per method) and
Figures 7-9 (binned bias and scatter against magnitude difference, distance, morphology)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from blendphot.evaluate.metrics import (
    catalog_roles,
    catalog_selections,
    method_arrays,
    photometry_summary,
)
from blendphot.figures.common import save_figure


def role_title(role: str, n_roles: int) -> str:
    """A role as a figure names it: central, companion (of a pair), or the companions of a
    larger blend by rank of brightness (companion 1 the brightest)."""
    if role == "central" or n_roles == 2:
        return role
    return "companion 1" if role == "companion" else role.replace("_", " ")


def figure5_rows(catalog: pd.DataFrame) -> list[tuple]:
    """Figure 5's rows: one per slot (the central and the companion of a pair; every slot of
    larger blends), each where sep found that galaxy."""
    roles = catalog_roles(catalog)
    return [(f"{role_title(r, len(roles))} (sep found it)", "figure5", (r,)) for r in roles]


def figure6_rows(catalog: pd.DataFrame) -> list[tuple]:
    """Figure 6's rows: every galaxy where sep found exactly the blend's members (top), and
    where it under- or over-deblended (bottom)."""
    roles = tuple(catalog_roles(catalog))
    if len(roles) == 2:
        return [
            ("both, sep found exactly two", "figure6_top", roles),
            ("both, sep under/over-deblended", "figure6_bottom", roles),
        ]
    return [
        ("all, sep found exactly the members", "figure6_top", roles),
        ("all, sep under/over-deblended", "figure6_bottom", roles),
    ]


TYPE_NAMES = {
    "all": "all",
    "sph": "spheroid",
    "disk": "disc",
    "sphd": "disc+spheroid",
    "irr": "irregular",
}


def _panel_arrays(catalog: pd.DataFrame, method, selection: str, roles: tuple[str, ...]):
    masks = catalog_selections(catalog)[selection]
    parts = [[a[masks[r]] for a in method_arrays(catalog, method, r)] for r in roles]
    return [np.concatenate(p) for p in zip(*parts, strict=True)]


def photometry_figure(
    catalog: pd.DataFrame, methods: list, outlier_threshold: float, rows, paths: list[Path]
) -> None:
    """A grid of mag_blend vs mag_isolated panels: one column per method, one row per
    selection, with a dmag histogram inset and the panel's metrics."""
    n = len(methods)
    fig, axes = plt.subplots(
        len(rows), n, figsize=(3.4 * n, 3.5 * len(rows)), squeeze=False, sharex=True, sharey=True
    )
    lims = (18.5, 24.5)
    for col, method in enumerate(methods):
        for row, (title, selection, roles) in enumerate(rows):
            ax = axes[row, col]
            mag_pred, mag_true, f_pred, f_true = _panel_arrays(catalog, method, selection, roles)
            stats = photometry_summary(mag_pred, mag_true, f_pred, f_true, outlier_threshold)
            ax.scatter(mag_true, mag_pred, s=3, alpha=0.5, color=f"C{col}", rasterized=True)
            ax.plot(lims, lims, "k--", lw=0.8)
            ax.set_xlim(lims)
            ax.set_ylim(lims)
            ax.set_title(f"{method.label}: {title}", fontsize=8)
            text = (
                f"n = {stats['n']}\n"
                f"$\\overline{{\\Delta_{{mag}}}}$ = {stats['bias']:.3f}\n"
                f"$\\sigma_{{mag}}$ = {stats['sigma_mag']:.3f}\n"
                f"outliers = {100 * stats['outlier_fraction']:.1f}%\n"
                f"MAPE = {stats['mape_flux']:.1f}%"
            )
            ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=7)
            inset = ax.inset_axes([0.6, 0.08, 0.37, 0.3])
            dmag = mag_pred - mag_true
            inset.hist(dmag[np.isfinite(dmag)], bins=40, range=(-1, 1), color=f"C{col}")
            inset.axvline(0, color="k", lw=0.6)
            inset.set_yticks([])
            inset.tick_params(labelsize=6)
            if row == len(rows) - 1:
                ax.set_xlabel("isolated magnitude")
            if col == 0:
                ax.set_ylabel("magnitude measured on the blend")
    fig.tight_layout()
    save_figure(fig, paths)


def figure5(catalog, methods, outlier_threshold: float, paths: list[Path]) -> None:
    """Figure 5: centrals and companions where sep found them."""
    photometry_figure(catalog, methods, outlier_threshold, figure5_rows(catalog), paths)


def figure6(catalog, methods, outlier_threshold: float, paths: list[Path]) -> None:
    """Figure 6: both galaxies where sep found exactly two (top) or not (bottom)."""
    photometry_figure(catalog, methods, outlier_threshold, figure6_rows(catalog), paths)


def binned_figure(binned: pd.DataFrame, axis: str, xlabel: str, paths: list[Path]) -> None:
    """Figures 7 and 8: median dmag (solid, left axis) and scatter (dotted, right axis) in
    bins, per method; one panel per role (top central, then the companions)."""
    roles = [r for r in dict.fromkeys(binned["role"]) if r != "both"]
    fig, axes = plt.subplots(len(roles), 1, figsize=(6.5, 3.5 * len(roles)), sharex=True)
    for ax, role in zip(np.atleast_1d(axes), roles, strict=True):
        twin = ax.twinx()
        part = binned[(binned["axis"] == axis) & (binned["role"] == role)]
        part = part[part["type"] == "all"]
        for i, (method, rows) in enumerate(part.groupby("method", sort=False)):
            ax.plot(rows["bin_centre"], rows["median"], "-o", color=f"C{i}", ms=3, label=method)
            twin.plot(rows["bin_centre"], rows["scatter"], ":", color=f"C{i}")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel(f"median $\\Delta_{{mag}}$ ({role_title(role, len(roles))})")
        twin.set_ylabel("scatter (dotted)")
        ax.legend(fontsize=7, loc="upper left")
    np.atleast_1d(axes)[-1].set_xlabel(xlabel)
    fig.tight_layout()
    save_figure(fig, paths)


def figure9(binned: pd.DataFrame, paths: list[Path]) -> None:
    """Figure 9: bias (top) and scatter (bottom) against the magnitude difference, per
    morphological type, one column per method (both galaxies pooled)."""
    part = binned[(binned["axis"] == "mag_difference") & (binned["role"] == "both")]
    methods = list(dict.fromkeys(part["method"]))
    fig, axes = plt.subplots(
        2, len(methods), figsize=(3.4 * len(methods), 6), squeeze=False, sharex=True, sharey="row"
    )
    for col, method in enumerate(methods):
        for i, (kind, name) in enumerate(TYPE_NAMES.items()):
            rows = part[(part["method"] == method) & (part["type"] == kind)]
            style = {"color": "k" if kind == "all" else f"C{i}", "lw": 2 if kind == "all" else 1}
            axes[0, col].plot(rows["bin_centre"], rows["median"], "-", label=name, **style)
            axes[1, col].plot(rows["bin_centre"], rows["scatter"], ":", **style)
        axes[0, col].set_title(method, fontsize=9)
        axes[0, col].axhline(0, color="k", lw=0.5)
        axes[1, col].set_xlabel("own magnitude - other's")
    axes[0, 0].set_ylabel("median $\\Delta_{mag}$")
    axes[1, 0].set_ylabel("scatter of $\\Delta_{mag}$")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, paths)


def count_figure(by_count: pd.DataFrame, paths: list[Path]) -> None:
    """Flux error (MAPE, per cent; log scale where all are positive) against the number of
    galaxies in the blend, one line per method: one panel per slot (where sep found the
    galaxy: the figure-5 selection), and all galaxies pooled."""
    part = by_count[by_count["selection"] == "figure5"]
    roles = list(dict.fromkeys(part["role"]))
    roles = [r for r in roles if r != "both"] + ["both"]
    n_roles = len(roles) - 1
    fig, axes = plt.subplots(
        1, len(roles), figsize=(3.3 * len(roles), 3.4), squeeze=False, sharey=True
    )
    counts = sorted(part["n_galaxies"].unique())
    for ax, role in zip(axes[0], roles, strict=True):
        rows = part[part["role"] == role]
        for i, (method, lines) in enumerate(rows.groupby("method", sort=False)):
            lines = lines.sort_values("n_galaxies")
            ax.plot(
                lines["n_galaxies"], lines["mape_flux"], "-o", ms=4, color=f"C{i}", label=method
            )
        ax.set_title("all galaxies" if role == "both" else role_title(role, n_roles), fontsize=9)
        ax.set_xticks(counts)
        ax.set_xlabel("galaxies in the blend")
        if (part["mape_flux"] > 0).all():  # the oracle's floor and sep's errors on one axis
            ax.set_yscale("log")
    axes[0, 0].set_ylabel("flux MAPE (per cent), sep found it")
    axes[0, -1].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, paths)
