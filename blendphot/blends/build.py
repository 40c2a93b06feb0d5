"""Building the blend sets: stamps HDF5 -> train/val/test blend sets, streamed to disk.

What the ``blend_sets`` stage (:mod:`blendphot.blends.stages`) runs; the galaxy-disjoint split
and the drawing of the blends are :mod:`blendphot.blends.pairing`'s."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from blendphot.blends.layout import (
    COUNT_COLUMN,
    GALAXY_FIELDS,
    open_blend_set,
    slot_count,
    slot_prefix,
)
from blendphot.blends.pairing import (
    blend_counts,
    check_fillable,
    draw_blends,
    draw_pairs,
    split_by_galaxy,
)
from blendphot.blends.settings import BlendSettings
from blendphot.config import PAIRS_ONLY
from blendphot.errors import InputError
from blendphot.io import atomic_path, config_hash, write_table
from blendphot.stamps.layout import read_stamps
from blendphot.version import software_version

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


def pair_slots(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`draw_pairs` rows (central, companion, dx, dy) as the slot arrays of
    :func:`draw_blends`: members (N, 2) and shifts (N, 2, 2), the central's (0, 0)."""
    rows = np.asarray(rows, dtype=np.int64)
    shifts = np.zeros((len(rows), 2, 2), dtype=np.int64)
    shifts[:, 1] = rows[:, 2:4]
    return rows[:, :2].copy(), shifts


def _slot_values(values: np.ndarray, members: np.ndarray, slot: int, absent) -> np.ndarray:
    """Each blend's ``values`` of the stamp in ``slot``, ``absent`` where the slot is empty."""
    present = members[:, slot] >= 0
    if present.all():
        return values[members[:, slot]]
    out = np.where(present, values[np.where(present, members[:, slot], 0)], absent)
    return out.astype(values.dtype) if values.dtype.kind in "iu" else out


def _blend_table(
    catalog: pd.DataFrame,
    members: np.ndarray,
    shifts: np.ndarray,
    first_id: int,
    galaxies: np.ndarray,
) -> pd.DataFrame:
    """The per-blend table (blends/layout.py): candels-blender columns plus the truth used for
    evaluation, and each galaxy's key (``g1_galaxy``, ``g2_galaxy``, ...: what the disjoint
    split holds apart). Absent slots: id -1, type and key "", numbers NaN."""
    n_slots = members.shape[1]
    table = {
        "id": np.arange(first_id, first_id + len(members)),
        "distance": np.hypot(shifts[:, 1, 0], shifts[:, 1, 1]),
        "shift_x": shifts[:, 1, 0],
        "shift_y": shifts[:, 1, 1],
    }
    columns = {
        "id": (catalog["id"].to_numpy(), -1),
        "mag": (catalog["mag"].to_numpy(), np.nan),
        "rad": (catalog["radius"].to_numpy(), np.nan),
        "z": (catalog["z"].to_numpy(), np.nan),
        "type": (catalog["type"].to_numpy().astype(str), ""),
        "flux": (catalog["flux"].to_numpy(), np.nan),
    }
    for slot in range(n_slots):
        g = slot_prefix(slot)
        if slot >= 2:
            present = members[:, slot] >= 0
            dx = np.where(present, shifts[:, slot, 0], np.nan)
            dy = np.where(present, shifts[:, slot, 1], np.nan)
            table |= {f"{g}_shift_x": dx, f"{g}_shift_y": dy, f"{g}_distance": np.hypot(dx, dy)}
        for field in GALAXY_FIELDS:
            values, absent = columns[field]
            table[f"{g}_{field}"] = _slot_values(values, members, slot, absent)
    for slot in range(n_slots):
        table[f"{slot_prefix(slot)}_galaxy"] = _slot_values(galaxies, members, slot, "")
    if n_slots > 2:
        table[COUNT_COLUMN] = (members >= 0).sum(axis=1)
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
    source: StampSource,
    members: np.ndarray,
    shifts: np.ndarray,
    block: int,
    rng: np.random.Generator,
) -> Iterator[dict[str, np.ndarray]]:
    """Yield blocks of blends: isolated slots, masks, blend, and noiseless slots if known.

    ``members`` (N, K) are stamp indices (-1: absent slot, left zero), ``shifts`` (N, K, 2)
    their whole-pixel shifts. Each companion is shifted; the strip it uncovers is refilled
    with pixels drawn from its own stamp's background, so the noise stays uniform. The blend
    is the sum of the slots.
    """
    size = source.images.shape[-1]
    n_slots = members.shape[1]
    for start in range(0, len(members), block):
        part, part_shifts = members[start : start + block], shifts[start : start + block]
        cen = part[:, 0]
        fill = np.zeros if n_slots > 2 else np.empty  # absent slots stay zero
        iso = fill((len(part), n_slots, size, size), np.float32)
        msk = fill((len(part), n_slots, size, size), np.uint8)
        iso[:, 0] = source.images[cen]
        msk[:, 0] = source.masks[cen]
        true = None
        if source.truth is not None:
            true = fill((len(part), n_slots, size, size), np.float32)
            true[:, 0] = source.truth[cen]
        for i in range(len(part)):
            for slot in range(1, n_slots):
                c = part[i, slot]
                if c < 0:
                    continue
                dx, dy = part_shifts[i, slot]
                _place_companion(source, c, dx, dy, iso[i, slot], msk[i, slot], rng)
                if true is not None:
                    for strip in place_shifted(true[i, slot], source.truth[c], dx, dy):
                        true[i, slot][strip] = 0.0
        blend = iso[:, 0] + iso[:, 1]
        for slot in range(2, n_slots):
            blend += iso[:, slot]
        out = {"isolated": iso, "mask": msk, "blend": blend}
        if true is not None:
            out["isolated_true"] = true
        yield out


