"""Figure 1: a galaxy of each type as observed, after neighbour removal, and its segmentation."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap

from blendphot.figures.common import asinh_stretch, save_figure
from blendphot.stamps.layout import read_stamps

TYPE_NAMES = {"sph": "bulge", "disk": "disc", "sphd": "bulge+disc", "irr": "irregular"}
SEGMENT_COLOURS = ListedColormap(["#101018", "#4a4a58", "#9a9aa8", "#f0a030"])
"""Background, replaced (dilated) area, neighbour segments, central galaxy."""


def pick_examples(catalog: pd.DataFrame) -> dict[str, int | None]:
    """One stamp index per type: among stamps with neighbours, the one at the bright quartile.

    Falls back to any stamp of the type; None where the type is absent.
    """
    picks: dict[str, int | None] = {}
    for kind in TYPE_NAMES:
        rows = catalog.index[catalog["type"] == kind]
        crowded = rows[catalog.loc[rows, "n_neighbours"] > 0] if "n_neighbours" in catalog else []
        pool = crowded if len(crowded) else rows
        if len(pool) == 0:
            picks[kind] = None
            continue
        order = catalog.loc[pool].sort_values(["mag", "id"]).index
        picks[kind] = int(order[len(order) // 4])
    return picks


def segment_classes(segmap: np.ndarray, mask: np.ndarray, replaced: np.ndarray) -> np.ndarray:
    """0 background, 1 replaced area, 2 neighbour segments, 3 central galaxy."""
    classes = np.zeros(segmap.shape, dtype=np.uint8)
    classes[replaced] = 1
    classes[(segmap > 0) & ~mask.astype(bool)] = 2
    classes[mask.astype(bool)] = 3
    return classes


def figure1(stamps_path: Path, paths: list[Path]) -> None:
    """Rows: bulge, disc, bulge+disc, irregular; columns: original, cleaned, segmentation."""
    h5, catalog = read_stamps(stamps_path)
    with h5:
        picks = pick_examples(catalog)
        fig, axes = plt.subplots(4, 3, figsize=(7.2, 9.8), squeeze=False)
        for r, (kind, index) in enumerate(picks.items()):
            for ax in axes[r]:
                ax.set_xticks([])
                ax.set_yticks([])
            if index is None:
                axes[r, 0].set_ylabel(f"{TYPE_NAMES[kind]}\n(none)")
                continue
            raw, clean = h5["image_raw"][index], h5["image"][index]
            segmap, mask = h5["segmap_raw"][index], h5["mask"][index]
            replaced = raw != clean
            noise = float(catalog.loc[index, "noise"]) if "noise" in catalog else None
            scale = 3.0 * noise if noise else None
            shown = [asinh_stretch(raw, scale), asinh_stretch(clean, scale)]
            lo, hi = np.percentile(shown[0], [1.0, 99.9])
            for c, image in enumerate(shown):
                axes[r, c].imshow(image, origin="lower", cmap="gray", vmin=lo, vmax=hi)
            axes[r, 2].imshow(
                segment_classes(segmap, mask, replaced),
                origin="lower",
                cmap=SEGMENT_COLOURS,
                vmin=0,
                vmax=3,
                interpolation="nearest",
            )
            row = catalog.loc[index]
            axes[r, 0].set_ylabel(
                f"{TYPE_NAMES[kind]}\nid {row['id']}, H = {row['mag']:.2f}", fontsize=9
            )
        for c, title in enumerate(("original", "neighbours removed", "segmentation")):
            axes[0, c].set_title(title, fontsize=10)
        fig.text(
            0.5,
            0.005,
            "segmentation: central galaxy (orange), neighbours (grey), "
            "replaced after dilation (dark grey); asinh stretch",
            ha="center",
            fontsize=7.5,
        )
        fig.tight_layout(rect=(0, 0.015, 1, 1))
    save_figure(fig, paths)
