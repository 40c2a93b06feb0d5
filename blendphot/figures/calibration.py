"""Calibration figure: the selected galaxies against the paper's published galaxies."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter, ScalarFormatter

from blendphot.figures.common import save_figure
from blendphot.sky.calibration import GALAXY_TYPES, compare_to_reference, load_reference_galaxies
from blendphot.stamps.layout import read_stamps

TYPE_NAMES = {"sph": "bulge", "disk": "disc", "sphd": "bulge+disc", "irr": "irregular"}


def _ecdf(ax, values: np.ndarray, **style) -> None:
    """Empirical cumulative distribution as a step line."""
    values = np.sort(values[np.isfinite(values)])
    if values.size:
        ax.step(values, np.arange(1, values.size + 1) / values.size, where="post", **style)


def _p_text(table: pd.DataFrame | None, check: str, kind: str) -> str:
    """'KS p = ...' for one row of the comparison table ('' without a reference)."""
    if table is None:
        return ""
    row = table[(table["check"] == check) & (table["type"] == kind)]
    return f"KS p = {row['p_value'].iloc[0]:.3f}" if len(row) else ""


def calibration_figure(stamps_path: Path, reference_path: Path | None, paths: list[Path]) -> None:
    """ECDFs of magnitude, redshift and radius per type, and the type mix, against the paper."""
    h5, sample = read_stamps(stamps_path)
    with h5:
        source = str(h5.attrs.get("source", "stamps"))
    reference = load_reference_galaxies(reference_path) if reference_path else None
    table = compare_to_reference(sample, reference) if reference is not None else None
    fig, axes = plt.subplots(2, 4, figsize=(13.0, 6.2))
    ours = {"color": "C0", "label": f"{source} ({len(sample)})"}
    n_ref = f" ({len(reference)})" if reference is not None else ""
    theirs = {"color": "k", "ls": "--", "label": f"paper{n_ref}"}
    panels = (("mag", "F160W magnitude"), ("z", "redshift"))
    for ax, (name, label) in zip(axes[0, :2], panels, strict=True):
        _ecdf(ax, sample[name].to_numpy(dtype=float), **ours)
        if reference is not None:
            _ecdf(ax, reference[name].to_numpy(dtype=float), **theirs)
        ax.set_xlabel(label)
        ax.set_ylabel("cumulative fraction")
        ax.set_title(_p_text(table, name, "all"), fontsize=9)
        ax.legend(fontsize=8, loc="upper left")
    ax = axes[0, 2]
    x = np.arange(len(GALAXY_TYPES))
    frac = sample["type"].value_counts(normalize=True)
    ax.bar(x - 0.2, [frac.get(t, 0.0) for t in GALAXY_TYPES], 0.4, color="C0", label=source)
    if reference is not None:
        ref = reference["type"].value_counts(normalize=True)
        ax.bar(x + 0.2, [ref.get(t, 0.0) for t in GALAXY_TYPES], 0.4, color="0.5", label="paper")
    ax.set_xticks(x, [TYPE_NAMES[t] for t in GALAXY_TYPES], fontsize=8)
    ax.set_ylabel("fraction")
    ax.legend(fontsize=8)
    ax.set_title("type mix", fontsize=9)
    ax = axes[0, 3]
    ax.axis("off")
    if table is None:
        text = f"reference table not found:\n{reference_path}\n(synthetic side only)"
    else:
        shown = table.assign(
            value=np.where(table["check"] == "fraction", table["statistic"], table["p_value"])
        )
        lines = [f"{'check':9s}{'type':6s}{'value':>8s}"]
        lines += [f"{r.check:9s}{r.type:6s}{r.value:8.3f}" for r in shown.itertuples()]
        text = "KS p-value, or fraction\ndifference (ours - paper)\n\n" + "\n".join(lines)
    ax.text(0.0, 1.0, text, va="top", family="monospace", fontsize=7.5, transform=ax.transAxes)
    for ax, kind in zip(axes[1], GALAXY_TYPES, strict=True):
        _ecdf(ax, sample.loc[sample["type"] == kind, "radius"].to_numpy(dtype=float), **ours)
        if reference is not None:
            rad = reference.loc[reference["type"] == kind, "radius"].to_numpy(dtype=float)
            _ecdf(ax, rad, **theirs)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"radius of {TYPE_NAMES[kind]}s (pixels)")
        ax.set_title(_p_text(table, "radius", kind), fontsize=9)
    axes[1, 0].set_ylabel("cumulative fraction")
    fig.suptitle("Selected galaxies against the paper's published test galaxies", fontsize=11)
    fig.tight_layout()
    save_figure(fig, paths)
