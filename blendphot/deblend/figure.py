"""One deblended region: the mosaic's cut-out, its groups, each blended member's flux from a
network and from sep (against the truth where it is known), and sep's segmentation of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

REGION = 200
"""Side (pixels) of the region shown."""


def busiest_group(deblended: pd.DataFrame, method: str) -> int:
    """The group to show: the largest whose members a network measured (ties: the first)."""
    measured = deblended[np.isfinite(deblended[f"flux_{method}"]) & (deblended["slot"] > 0)]
    if not len(measured):
        measured = deblended
    counts = measured.groupby("group_id")["id"].count()
    return int(counts.idxmax()) if len(counts) else int(deblended["group_id"].iloc[0])


def region_figure(
    mosaic_path: str | Path,
    deblended: pd.DataFrame,
    truth: pd.DataFrame | None,
    methods: list[str],
    out: Path,
    baseline,
    group: int | None = None,
    size: int = REGION,
    hdu: int | None = None,
) -> Path:
    """A figure of the region around ``group`` (default :func:`busiest_group`): the pixels
    with each object marked (groups by colour) and sep's segmentation beside them; each
    member of the group labelled with the flux of ``methods[0]``, sep's and the true one
    (``baseline``: the baseline settings, whose hot pass segments the region)."""
    from blendphot.baseline.settings import DetectionSettings
    from blendphot.deblend.detect import detect_region, image_unit, region_noise
    from blendphot.figures.common import asinh_stretch, plt, save_figure

    method = methods[0]
    group = busiest_group(deblended, method) if group is None else group
    members = deblended[deblended["group_id"] == group]
    with fits.open(mosaic_path, memmap=True) as hdul:
        data = image_unit(hdul, hdu, mosaic_path).data
        cx, cy = int(round(members["x"].mean())), int(round(members["y"].mean()))
        x0 = int(np.clip(cx - size // 2, 0, max(0, data.shape[1] - size)))
        y0 = int(np.clip(cy - size // 2, 0, max(0, data.shape[0] - size)))
        pixels = np.array(data[y0 : y0 + size, x0 : x0 + size], dtype=np.float32)
    noise = region_noise(pixels, None)
    _, segmap = detect_region(np.nan_to_num(pixels), noise, DetectionSettings.of(baseline))
    true = truth.set_index("id")["flux"] if truth is not None else None
    inside = deblended[
        deblended["x"].between(x0, x0 + pixels.shape[1] - 1)
        & deblended["y"].between(y0, y0 + pixels.shape[0] - 1)
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.6))
    axes[0].imshow(asinh_stretch(np.nan_to_num(pixels)), origin="lower", cmap="gray_r")
    shown = np.where(segmap > 0, segmap % 20, np.nan)
    axes[1].imshow(shown, origin="lower", cmap="tab20", interpolation="nearest")
    colours = plt.get_cmap("tab10")
    for ax in axes:
        for _, row in inside.iterrows():
            blended = row["group_size"] > 1
            colour = colours(int(row["group_id"]) % 10) if blended else "0.5"
            centre = (row["x"] - x0, row["y"] - y0)
            width = 1.5 if blended else 0.6
            ax.add_patch(plt.Circle(centre, 2 * row["radius"], fill=False, color=colour, lw=width))
        ax.set_xlim(-0.5, pixels.shape[1] - 0.5)
        ax.set_ylim(-0.5, pixels.shape[0] - 0.5)
    lines = [f"group {group}: slot  {method}  sep" + ("  true" if true is not None else "")]
    ordered = members.assign(_last=members["slot"] == 0).sort_values(["_last", "slot"])
    for number, (_, row) in enumerate(ordered.iterrows(), start=1):
        slot = str(int(row["slot"])) if row["slot"] > 0 else "-"
        axes[0].annotate(
            str(number), (row["x"] - x0, row["y"] - y0), xytext=(6, 6),
            textcoords="offset points", fontsize=10, color="tab:red", weight="bold",
        )  # fmt: skip
        text = f"{number}: {slot}  {row[f'flux_{method}']:.1f}  {row['flux_sep']:.1f}"
        if true is not None and row["id"] in true.index:
            text += f"  {true[row['id']]:.1f}"
        lines.append(text)
    axes[0].text(
        0.02, 0.98, "\n".join(lines), transform=axes[0].transAxes, va="top", fontsize=8,
        family="monospace", bbox={"boxstyle": "round", "fc": "white", "alpha": 0.85},
    )  # fmt: skip
    axes[0].set_title(f"pixels ({x0}, {y0}) + {pixels.shape[1]} x {pixels.shape[0]}")
    axes[1].set_title("sep's segmentation (hot pass); circles: 2 half-light radii")
    fig.tight_layout()
    save_figure(fig, [out])
    return out
