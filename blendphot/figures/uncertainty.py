"""Reliability figure: nominal against empirical coverage of every method's flux intervals."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from blendphot.figures.common import save_figure


def reliability_figure(curves: pd.DataFrame, paths: list[Path]) -> None:
    """One curve per method: empirical coverage (per cent, test set) at each nominal level,
    after calibration (solid) and with the method's own errors (dashed, where it has any)."""
    fig, (ax, dev) = plt.subplots(1, 2, figsize=(11, 4.8))
    for k, (method, rows) in enumerate(curves.groupby("method", sort=False)):
        colour = f"C{k % 10}"
        ax.plot(rows["nominal"], rows["coverage"], "o-", color=colour, label=method, ms=3)
        dev.plot(rows["nominal"], rows["coverage"] - rows["nominal"], "o-", color=colour, ms=3)
        if rows["coverage_raw"].notna().any():
            style = {"color": colour, "ls": "--", "alpha": 0.6}
            ax.plot(rows["nominal"], rows["coverage_raw"], **style)
            dev.plot(rows["nominal"], rows["coverage_raw"] - rows["nominal"], **style)
    ax.plot([0, 100], [0, 100], color="0.5", lw=0.8)
    dev.axhline(0, color="0.5", lw=0.8)
    ax.set(xlabel="nominal coverage (%)", ylabel="empirical coverage (%)", xlim=(0, 100),
           ylim=(0, 100), title="calibrated (solid), own errors (dashed)")  # fmt: skip
    dev.set(xlabel="nominal coverage (%)", ylabel="empirical - nominal (points)",
            xlim=(0, 100), ylim=(-30, 30), title="distance from the diagonal")  # fmt: skip
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    save_figure(fig, paths)
