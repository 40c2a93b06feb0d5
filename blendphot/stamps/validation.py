"""How well the neighbour cleaning works, measured where the truth is known (synthetic sky).

For each stamp the noiseless light is split into the central galaxy's (``image_true``) and the
neighbours' (everything else drawn on the same pixels). Cleaning replaces a set of pixels; the
neighbour light left is the neighbours' light in the pixels it kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def stamp_cleaning_metrics(
    raw: np.ndarray,
    clean: np.ndarray,
    mask: np.ndarray,
    replaced: np.ndarray,
    central_true: np.ndarray,
    neighbours_true: np.ndarray,
) -> dict[str, float]:
    """Fluxes (sums of pixels) that describe one cleaned stamp.

    neighbour_total / neighbour_left: neighbours' light in the stamp / in the pixels kept;
    neighbour_in_mask: neighbours' light under the central mask (no cleaning can remove it);
    central_total / central_in_mask / central_removed: the central galaxy's light in the stamp,
    under its mask, in the replaced pixels; mask_raw / mask_clean: the stamp's pixels summed
    under the central mask before and after cleaning.
    """
    inside = mask.astype(bool)
    kept = ~replaced.astype(bool)
    return {
        "neighbour_total": float(neighbours_true.sum(dtype=np.float64)),
        "neighbour_left": float(neighbours_true[kept].sum(dtype=np.float64)),
        "neighbour_in_mask": float(neighbours_true[inside].sum(dtype=np.float64)),
        "central_total": float(central_true.sum(dtype=np.float64)),
        "central_in_mask": float(central_true[inside].sum(dtype=np.float64)),
        "central_removed": float(central_true[~kept].sum(dtype=np.float64)),
        "mask_raw": float(raw[inside].sum(dtype=np.float64)),
        "mask_clean": float(clean[inside].sum(dtype=np.float64)),
    }


def summarise_cleaning(table: pd.DataFrame) -> dict[str, float]:
    """The headline numbers over all stamps.

    neighbour_left_fraction: neighbour light left after cleaning / neighbours' total (pooled);
    central_mask_change_mean: mean relative change of the flux under the central mask caused
    by cleaning, (mask_clean - mask_raw) / central_in_mask;
    central_mask_contamination_mean: mean neighbour light under the central mask relative to
    the central's light there, i.e. the change of the central's mask flux that the
    neighbours still cause after cleaning;
    central_removed_fraction_mean: mean fraction of the central's light that was replaced.
    """
    neighbour_total = table["neighbour_total"].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (table["mask_clean"] - table["mask_raw"]) / table["central_in_mask"]
        contamination = table["neighbour_in_mask"] / table["central_in_mask"]
        removed = table["central_removed"] / table["central_total"]
    return {
        "stamps": int(len(table)),
        "neighbour_total": float(neighbour_total),
        "neighbour_left": float(table["neighbour_left"].sum()),
        "neighbour_left_fraction": float(table["neighbour_left"].sum() / neighbour_total)
        if neighbour_total > 0
        else 0.0,
        "central_mask_change_mean": float(np.nanmean(change)),
        "central_mask_contamination_mean": float(np.nanmean(contamination)),
        "central_mask_contamination_max": float(np.nanmax(contamination)),
        "central_removed_fraction_mean": float(np.nanmean(removed)),
        "central_removed_fraction_max": float(np.nanmax(removed)),
    }
