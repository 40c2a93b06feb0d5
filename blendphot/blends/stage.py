"""The blends stage: stamps HDF5 -> train/val/test blend sets, streamed to disk."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from blendphot import __version__
from blendphot.blends.layout import open_blend_set
from blendphot.blends.pairing import draw_pairs, split_by_galaxy
from blendphot.errors import InputError
from blendphot.io import atomic_path, config_hash, write_table
from blendphot.stamps.layout import read_stamps

log = logging.getLogger(__name__)
STAGE_STREAM = 3
SPLITS = ("train", "val", "test")


def shift_slices(size: int, shift: int) -> tuple[slice, slice]:
    """(source, destination) slices of one axis for a whole-pixel shift."""
    return slice(max(0, -shift), size - max(0, shift)), slice(max(0, shift), size - max(0, -shift))


def place_shifted(dst: np.ndarray, image: np.ndarray, dx: int, dy: int) -> list[tuple]:
    """Copy ``image`` shifted by (dx, dy) into ``dst`` (same shape); return the index
    tuples of the strips left uncovered (rows outside the copy, then the side columns)."""
    size_y, size_x = image.shape
    src_y, dst_y = shift_slices(size_y, dy)
    src_x, dst_x = shift_slices(size_x, dx)
    dst[dst_y, dst_x] = image[src_y, src_x]
    strips = [
        (slice(0, dst_y.start), slice(None)),
        (slice(dst_y.stop, size_y), slice(None)),
        (dst_y, slice(0, dst_x.start)),
        (dst_y, slice(dst_x.stop, size_x)),
    ]
    return [s for s in strips if dst[s].size]


def shift_stamp(image: np.ndarray, dx: int, dy: int, fill: float = 0.0) -> np.ndarray:
    """Translate an image by whole pixels (dx along x, dy along y); uncovered pixels = fill."""
    out = np.empty_like(image)
    for strip in place_shifted(out, image, dx, dy):
        out[strip] = fill
    return out


def uncovered_pixels(shape: tuple[int, int], dx: int, dy: int) -> np.ndarray:
    """Boolean mask of the pixels a (dx, dy) shift leaves without data."""
    hole = np.zeros(shape, dtype=bool)
    for strip in place_shifted(np.zeros(shape, bool), np.ones(shape, bool), dx, dy):
        hole[strip] = True
    return hole


def galaxy_keys(catalog: pd.DataFrame, key: str | None, path: Path) -> np.ndarray:
    """Each stamp's galaxy, as text: the catalogue column ``key`` (default: the stamp id)."""
    column = key or "id"
    if column not in catalog.columns:
        raise InputError(
            path,
            f"blends.galaxy_key '{column}' is not a column of the stamps catalogue "
            f"(columns: {', '.join(map(str, catalog.columns))})",
        )
    values = catalog[column]
    if values.isna().any():
        first = catalog.loc[values.isna(), "id"].iloc[0]
        raise InputError(path, f"blends.galaxy_key '{column}' is empty for stamp id {first}")
    return values.astype(str).to_numpy()


def _pair_table(
    catalog: pd.DataFrame, rows: np.ndarray, first_id: int, galaxies: np.ndarray
) -> pd.DataFrame:
    """The per-blend table: candels-blender columns plus the truth used for evaluation, and
    each galaxy's key (``g1_galaxy``, ``g2_galaxy``: what the disjoint split holds apart)."""
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
    table["g1_galaxy"] = galaxies[rows[:, 0]]
    table["g2_galaxy"] = galaxies[rows[:, 1]]
    return pd.DataFrame(table)


class StampSource:
    """The cleaned stamps (and noiseless truth, if any) in memory, with background pools.

    A stamps file holds a few thousand stamps at most (~100 MB), so it is read once; the
    blend sets, which are ten times larger, are streamed to disk block by block.
    """

    def __init__(self, stamps: h5py.File):
        self.images = stamps["image"][()]
        self.masks = stamps["mask"][()]
        self.truth = stamps["image_true"][()] if "image_true" in stamps else None
        self._background: dict[int, np.ndarray] = {}

    def background(self, index: int) -> np.ndarray:
        """Pixels of a stamp outside its galaxy's mask (cached)."""
        if index not in self._background:
            self._background[index] = self.images[index][self.masks[index] == 0]
        return self._background[index]


def render_blocks(
    source: StampSource, rows: np.ndarray, block: int, rng: np.random.Generator
) -> Iterator[dict[str, np.ndarray]]:
    """Yield blocks of blends: isolated pair, masks, blend, and noiseless pair if known.

    The companion is shifted by whole pixels; the strip it uncovers is refilled with
    pixels drawn from its own stamp's background, so the noise stays uniform.
    """
    size = source.images.shape[-1]
    for start in range(0, len(rows), block):
        part = rows[start : start + block]
        cen = part[:, 0]
        iso = np.empty((len(part), 2, size, size), np.float32)
        msk = np.empty((len(part), 2, size, size), np.uint8)
        iso[:, 0] = source.images[cen]
        msk[:, 0] = source.masks[cen]
        true = None
        if source.truth is not None:
            true = np.empty((len(part), 2, size, size), np.float32)
            true[:, 0] = source.truth[cen]
        for i, (_, c, dx, dy) in enumerate(part):
            pool = source.background(c)
            for strip in place_shifted(iso[i, 1], source.images[c], dx, dy):
                n_fill = iso[i, 1][strip].size
                iso[i, 1][strip] = pool[rng.integers(0, pool.size, n_fill)].reshape(
                    iso[i, 1][strip].shape
                )
                msk[i, 1][strip] = 0
                if true is not None:
                    true[i, 1][strip] = 0.0
            place_shifted(msk[i, 1], source.masks[c], dx, dy)
            if true is not None:
                place_shifted(true[i, 1], source.truth[c], dx, dy)
        out = {"isolated": iso, "mask": msk, "blend": iso[:, 0] + iso[:, 1]}
        if true is not None:
            out["isolated_true"] = true
        yield out


