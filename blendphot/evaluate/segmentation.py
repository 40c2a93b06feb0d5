"""Segmentation maps (paper section 4.4): IoU per galaxy and the overlap-area estimator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.blends import open_blend_set
from blendphot.errors import InputError
from blendphot.io import open_h5


def iou(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Intersection over union of boolean masks, per leading index (NaN where both empty)."""
    pred, true = pred.astype(bool), true.astype(bool)
    axes = tuple(range(1, pred.ndim))
    inter = np.logical_and(pred, true).sum(axis=axes)
    union = np.logical_or(pred, true).sum(axis=axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def overlap_pixels(masks: np.ndarray) -> np.ndarray:
    """Pixels belonging to both galaxies' masks, per blend; masks (N, 2, S, S) boolean."""
    return np.logical_and(masks[:, 0], masks[:, 1]).sum(axis=(1, 2))


def delta_n(n_true: np.ndarray, n_pred: np.ndarray) -> float:
    """The paper's estimator <n_true - n_pred> / <n_true> of the overlap area."""
    mean_true = float(np.mean(n_true))
    return float(np.mean(n_true - n_pred) / mean_true) if mean_true > 0 else float("nan")


def segmentation_table(
    test_path: Path, predictions: dict[str, Path], threshold: float = 0.5, block: int = 256
) -> pd.DataFrame:
    """IoU of central and companion masks and overlap areas, per blend and mask model."""
    rows = []
    with open_blend_set(test_path) as test:
        ids = test["table/id"][()]
        truth = test["mask"]
        for name, path in predictions.items():
            with open_h5(path, required=("id",)) as pred:
                if "masks" not in pred:
                    raise InputError(path, f"predictions of {name} hold no masks")
                if not np.array_equal(pred["id"][()], ids):
                    raise InputError(path, "prediction ids do not match the test set")
                for start in range(0, len(ids), block):
                    t = truth[start : start + block].astype(bool)
                    p = pred["masks"][start : start + block] >= threshold
                    part = pd.DataFrame(
                        {
                            "model": name,
                            "id": ids[start : start + block],
                            "iou_central": iou(p[:, 0], t[:, 0]),
                            "iou_companion": iou(p[:, 1], t[:, 1]),
                            "overlap_true": overlap_pixels(t),
                            "overlap_pred": overlap_pixels(p),
                        }
                    )
                    rows.append(part)
    return pd.concat(rows, ignore_index=True)


def segmentation_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean IoU (both galaxies pooled) and delta_n per model."""
    rows = []
    for model, part in table.groupby("model", sort=False):
        both = np.concatenate([part["iou_central"], part["iou_companion"]])
        rows.append(
            {
                "model": model,
                "mean_iou": float(np.nanmean(both)),
                "mean_iou_central": float(np.nanmean(part["iou_central"])),
                "mean_iou_companion": float(np.nanmean(part["iou_companion"])),
                "delta_n": delta_n(
                    part["overlap_true"].to_numpy(), part["overlap_pred"].to_numpy()
                ),
            }
        )
    return pd.DataFrame(rows)
