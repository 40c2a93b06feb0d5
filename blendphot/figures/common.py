"""Shared figure helpers."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on cluster nodes

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np

from blendphot.io import atomic_path


def save_figure(fig, paths: list[Path]) -> None:
    """Save a figure to every path (format from the extension), atomically, then close it."""
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip("."))
    plt.close(fig)


def asinh_stretch(image: np.ndarray, scale: float | None = None) -> np.ndarray:
    """asinh stretch used for displaying stamps (the paper's figures 1 and 2)."""
    if scale is None:
        finite = image[np.isfinite(image)]
        scale = 3.0 * float(np.median(np.abs(finite - np.median(finite)))) + 1e-12
    return np.arcsinh(image / scale)
