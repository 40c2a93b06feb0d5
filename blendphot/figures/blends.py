"""Figure 2 (blends ordered by distance and magnitude difference) and blend-set histograms."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from blendphot.blends import open_blend_set
from blendphot.figures.common import asinh_stretch, save_figure
from blendphot.io import read_table


def grid_selection(table: pd.DataFrame, n_rows: int, n_cols: int) -> list[list[int | None]]:
    """Row indices of one blend per (distance bin, dmag bin) cell; None for an empty cell.

    Rows: distance quantile bins (near to far); columns: bins of g2_mag - g1_mag.
    """
    dist = table["distance"].to_numpy()
    dmag = (table["g2_mag"] - table["g1_mag"]).to_numpy()
    d_edges = np.quantile(dist, np.linspace(0, 1, n_rows + 1))
    m_edges = np.linspace(-2.0, 2.0, n_cols + 1)
    d_bin = np.clip(np.searchsorted(d_edges, dist, side="right") - 1, 0, n_rows - 1)
    m_bin = np.clip(np.searchsorted(m_edges, dmag, side="right") - 1, 0, n_cols - 1)
    grid: list[list[int | None]] = []
    for r in range(n_rows):
        row = []
        for c in range(n_cols):
            hits = np.flatnonzero((d_bin == r) & (m_bin == c))
            row.append(int(hits[0]) if hits.size else None)
        grid.append(row)
    return grid


def figure2(blend_path: Path, paths: list[Path], n_rows: int = 4, n_cols: int = 5) -> None:
    """A grid of blends, asinh-stretched: distance grows downwards, dmag to the right."""
    with open_blend_set(blend_path) as h5:
        table = read_table(h5["table"])
        grid = grid_selection(table, n_rows, n_cols)
        wanted = sorted({i for row in grid for i in row if i is not None})
        images = dict(zip(wanted, h5["blend"][wanted], strict=True))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.0 * n_cols, 2.0 * n_rows))
    for r, row in enumerate(grid):
        for c, index in enumerate(row):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if index is None:
                ax.set_facecolor("0.9")
                continue
            ax.imshow(asinh_stretch(images[index]), origin="lower", cmap="gray_r")
            dmag = table["g2_mag"][index] - table["g1_mag"][index]
            ax.set_title(f"d={table['distance'][index]:.0f}px  Δm={dmag:+.1f}", fontsize=7, pad=2)
    fig.supylabel("distance between the galaxies (increasing downwards)")
    fig.supxlabel("magnitude difference companion - central (increasing to the right)")
    fig.tight_layout()
    save_figure(fig, paths)


def companion_geometry(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Distance from the central and |magnitude difference| with it of every companion of a
    blend-set table (the one of a pair; every present slot of larger blends)."""
    dist = [table["distance"].to_numpy(float)]
    dmag = [np.abs(table["g2_mag"] - table["g1_mag"]).to_numpy(float)]
    slot = 3
    while f"g{slot}_distance" in table.columns:
        dist.append(table[f"g{slot}_distance"].to_numpy(float))
        dmag.append(np.abs(table[f"g{slot}_mag"] - table["g1_mag"]).to_numpy(float))
        slot += 1
    dist, dmag = np.concatenate(dist), np.concatenate(dmag)
    present = np.isfinite(dist)
    return dist[present], dmag[present]


def blend_histograms(blend_paths: dict[str, Path], paths: list[Path]) -> None:
    """Distance and |dmag| distributions of each split's companions, normalised; for blends
    of more than two galaxies, also the share of each number of galaxies."""
    tables = {}
    for split, path in blend_paths.items():
        with open_blend_set(path) as h5:
            tables[split] = read_table(h5["table"])
    multi = any("n_galaxies" in t.columns for t in tables.values())
    fig, axes = plt.subplots(1, 3 if multi else 2, figsize=(13.5 if multi else 9, 3.5))
    ax_d, ax_m = axes[0], axes[1]
    for split, table in tables.items():
        dist, dmag = companion_geometry(table)
        ax_d.hist(dist, bins=32, range=(0, 64), density=True, histtype="step", label=split)
        ax_m.hist(dmag, bins=20, range=(0, 2), density=True, histtype="step", label=split)
        if multi:
            counts = table["n_galaxies"].value_counts(normalize=True).sort_index()
            axes[2].plot(counts.index, counts.to_numpy(), "o-", label=split)
    ax_d.set_xlabel("distance of a companion from the central (px)")
    ax_m.set_xlabel("|mag_companion - mag_central|")
    for ax in (ax_d, ax_m):
        ax.set_ylabel("density")
        ax.legend()
    if multi:
        axes[2].set_xticks(sorted(set().union(*(t["n_galaxies"] for t in tables.values()))))
        axes[2].set_xlabel("galaxies in the blend")
        axes[2].set_ylabel("share of the blends")
        axes[2].legend()
    fig.tight_layout()
    save_figure(fig, paths)