def write_blend_set(
    source: StampSource,
    catalog: pd.DataFrame,
    rows: np.ndarray,
    out_path: Path,
    attrs: dict,
    first_id: int,
    chunk: int,
    rng: np.random.Generator,
    galaxies: np.ndarray | None = None,
) -> None:
    """Write one split block by block: memory stays at one block whatever N is."""
    n, size = len(rows), source.images.shape[-1]
    chunk = max(1, min(chunk, n))
    shapes = {
        "blend": ((n, size, size), np.float32),
        "isolated": ((n, 2, size, size), np.float32),
        "mask": ((n, 2, size, size), np.uint8),
    }
    if source.truth is not None:
        shapes["isolated_true"] = ((n, 2, size, size), np.float32)
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as h5:
        datasets = {
            name: h5.create_dataset(
                name, shape, dtype, chunks=(chunk, *shape[1:]), track_times=False
            )
            for name, (shape, dtype) in shapes.items()
        }
        if galaxies is None:
            galaxies = catalog["id"].astype(str).to_numpy()
        table = _pair_table(catalog, rows, first_id, galaxies)
        h5.create_dataset("flux", data=table[["g1_flux", "g2_flux"]].to_numpy(), track_times=False)
        write_table(h5.create_group("table"), table)
        start = 0
        for block in render_blocks(source, rows, chunk, rng):
            stop = start + len(block["blend"])
            for name, values in block.items():
                datasets[name][start:stop] = values
            start = stop
        h5.attrs.update(attrs)


def check_disjoint_splits(paths: dict[str, Path], val_disjoint: bool = False) -> None:
    """Read the written sets back; fail if a test galaxy appears in train or validation (and,
    with ``val_disjoint``, if a validation galaxy appears in train).

    A galaxy is its key (``g1_galaxy``/``g2_galaxy``, the ``blends.galaxy_key`` column), so
    that two stamps of one galaxy count as one; sets written without keys compare stamp ids.
    """
    ids = {}
    for split, path in paths.items():
        with open_blend_set(path) as h5:
            names = ("g1_galaxy", "g2_galaxy") if "g1_galaxy" in h5["table"] else ("g1_id", "g2_id")
            ids[split] = set().union(*(h5["table"][n][()].tolist() for n in names))
    shared = ids["test"] & (ids["train"] | ids["val"])
    if shared:
        raise InputError(
            paths["test"], f"{len(shared)} test galaxies also in train/val, e.g. {min(shared)}"
        )
    shared = ids["val"] & ids["train"] if val_disjoint else set()
    if shared:
        raise InputError(
            paths["val"], f"{len(shared)} validation galaxies also in train, e.g. {min(shared)}"
        )


def build_blend_sets(
    stamps_path: Path, params: dict, seed: int, out_paths: dict[str, Path]
) -> dict[str, int]:
    """Split galaxies (test set aside first), draw pairs, write train/val/test blend sets."""
    stamps, catalog = read_stamps(stamps_path)
    with stamps:
        source = StampSource(stamps)
        rng = np.random.default_rng([seed, STAGE_STREAM])
        half = stamps["image"].shape[-1] // 2
        mags = catalog["mag"].to_numpy(dtype=float)
        radii = catalog["radius"].to_numpy(dtype=float)
        sizes = {s: params[f"n_{s}"] for s in SPLITS}
        galaxies = galaxy_keys(catalog, params.get("galaxy_key"), stamps_path)
        try:
            trainval, test = split_by_galaxy(galaxies, params["test_fraction"], rng)
            val_fraction = params.get("val_fraction")
            if val_fraction:  # validation galaxies set aside from the training ones too
                k_train, k_val = split_by_galaxy(galaxies[trainval], val_fraction, rng)
                pairs = {
                    split: draw_pairs(
                        mags, radii, trainval[k], sizes[split], params, half, rng, galaxies
                    )
                    for split, k in (("train", k_train), ("val", k_val))
                }
            else:  # train and validation pairs drawn from the same galaxies
                n_tv = sizes["train"] + sizes["val"]
                pairs_tv = draw_pairs(mags, radii, trainval, n_tv, params, half, rng, galaxies)
                pairs = {"train": pairs_tv[: sizes["train"]], "val": pairs_tv[sizes["train"] :]}
            pairs["test"] = draw_pairs(
                mags, radii, test, sizes["test"], params, half, rng, galaxies
            )
        except InputError as exc:
            raise InputError(stamps_path, exc.problem) from exc
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
                "galaxy_key": params.get("galaxy_key") or "id",
            }
            split_rng = np.random.default_rng([seed, STAGE_STREAM, SPLITS.index(split) + 1])
            write_blend_set(
                source,
                catalog,
                pairs[split],
                out_paths[split],
                attrs,
                first_id,
                params["chunk"],
                split_rng,
                galaxies,
            )
            first_id += len(pairs[split])
    check_disjoint_splits(out_paths, bool(params.get("val_fraction")))
    log.info("blend sets: %s; no test galaxy in train or val", sizes)
    return sizes
