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
    """The headline numbers over the stamps kept (rows with ``excluded`` true are left out,
    as the automatic inspection leaves them out of the stamps file).

    neighbour_left_fraction: neighbour light left after cleaning / neighbours' total (pooled);
    neighbour_under_mask_fraction: the part of it under the central mask, which no
    replacement can remove (the rest lies outside every replaced region);
    central_mask_change_mean: mean relative change of the flux under the central mask caused
    by cleaning, (mask_clean - mask_raw) / central_in_mask;
    central_mask_contamination_mean: mean neighbour light under the central mask relative to
    the central's light there, i.e. the change of the central's mask flux that the
    neighbours still cause after cleaning;
    central_removed_fraction_mean (_irr: irregulars only), _max, central_removed_over_10pc:
    share of the central's light that was replaced, and the number of stamps losing > 10%;
    excluded: stamps the inspection removed (not in the numbers above).
    """
    excluded = table["excluded"].astype(bool) if "excluded" in table else False
    kept = table.loc[~excluded] if "excluded" in table else table
    neighbour_total = kept["neighbour_total"].sum()

    def share(value: float) -> float:
        return float(value / neighbour_total) if neighbour_total > 0 else 0.0

    with np.errstate(divide="ignore", invalid="ignore"):
        change = (kept["mask_clean"] - kept["mask_raw"]) / kept["central_in_mask"]
        contamination = kept["neighbour_in_mask"] / kept["central_in_mask"]
        removed = kept["central_removed"] / kept["central_total"]
    irr = kept["type"] == "irr" if "type" in kept else np.zeros(len(kept), dtype=bool)
    return {
        "stamps": int(len(kept)),
        "excluded": int(len(table) - len(kept)),
        "neighbour_total": float(neighbour_total),
        "neighbour_left": float(kept["neighbour_left"].sum()),
        "neighbour_left_fraction": share(kept["neighbour_left"].sum()),
        "neighbour_under_mask_fraction": share(kept["neighbour_in_mask"].sum()),
        "central_mask_change_mean": float(np.nanmean(change)),
        "central_mask_contamination_mean": float(np.nanmean(contamination)),
        "central_mask_contamination_max": float(np.nanmax(contamination)),
        "central_removed_fraction_mean": float(np.nanmean(removed)),
        "central_removed_fraction_irr": float(np.nanmean(removed[irr])) if irr.any() else 0.0,
        "central_removed_fraction_max": float(np.nanmax(removed)),
        "central_removed_over_10pc": int((removed > 0.1).sum()),
    }
