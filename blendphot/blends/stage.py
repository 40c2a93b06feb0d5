"""The blends stage: stamps HDF5 -> train/val/test blend sets, streamed to disk."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from blendphot import __version__
from blendphot.blends.pairing import draw_pairs, split_galaxies
from blendphot.errors import InputError
from blendphot.io import atomic_path, config_hash, write_table
from blendphot.stamps import read_stamps

log = logging.getLogger(__name__)
STAGE_STREAM = 3
SPLITS = ("train", "val", "test")


def shift_stamp(image: np.ndarray, dx: int, dy: int, fill: np.ndarray | float) -> np.ndarray:
    """Translate an image by whole pixels; uncovered pixels take ``fill`` (array or scalar)."""
    out = np.empty_like(image)
    size_y, size_x = image.shape
    out[...] = 0
    src_y = slice(max(0, -dy), size_y - max(0, dy))
    dst_y = slice(max(0, dy), size_y - max(0, -dy))
    src_x = slice(max(0, -dx), size_x - max(0, dx))
    dst_x = slice(max(0, dx), size_x - max(0, -dx))
    covered = np.zeros(image.shape, dtype=bool)
    covered[dst_y, dst_x] = True
    out[dst_y, dst_x] = image[src_y, src_x]
    if np.ndim(fill) == 0:
        out[~covered] = fill
    else:
        out[~covered] = np.asarray(fill)[~covered]
    return out


def _pair_table(catalog: pd.DataFrame, rows: np.ndarray, first_id: int) -> pd.DataFrame:
    """The per-blend table: candels-blender columns plus the truth used for evaluation."""
    cen, comp = catalog.iloc[rows[:, 0]], catalog.iloc[rows[:, 1]]
    table = {
        "id": np.arange(first_id, first_id + len(rows)),
        "distance": np.hypot(rows[:, 2], rows[:, 3]),
        "shift_x": rows[:, 2],
        "shift_y": rows[:, 3],
    }
    for prefix, part in (("g1", cen), ("g2", comp)):
        table[f"{prefix}_id"] = part["id"].to_numpy()
        table[f"{prefix}_mag"] = part["mag"].to_numpy()
        table[f"{prefix}_rad"] = part["radius"].to_numpy()
        table[f"{prefix}_z"] = part["z"].to_numpy()
        table[f"{prefix}_type"] = part["type"].to_numpy().astype(str)
        table[f"{prefix}_flux"] = part["flux"].to_numpy()
    return pd.DataFrame(table)


def write_blend_set(
    stamps: h5py.File,
    catalog: pd.DataFrame,
    rows: np.ndarray,
    out_path: Path,
    attrs: dict,
    first_id: int,
    chunk: int,
    rng: np.random.Generator,
) -> None:
    """Write one split block by block: memory stays at one block whatever N is."""
    n, size = len(rows), stamps["image"].shape[-1]
    images, masks = stamps["image"], stamps["mask"]
    chunk = max(1, min(chunk, n))
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as h5:
        opts = {"track_times": False}
        d_blend = h5.create_dataset(
            "blend", (n, size, size), np.float32, chunks=(chunk, size, size), **opts
        )
        d_iso = h5.create_dataset(
            "isolated", (n, 2, size, size), np.float32, chunks=(chunk, 2, size, size), **opts
        )
        d_mask = h5.create_dataset(
            "mask", (n, 2, size, size), np.uint8, chunks=(chunk, 2, size, size), **opts
        )
        table = _pair_table(catalog, rows, first_id)
        h5.create_dataset("flux", data=table[["g1_flux", "g2_flux"]].to_numpy(), **opts)
        write_table(h5.create_group("table"), table)
        for start in range(0, n, chunk):
            block = rows[start : start + chunk]
            iso = np.empty((len(block), 2, size, size), np.float32)
            msk = np.empty((len(block), 2, size, size), np.uint8)
            for i, (cen, comp, dx, dy) in enumerate(block):
                iso[i, 0] = images[cen]
                msk[i, 0] = masks[cen]
                comp_image, comp_mask = images[comp], masks[comp]
                # refill uncovered pixels with the companion stamp's own background
                background = comp_image[comp_mask == 0]
                fill = rng.choice(background, size=comp_image.shape).astype(np.float32)
                iso[i, 1] = shift_stamp(comp_image, dx, dy, fill)
                msk[i, 1] = shift_stamp(comp_mask, dx, dy, 0)
            stop = start + len(block)
            d_iso[start:stop] = iso
            d_mask[start:stop] = msk
            d_blend[start:stop] = iso[:, 0] + iso[:, 1]
        h5.attrs.update(attrs)


def build_blend_sets(
    stamps_path: Path, params: dict, seed: int, out_paths: dict[str, Path]
) -> dict[str, int]:
    """Split galaxies (test set aside first), draw pairs, write train/val/test blend sets."""
    stamps, catalog = read_stamps(stamps_path)
    with stamps:
        rng = np.random.default_rng([seed, STAGE_STREAM])
        half = stamps["image"].shape[-1] // 2
        mags = catalog["mag"].to_numpy(dtype=float)
        radii = catalog["radius"].to_numpy(dtype=float)
        sizes = {s: params[f"n_{s}"] for s in SPLITS}
        try:
            trainval, test = split_galaxies(len(catalog), params["test_fraction"], rng)
            pairs_tv = draw_pairs(
                mags, radii, trainval, sizes["train"] + sizes["val"], params, half, rng
            )
            pairs_test = draw_pairs(mags, radii, test, sizes["test"], params, half, rng)
        except InputError as exc:
            raise InputError(stamps_path, exc.problem) from exc
        pairs = {
            "train": pairs_tv[: sizes["train"]],
            "val": pairs_tv[sizes["train"] :],
            "test": pairs_test,
        }
        first_id = 0
        for split in SPLITS:
            attrs = {
                "split": split,
                "seed": seed,
                "config_hash": config_hash(params),
                "version": __version__,
                "noise": float(stamps.attrs["noise"]),
                "zeropoint": float(stamps.attrs["zeropoint"]),
                "recipe": params["recipe"],
            }
            split_rng = np.random.default_rng([seed, STAGE_STREAM, SPLITS.index(split) + 1])
            write_blend_set(
                stamps,
                catalog,
                pairs[split],
                out_paths[split],
                attrs,
                first_id,
                params["chunk"],
                split_rng,
            )
            first_id += len(pairs[split])
    log.info("blend sets: %s", sizes)
    return sizes
