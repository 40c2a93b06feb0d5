"""Builders of small test data, shared by the tests and the benchmarks.

- :func:`run_data_chain`: the data chain of a (tiny) synthetic config outside Snakemake, through
  the real stages: sky, stamps and blend sets in one folder (a few seconds for
  ``tests/data/tiny.yaml``).
- :func:`write_multi_set`: a blend set of 2 to K round Gaussian galaxies in the K-slot layout
  (:mod:`blendphot.blends.layout`), written directly, not by the chain (milliseconds): for unit
  tests of the stages and checkers that read blend sets.
- :func:`gaussian`: one such galaxy image.

Nothing in the workflow imports this module.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from blendphot.blends.layout import GALAXY_FIELDS, slot_prefix
from blendphot.io import write_table

NOISE = 0.01
"""Pixel noise (standard deviation) of :func:`write_multi_set`'s isolated images."""


def run_data_chain(config: dict, directory: Path) -> dict[str, Path]:
    """Sky, stamps and blend sets of a synthetic config in one folder; the paths by name."""
    from blendphot.stages import run_stage

    directory = Path(directory)
    p = {k: directory / f"{k}.fits" for k in ("mosaic", "catalog")}
    p.update({k: directory / f"{k}.h5" for k in ("stamps", "train", "val", "test")})
    p["table1"] = directory / "table1.csv"
    sky = ("mosaic", "catalog")
    run_stage("synthetic_sky", config, {}, {k: p[k] for k in sky}, {})
    stamps = {k: p[k] for k in ("stamps", "table1")}  # no cleaning report: faster
    run_stage("stamps", config, {k: p[k] for k in sky}, stamps, {})
    splits = ("train", "val", "test")
    run_stage("blend_sets", config, {"stamps": p["stamps"]}, {k: p[k] for k in splits}, {})
    return p


def gaussian(size: int, x: float, y: float, sigma: float, flux: float) -> np.ndarray:
    """A round Gaussian galaxy of total ``flux`` centred on pixel (x, y)."""
    yy, xx = np.mgrid[:size, :size]
    g = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return flux * g / g.sum()


def write_multi_set(
    path: Path,
    counts: list[int] | np.ndarray,
    size: int = 64,
    seed: int = 0,
    n_slots: int | None = None,
) -> Path:
    """Blends of ``counts[i]`` Gaussian galaxies (K = ``n_slots``, default max(counts)); the
    companions sit at 10-24 pixels from the central, at least 8 apart, brightest first."""
    rng = np.random.default_rng(seed)
    counts = np.asarray(counts, dtype=np.int64)
    n, k = len(counts), int(n_slots or counts.max())
    centre = size // 2
    true = np.zeros((n, k, size, size), np.float32)
    flux = np.full((n, k), np.nan)
    shifts = np.full((n, k, 2), np.nan)
    fields = {f: np.full((n, k), np.nan) for f in ("mag", "rad", "z")}
    ids = np.full((n, k), -1, dtype=np.int64)
    for i, count in enumerate(counts):
        placed = [(0, 0)]
        while len(placed) < count:
            dist, angle = rng.uniform(10, 24), rng.uniform(0, 2 * np.pi)
            dx, dy = int(round(dist * np.cos(angle))), int(round(dist * np.sin(angle)))
            if all(np.hypot(dx - px, dy - py) >= 8 for px, py in placed):
                placed.append((dx, dy))
        placed = [placed[0]] + sorted(placed[1:], key=lambda s: np.hypot(*s))
        for slot, (dx, dy) in enumerate(placed):
            f = rng.uniform(5, 50)
            sigma = rng.uniform(1.5, 3.0)
            true[i, slot] = gaussian(size, centre + dx, centre + dy, sigma, f)
            flux[i, slot], shifts[i, slot] = f, (dx, dy)
            fields["mag"][i, slot] = 25.96 - 2.5 * np.log10(f)
            fields["rad"][i, slot] = 1.18 * sigma
            fields["z"][i, slot] = rng.uniform(0.5, 3)
            ids[i, slot] = 1000 * i + slot
        # the layout's order: the central, then the companions brightest first
        order = [0, *(1 + np.argsort(-flux[i, 1:count], kind="stable"))]
        for array in (true, flux, shifts, ids, *fields.values()):
            array[i, :count] = array[i, order]
    present = np.isfinite(flux)
    iso = true + present[:, :, None, None] * rng.normal(0, NOISE, true.shape).astype(np.float32)
    mask = (true > 3 * NOISE).astype(np.uint8)
    table = {
        "id": np.arange(n),
        "distance": np.hypot(shifts[:, 1, 0], shifts[:, 1, 1]),
        "shift_x": shifts[:, 1, 0].astype(np.int64),
        "shift_y": shifts[:, 1, 1].astype(np.int64),
    }
    for slot in range(k):
        g = slot_prefix(slot)
        if slot >= 2:
            table[f"{g}_shift_x"] = shifts[:, slot, 0]
            table[f"{g}_shift_y"] = shifts[:, slot, 1]
            table[f"{g}_distance"] = np.hypot(shifts[:, slot, 0], shifts[:, slot, 1])
        for field in GALAXY_FIELDS:
            if field == "id":
                table[f"{g}_id"] = ids[:, slot]
            elif field == "type":
                table[f"{g}_type"] = np.where(present[:, slot], "disk", "")
            elif field == "flux":
                table[f"{g}_flux"] = flux[:, slot]
            else:
                table[f"{g}_{field}"] = fields[field][:, slot]
    if k > 2:
        table["n_galaxies"] = counts
    with h5py.File(path, "w") as h5:
        h5["blend"] = iso.sum(axis=1)
        h5["isolated"] = iso
        h5["isolated_true"] = true
        h5["mask"] = mask
        h5["flux"] = flux
        write_table(h5.create_group("table"), pd.DataFrame(table))
        h5.attrs.update(
            {
                "split": "test",
                "seed": seed,
                "config_hash": "0",
                "version": "0",
                "noise": NOISE,
                "zeropoint": 25.96,
                "recipe": "candels_blender",
            }
        )
    return path
