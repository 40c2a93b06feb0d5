"""Training curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from blendphot.figures.common import save_figure


def training_curve(history: pd.DataFrame, title: str, paths: list[Path]) -> None:
    """Training and validation loss (MAPE, per cent) per epoch."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(history["epoch"] + 1, history["loss"], label="training")
    ax.plot(history["epoch"] + 1, history["val_loss"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (MAPE, %)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, paths)
