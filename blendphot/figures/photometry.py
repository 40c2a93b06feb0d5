"""Figure 5: magnitude measured on the blends against the isolated magnitude, per method."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from blendphot.evaluate.metrics import method_arrays, photometry_summary, selections
from blendphot.figures.common import save_figure


def figure5(
    catalog: pd.DataFrame, methods: list, outlier_threshold: float, paths: list[Path]
) -> None:
    """Rows: central (sep found it) and companion (sep found it); columns: methods."""
    masks = selections(catalog["detection"].to_numpy())["figure5"]
    n = len(methods)
    fig, axes = plt.subplots(2, n, figsize=(3.6 * n, 7.0), squeeze=False, sharex=True, sharey=True)
    lims = (18.5, 24.5)
    for col, method in enumerate(methods):
        for row, role in enumerate(("central", "companion")):
            ax = axes[row, col]
            mag_pred, mag_true, f_pred, f_true = (
                a[masks[role]] for a in method_arrays(catalog, method, role)
            )
            stats = photometry_summary(mag_pred, mag_true, f_pred, f_true, outlier_threshold)
            ax.scatter(mag_true, mag_pred, s=3, alpha=0.5, color=f"C{col}", rasterized=True)
            ax.plot(lims, lims, "k--", lw=0.8)
            ax.set_xlim(lims)
            ax.set_ylim(lims)
            ax.set_title(f"{method.label}, {role}", fontsize=10)
            text = (
                f"n = {stats['n']}\n"
                f"$\\overline{{\\Delta_{{mag}}}}$ = {stats['bias']:.3f}\n"
                f"$\\sigma_{{mag}}$ = {stats['sigma_mag']:.3f}\n"
                f"outliers = {100 * stats['outlier_fraction']:.1f}%\n"
                f"MAPE = {stats['mape_flux']:.1f}%"
            )
            ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=8)
            inset = ax.inset_axes([0.6, 0.08, 0.37, 0.3])
            dmag = mag_pred - mag_true
            inset.hist(dmag[np.isfinite(dmag)], bins=40, range=(-1, 1), color=f"C{col}")
            inset.axvline(0, color="k", lw=0.6)
            inset.set_yticks([])
            inset.tick_params(labelsize=6)
            if row == 1:
                ax.set_xlabel("isolated magnitude")
            if col == 0:
                ax.set_ylabel("magnitude measured on the blend")
    fig.tight_layout()
    save_figure(fig, paths)
