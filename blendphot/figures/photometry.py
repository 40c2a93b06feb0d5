"""Figures 5 and 6 (magnitude on the blend against the isolated magnitude, per method) and
Figures 7-9 (binned bias and scatter against magnitude difference, distance, morphology)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from blendphot.evaluate.metrics import ROLES, method_arrays, photometry_summary, selections
from blendphot.figures.common import save_figure

FIGURE5_ROWS = (
    ("central (sep found it)", "figure5", ("central",)),
    ("companion (sep found it)", "figure5", ("companion",)),
)
FIGURE6_ROWS = (
    ("both, sep found exactly two", "figure6_top", ("central", "companion")),
    ("both, sep under/over-deblended", "figure6_bottom", ("central", "companion")),
)
TYPE_NAMES = {
    "all": "all",
    "sph": "spheroid",
    "disk": "disc",
    "sphd": "disc+spheroid",
    "irr": "irregular",
}


def _panel_arrays(catalog: pd.DataFrame, method, selection: str, roles: tuple[str, ...]):
    masks = selections(catalog["detection"].to_numpy())[selection]
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
    photometry_figure(catalog, methods, outlier_threshold, FIGURE5_ROWS, paths)


def figure6(catalog, methods, outlier_threshold: float, paths: list[Path]) -> None:
    """Figure 6: both galaxies where sep found exactly two (top) or not (bottom)."""
    photometry_figure(catalog, methods, outlier_threshold, FIGURE6_ROWS, paths)


def binned_figure(binned: pd.DataFrame, axis: str, xlabel: str, paths: list[Path]) -> None:
    """Figures 7 and 8: median dmag (solid, left axis) and scatter (dotted, right axis) in
    bins, per method; top panel central, bottom companion."""
    fig, axes = plt.subplots(2, 1, figsize=(6.5, 7), sharex=True)
    for ax, role in zip(axes, ROLES, strict=True):
        twin = ax.twinx()
        part = binned[(binned["axis"] == axis) & (binned["role"] == role)]
        part = part[part["type"] == "all"]
        for i, (method, rows) in enumerate(part.groupby("method", sort=False)):
            ax.plot(rows["bin_centre"], rows["median"], "-o", color=f"C{i}", ms=3, label=method)
            twin.plot(rows["bin_centre"], rows["scatter"], ":", color=f"C{i}")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel(f"median $\\Delta_{{mag}}$ ({role})")
        twin.set_ylabel("scatter (dotted)")
        ax.legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel(xlabel)
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