def _place_companion(
    source: StampSource,
    c: int,
    dx: int,
    dy: int,
    iso: np.ndarray,
    msk: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Stamp ``c`` shifted by (dx, dy) into ``iso`` and its mask into ``msk``; the uncovered
    strips get background pixels of stamp ``c`` (image) and 0 (mask)."""
    pool = source.background(c)
    for strip in place_shifted(iso, source.images[c], dx, dy):
        n_fill = iso[strip].size
        iso[strip] = pool[rng.integers(0, pool.size, n_fill)].reshape(iso[strip].shape)
        msk[strip] = 0
    place_shifted(msk, source.masks[c], dx, dy)


def write_blend_set(
    source: StampSource,
    catalog: pd.DataFrame,
    members: np.ndarray,
    shifts: np.ndarray,
    out_path: Path,
    attrs: dict,
    first_id: int,
    chunk: int,
    rng: np.random.Generator,
    galaxies: np.ndarray | None = None,
) -> None:
    """Write one split block by block: memory stays at one block whatever N is.

    ``members`` (N, K) and ``shifts`` (N, K, 2) as :func:`draw_blends` gives them (pairs:
    :func:`pair_slots`)."""
    n, size, k = len(members), source.images.shape[-1], members.shape[1]
    chunk = max(1, min(chunk, n))
    shapes = {
        "blend": ((n, size, size), np.float32),
        "isolated": ((n, k, size, size), np.float32),
        "mask": ((n, k, size, size), np.uint8),
    }
    if source.truth is not None:
        shapes["isolated_true"] = ((n, k, size, size), np.float32)
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as h5:
        datasets = {
            name: h5.create_dataset(
                name, shape, dtype, chunks=(chunk, *shape[1:]), track_times=False
            )
            for name, (shape, dtype) in shapes.items()
        }
        if galaxies is None:
            galaxies = catalog["id"].astype(str).to_numpy()
        table = _blend_table(catalog, members, shifts, first_id, galaxies)
        fluxes = [f"{slot_prefix(slot)}_flux" for slot in range(k)]
        h5.create_dataset("flux", data=table[fluxes].to_numpy(), track_times=False)
        write_table(h5.create_group("table"), table)
        start = 0
        for block in render_blocks(source, members, shifts, chunk, rng):
            stop = start + len(block["blend"])
            for name, values in block.items():
                datasets[name][start:stop] = values
            start = stop
        h5.attrs.update(attrs)


def check_disjoint_splits(paths: dict[str, Path], val_disjoint: bool = False) -> None:
    """Read the written sets back; fail if a test galaxy appears in train or validation (and,
    with ``val_disjoint``, if a validation galaxy appears in train).

    A galaxy is its key (``g1_galaxy``, ``g2_galaxy``, ... of every slot: the
    ``blends.galaxy_key`` column), so that two stamps of one galaxy count as one; sets written
    without keys compare stamp ids. Absent slots (key "", id -1) are no galaxy.
    """
    ids = {}
    for split, path in paths.items():
        with open_blend_set(path) as h5:
            slots = [slot_prefix(slot) for slot in range(slot_count(h5))]
            field = "galaxy" if "g1_galaxy" in h5["table"] else "id"
            values = set().union(*(h5["table"][f"{g}_{field}"][()].tolist() for g in slots))
            ids[split] = values - {b"", -1}
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


def blends_hash(settings: BlendSettings | Mapping) -> str:
    """The blend sets' ``config_hash``: of the ``blends`` settings
    (:meth:`~blendphot.blends.settings.BlendSettings.as_config`), leaving out ``n_galaxies``
    when it is the default (pairs only), so that pair sets keep their hash."""
    settings = BlendSettings.of(settings)
    section = settings.as_config()
    if settings.shares == PAIRS_ONLY:
        section.pop("n_galaxies", None)
    return config_hash(section)


def _draw_slots(
    mags: np.ndarray,
    radii: np.ndarray,
    pools: dict[str, np.ndarray],
    settings: BlendSettings,
    half: int,
    rng: np.random.Generator,
    galaxies: np.ndarray,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each split's (members, shifts), drawn from its pool of stamps (:func:`draw_blends`;
    pairs: :func:`draw_pairs`, train and validation pairs drawn in one go when they share
    their galaxies)."""
    shares, sizes, pairing = settings.shares, settings.sizes, settings.pairing
    if shares != PAIRS_ONLY:
        counts = {s: blend_counts(shares, sizes[s], rng) for s in SPLITS}
        for split in SPLITS:
            check_fillable(mags, pools[split], counts[split], settings.mag_window, split, galaxies)
        k = max(shares)
        return {
            s: draw_blends(mags, radii, pools[s], counts[s], pairing, half, rng, galaxies, k)
            for s in SPLITS
        }
    if settings.val_fraction:
        slots = {
            split: pair_slots(
                draw_pairs(mags, radii, pools[split], sizes[split], pairing, half, rng, galaxies)
            )
            for split in ("train", "val")
        }
    else:
        n_tv = sizes["train"] + sizes["val"]
        pairs_tv = draw_pairs(mags, radii, pools["train"], n_tv, pairing, half, rng, galaxies)
        slots = {
            "train": pair_slots(pairs_tv[: sizes["train"]]),
            "val": pair_slots(pairs_tv[sizes["train"] :]),
        }
    test = draw_pairs(mags, radii, pools["test"], sizes["test"], pairing, half, rng, galaxies)
    slots["test"] = pair_slots(test)
    return slots


def build_blend_sets(
    stamps_path: Path, settings: BlendSettings | Mapping, seed: int, out_paths: dict[str, Path]
) -> dict[str, int]:
    """Split galaxies (test set aside first), draw blends, write train/val/test blend sets.

    ``settings`` (:class:`~blendphot.blends.settings.BlendSettings`, or a ``blends`` config
    section): its ``n_galaxies`` (count -> share; default pairs only) fixes each split's number
    of blends of each count (:func:`blend_counts`). Every count must be fillable from every
    split's galaxies (:func:`check_fillable`), checked before any blend is drawn.
    """
    settings = BlendSettings.of(settings)
    shares, sizes = settings.shares, settings.sizes
    multi = shares != PAIRS_ONLY
    stamps, catalog = read_stamps(stamps_path)
    with stamps:
        source = StampSource(stamps)
        rng = np.random.default_rng([seed, STAGE_STREAM])
        half = stamps["image"].shape[-1] // 2
        mags = catalog["mag"].to_numpy(dtype=float)
        radii = catalog["radius"].to_numpy(dtype=float)
        galaxies = galaxy_keys(catalog, settings.galaxy_key, stamps_path)
        try:
            trainval, test = split_by_galaxy(galaxies, settings.test_fraction, rng)
            if settings.val_fraction:  # validation galaxies set aside from the training ones
                k_train, k_val = split_by_galaxy(galaxies[trainval], settings.val_fraction, rng)
                pools = {"train": trainval[k_train], "val": trainval[k_val], "test": test}
            else:  # train and validation blends drawn from the same galaxies
                pools = {"train": trainval, "val": trainval, "test": test}
            slots = _draw_slots(mags, radii, pools, settings, half, rng, galaxies)
        except InputError as exc:
            raise InputError(stamps_path, exc.problem) from exc
        first_id = 0
        for split in SPLITS:
            attrs = {
                "split": split,
                "seed": seed,
                "config_hash": blends_hash(settings),
                **software_version(),  # version and commit
                "noise": float(stamps.attrs["noise"]),
                "zeropoint": float(stamps.attrs["zeropoint"]),
                "recipe": settings.recipe,
                "galaxy_key": settings.galaxy_key or "id",
            }
            if multi:
                attrs["galaxy_counts"] = json.dumps({str(c): v for c, v in shares.items()})
            split_rng = np.random.default_rng([seed, STAGE_STREAM, SPLITS.index(split) + 1])
            write_blend_set(
                source,
                catalog,
                *slots[split],
                out_paths[split],
                attrs,
                first_id,
                settings.chunk,
                split_rng,
                galaxies,
            )
            first_id += len(slots[split][0])
    check_disjoint_splits(out_paths, bool(settings.val_fraction))
    log.info("blend sets: %s; no test galaxy in train or val", sizes)
    return sizes
