"""How well the neighbour cleaning works, measured where the truth is known (synthetic sky).

For each stamp the noiseless light is split three ways: the central galaxy's (``image_true``),
its neighbours' (the other catalogue objects whose centre lies in the stamp, each drawn alone),
and the outside light (the wings of objects centred beyond the stamp's edge, the rest of the
noiseless sky on these pixels). Cleaning replaces a set of pixels with copies of background
pixels; the light left is what the kept pixels hold plus the faint light the copies carry.
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
    fill_sources: np.ndarray | None = None,
    outside_true: np.ndarray | None = None,
) -> dict[str, float]:
    """Fluxes (sums of pixels) that describe one cleaned stamp.

    neighbour_total / neighbour_left: neighbours' light in the stamp / in the cleaned stamp:
    in the pixels kept plus neighbour_refilled, the neighbours' light in the background pixels
    copied into the replaced ones (``fill_sources``: flat index per replaced pixel, -1 noise);
    neighbour_in_mask: neighbours' light under the central mask (no cleaning can remove it);
    central_total / central_in_mask / central_removed: the central galaxy's light in the stamp,
    under its mask, in the replaced pixels; mask_raw / mask_clean: the stamp's pixels summed
    under the central mask before and after cleaning; outside_total / outside_left (with
    ``outside_true``): the same as neighbour_total / neighbour_left for the outside light.
    """
    inside = mask.astype(bool)
    kept = ~replaced.astype(bool)
    copied = np.zeros(0, dtype=np.int64) if fill_sources is None else np.asarray(fill_sources)
    copied = copied[copied >= 0]

    def left(light: np.ndarray) -> float:
        return float(light[kept].sum(dtype=np.float64) + light.flat[copied].sum(dtype=np.float64))

    refilled = float(neighbours_true.flat[copied].sum(dtype=np.float64))
    outside = {}
    if outside_true is not None:
        outside = {
            "outside_total": float(outside_true.sum(dtype=np.float64)),
            "outside_left": left(outside_true),
        }
    return {
        "neighbour_total": float(neighbours_true.sum(dtype=np.float64)),
        "neighbour_left": left(neighbours_true),
        "neighbour_refilled": refilled,
        "neighbour_in_mask": float(neighbours_true[inside].sum(dtype=np.float64)),
        "central_total": float(central_true.sum(dtype=np.float64)),
        "central_in_mask": float(central_true[inside].sum(dtype=np.float64)),
        "central_removed": float(central_true[~kept].sum(dtype=np.float64)),
        "mask_raw": float(raw[inside].sum(dtype=np.float64)),
        "mask_clean": float(clean[inside].sum(dtype=np.float64)),
        **outside,
    }


def summarise_cleaning(table: pd.DataFrame) -> dict[str, float]:
    """The headline numbers over the stamps kept (rows with ``excluded`` true are left out,
    as the automatic inspection leaves them out of the stamps file).

    neighbour_left_fraction: neighbour light left after cleaning / neighbours' total (pooled);
    outside_left_fraction, all_left_fraction: the same for the outside light and for both
    together (with outside columns);
    neighbour_under_mask_fraction: the part of it under the central mask, which no
    replacement can remove; neighbour_refilled_fraction: the part the refill copies carry; the
    rest lies in kept pixels outside the mask;
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
        "neighbour_refilled_fraction": share(kept.get("neighbour_refilled", pd.Series(0.0)).sum()),
        **_outside_shares(kept),
        "central_mask_change_mean": float(np.nanmean(change)),
        "central_mask_contamination_mean": float(np.nanmean(contamination)),
        "central_mask_contamination_max": float(np.nanmax(contamination)),
        "central_removed_fraction_mean": float(np.nanmean(removed)),
        "central_removed_fraction_irr": float(np.nanmean(removed[irr])) if irr.any() else 0.0,
        "central_removed_fraction_max": float(np.nanmax(removed)),
        "central_removed_over_10pc": int((removed > 0.1).sum()),
    }


def _outside_shares(kept: pd.DataFrame) -> dict[str, float]:
    """Outside light left / its total, and all non-central light left / its total."""
    if "outside_total" not in kept:
        return {}
    outside, left = kept["outside_total"].sum(), kept["outside_left"].sum()
    every = outside + kept["neighbour_total"].sum()
    every_left = left + kept["neighbour_left"].sum()
    return {
        "outside_total": float(outside),
        "outside_left_fraction": float(left / outside) if outside > 0 else 0.0,
        "all_left_fraction": float(every_left / every) if every > 0 else 0.0,
    }
