"""Figures 10 and 11: predicted segmentation maps and their IoU (paper section 4.4)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from blendphot.blends import open_blend_set
from blendphot.contracts import check_predictions
from blendphot.evaluate.segmentation import pooled_iou
from blendphot.figures.common import asinh_stretch, save_figure
from blendphot.io import open_h5

SLOT_COLOURS = ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.8, 0.0), (1.0, 0.6, 0.0))
SLOT_COLOUR_NAMES = ("red", "blue", "green", "orange")
"""Colours of the slots' masks: central, first companion, ... (cycled beyond four)."""


def mask_composite(masks: np.ndarray) -> np.ndarray:
    """RGB image of K masks (K, S, S) in [0, 1]: central in red, the first companion in blue,
    then green, orange (:data:`SLOT_COLOURS`), added."""
    rgb = np.zeros((*masks.shape[1:], 3))
    if masks.shape[0] == 2:  # the pairs' figure as it always was
        rgb[..., 0] = masks[0]
        rgb[..., 2] = masks[1]
        return np.clip(rgb, 0, 1)
    for slot, mask in enumerate(masks):
        rgb += mask[..., None] * np.asarray(SLOT_COLOURS[slot % len(SLOT_COLOURS)])
    return np.clip(rgb, 0, 1)


def colour_legend(slots: int) -> str:
    """The figure's caption of the mask colours."""
    if slots == 2:
        return "central: red, companion: blue"
    names = [SLOT_COLOUR_NAMES[k % len(SLOT_COLOUR_NAMES)] for k in range(1, slots)]
    return f"central: red, companions brightest first: {', '.join(names)}"


def figure10(
    test_path: Path, predictions: dict[str, Path], paths: list[Path], n_examples: int = 4
) -> None:
    """Blends, their true masks and each mask model's fractional masks, for a few blends
    spread over the distance range."""
    with open_blend_set(test_path) as h5:
        dist = h5["table/distance"][()]
        picks = np.sort(np.argsort(dist)[np.linspace(0, len(dist) - 1, n_examples).astype(int)])
        blends, truth = h5["blend"][picks], h5["mask"][picks].astype(float)
    predicted = {}
    for name, path in predictions.items():
        with open_h5(path) as h5:
            check_predictions(h5, path, model=name, need=("masks",))
            predicted[name] = h5["masks"][picks].astype(float)
    cols = 2 + len(predicted)
    fig, axes = plt.subplots(
        n_examples, cols, figsize=(2.2 * cols, 2.2 * n_examples), squeeze=False
    )
    for r in range(n_examples):
        panels = [("blend", None), ("true masks", truth[r])]
        panels += [(name, masks[r]) for name, masks in predicted.items()]
        for c, (title, masks) in enumerate(panels):
            ax = axes[r, c]
            if masks is None:
                ax.imshow(asinh_stretch(blends[r]), origin="lower", cmap="gray_r")
            else:
                ax.imshow(mask_composite(masks), origin="lower")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=9)
        axes[r, 0].set_ylabel(f"d = {dist[picks[r]]:.0f} px", fontsize=8)
    fig.suptitle(colour_legend(truth.shape[1]), fontsize=9)
    fig.tight_layout()
    save_figure(fig, paths)


def figure11(table: pd.DataFrame, paths: list[Path]) -> None:
    """Histograms of the IoU of every galaxy's mask (absent slots left out) per mask model,
    with the mean."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, (model, part) in enumerate(table.groupby("model", sort=False)):
        both = pooled_iou(part)
        both = both[np.isfinite(both)]
        ax.hist(
            both,
            bins=40,
            range=(0, 1),
            histtype="step",
            color=f"C{i}",
            lw=1.5,
            label=f"{model}: mean IoU {both.mean():.2f}",
        )
    ax.set_xlabel("IoU (predicted vs true mask, threshold 0.5)")
    ax.set_ylabel("galaxies")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    save_figure(fig, paths)
