"""Segmentation maps (paper section 4.4): IoU per galaxy and the overlap-area estimator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.blends import open_blend_set
from blendphot.blends.layout import (
    COUNT_COLUMN,
    galaxy_counts,
    present_slots,
    slot_count,
    slot_prefix,
)
from blendphot.contracts import SKIPPED, check_predictions
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
    """Pixels belonging to at least two galaxies' masks (for pairs: to both), per blend;
    masks (N, K, S, S) boolean."""
    if masks.shape[1] == 2:
        return np.logical_and(masks[:, 0], masks[:, 1]).sum(axis=(1, 2))
    return (masks.sum(axis=1, dtype=np.int64) >= 2).sum(axis=(1, 2))


def iou_columns(slots: int) -> list[str]:
    """The per-slot IoU columns of :func:`segmentation_table`: ``iou_central``,
    ``iou_companion`` (slot 2), then ``iou_g3`` ... ``iou_gK``."""
    return ["iou_central", "iou_companion"] + [f"iou_{slot_prefix(k)}" for k in range(2, slots)]


def delta_n(n_true: np.ndarray, n_pred: np.ndarray) -> float:
    """The paper's estimator <n_true - n_pred> / <n_true> of the overlap area."""
    mean_true = float(np.mean(n_true))
    return float(np.mean(n_true - n_pred) / mean_true) if mean_true > 0 else float("nan")


def segmentation_table(
    test_path: Path, predictions: dict[str, Path], threshold: float = 0.5, block: int = 256
) -> pd.DataFrame:
    """IoU of each galaxy's mask (per slot: :func:`iou_columns`; NaN for an absent slot, so
    that it is left out of every mean) and overlap areas, per blend and mask model; with
    K > 2 slots also each blend's ``n_galaxies``."""
    rows = []
    with open_blend_set(test_path) as test:
        ids = test["table/id"][()]
        truth = test["mask"]
        k = slot_count(test)
        counts = galaxy_counts(test)
        columns = iou_columns(k)
        for name, path in predictions.items():
            with open_h5(path) as pred:
                check_predictions(pred, path, ids, name, need=("masks",))
                if pred["masks"].shape[1:] != truth.shape[1:]:
                    raise InputError(
                        path,
                        f"dataset masks has shape {pred['masks'].shape}, the test set's "
                        f"masks {truth.shape}",
                    )
                skipped = pred[SKIPPED][()] if SKIPPED in pred else np.zeros(len(ids), bool)
                for start in range(0, len(ids), block):
                    t = truth[start : start + block].astype(bool)
                    p = pred["masks"][start : start + block] >= threshold
                    here = present_slots(counts[start : start + block], k)
                    here &= ~skipped[start : start + block, None]  # not measured: NaN
                    part = {"model": name, "id": ids[start : start + block]}
                    if k > 2:
                        part[COUNT_COLUMN] = counts[start : start + block]
                    for slot, column in enumerate(columns):
                        score = iou(p[:, slot], t[:, slot])
                        part[column] = np.where(here[:, slot], score, np.nan)
                    part["overlap_true"] = overlap_pixels(t)
                    part["overlap_pred"] = overlap_pixels(p)
                    rows.append(pd.DataFrame(part))
    return pd.concat(rows, ignore_index=True)


def segmentation_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean IoU (every galaxy pooled; companions: every slot but the central's) and delta_n
    per model."""
    rows = []
    columns = table_iou_columns(table)
    for model, part in table.groupby("model", sort=False):
        every = pooled_iou(part)
        companions = np.concatenate([part[c] for c in columns[1:]])
        rows.append(
            {
                "model": model,
                "mean_iou": float(np.nanmean(every)),
                "mean_iou_central": float(np.nanmean(part["iou_central"])),
                "mean_iou_companion": float(np.nanmean(companions)),
                "delta_n": delta_n(
                    part["overlap_true"].to_numpy(), part["overlap_pred"].to_numpy()
                ),
            }
        )
    return pd.DataFrame(rows)


def table_iou_columns(table: pd.DataFrame) -> list[str]:
    """The per-slot IoU columns a :func:`segmentation_table` holds, in slot order."""
    slots = 2
    while f"iou_{slot_prefix(slots)}" in table:
        slots += 1
    return iou_columns(slots)


def pooled_iou(part: pd.DataFrame) -> np.ndarray:
    """The IoU of every galaxy of a segmentation table (slot by slot; NaN where absent or
    both masks empty)."""
    return np.concatenate([part[c].to_numpy() for c in table_iou_columns(part)])
