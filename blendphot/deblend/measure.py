"""One tile of the deblending: each group's stamp, the networks' fluxes with their calibrated
errors, sep's photometry of the same objects, and the flags.

A group's stamp is the 128 x 128 cut-out whose centre pixel holds its central (the blend
sets' convention). What the networks learnt holds the group's galaxies and nothing else, so
the segments of sep's detections (hot pass, on the tile) that belong to no member the networks
take are replaced by noise of the tile's level, grown by :data:`CLEAN_GROWTH` pixels (not into
a member's segment); the part of a stamp beyond the mosaic's edge is noise too (flagged). A
stamp with non-finite pixels inside the mosaic is not measured (flagged). The networks learnt
blends made by adding n stamps, each with its own noise: with ``deblend.match_noise`` they see
each stamp with noise added up to sqrt(n) times the image's (:func:`training_noise`), every
network the same; sep measures the stamp as it is, as it measures the artificial test blends
(:func:`~blendphot.baseline.sep_photometry.measure_members`, members at their catalogue
positions). The calibration fitted on the validation blends turns each method's raw width
into a 68% interval (:func:`~blendphot.evaluate.uncertainty.conformal.calibrated_columns`);
an isolated object gets sep's isophotal and Kron fluxes with their noise errors (its interval
the flux +- that error).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from scipy import ndimage

from blendphot.baseline.sep_photometry import measure_members, member_gates
from blendphot.baseline.settings import BaselineSettings
from blendphot.deblend.catalog import (
    ERROR_SUFFIXES,
    OWN_DOMAIN,
    SEP_METHODS,
    best_flux,
    flag_bit,
    flag_mask,
    flag_names,
)
from blendphot.deblend.detect import (
    detect_region,
    image_unit,
    region_noise,
    subtract_background,
)
from blendphot.deblend.groups import companion_geometry, outside
from blendphot.deblend.settings import STAMP_SIZE
from blendphot.deblend.tiles import Tile
from blendphot.errors import InputError
from blendphot.stamps.cleaning import cut_origin

log = logging.getLogger(__name__)

CLEAN_GROWTH = 2
"""Pixels by which a non-member's segment grows before it is replaced by noise."""
NOISE_STREAM = 1
"""Sub-branch of a group's seed for the noise that matches the training blends'."""
MATCH_GATE = 2.0
"""Smallest distance (pixels) at which a catalogue object takes a detection's segment."""


@dataclass(frozen=True)
class Network:
    """A trained model applied to the stamps: its name, catalogue column, file and the
    symmetries whose spread gives its width (1: its own width output, if any)."""

    name: str
    column: str
    path: Path
    symmetries: int = 1


def read_region(path: str | Path, tile: Tile, hdu: int | None = None) -> np.ndarray:
    """The pixels of a tile's region (float32), read from the FITS mosaic without loading
    the rest of it."""
    with fits.open(path, memmap=True) as hdul:
        return np.array(image_unit(hdul, hdu, path).data[tile.region], dtype=np.float32)


def segment_of_objects(
    segmap: np.ndarray, detections: np.ndarray, x: np.ndarray, y: np.ndarray, radius: np.ndarray
) -> np.ndarray:
    """The segment label (1..) of each object (region pixels ``x``, ``y``): the one under its
    position, else that of the nearest detection within max(:data:`MATCH_GATE`, its radius);
    0 where none."""
    ny, nx = segmap.shape
    xi = np.clip(np.round(x).astype(int), 0, nx - 1)
    yi = np.clip(np.round(y).astype(int), 0, ny - 1)
    labels = segmap[yi, xi].astype(np.int64)
    if len(detections):
        dist = np.hypot(detections[None, :, 0] - x[:, None], detections[None, :, 1] - y[:, None])
        nearest = np.argmin(dist, axis=1)
        close = dist[np.arange(len(x)), nearest] <= np.maximum(radius, MATCH_GATE)
        labels = np.where((labels == 0) & close, nearest + 1, labels)
    return labels


def cut_padded(
    region: np.ndarray, x0: int, y0: int, size: int, fill: float = np.nan
) -> tuple[np.ndarray, np.ndarray]:
    """The size x size cut-out of ``region`` with corner (x0, y0) (region pixels) and where it
    lies outside the region (True); those pixels are ``fill`` (NaN: as float32, else in the
    region's own type, e.g. 0 for a segmentation map)."""
    dtype = np.float32 if np.isnan(fill) else region.dtype
    stamp = np.full((size, size), fill, dtype=dtype)
    inside = np.zeros((size, size), dtype=bool)
    ny, nx = region.shape
    ax0, ay0, ax1, ay1 = max(x0, 0), max(y0, 0), min(x0 + size, nx), min(y0 + size, ny)
    if ax1 > ax0 and ay1 > ay0:
        stamp[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = region[ay0:ay1, ax0:ax1]
        inside[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = True
    return stamp, ~inside


def clean_group_stamp(
    stamp: np.ndarray,
    segments: np.ndarray,
    keep: np.ndarray,
    noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The stamp with the segments not in ``keep`` (labels), grown by :data:`CLEAN_GROWTH`
    pixels but not into a kept segment, replaced by Gaussian noise of ``noise``."""
    kept = np.isin(segments, keep[keep > 0])
    others = (segments > 0) & ~kept
    if CLEAN_GROWTH and others.any():
        others = ndimage.binary_dilation(others, iterations=CLEAN_GROWTH) & ~kept
    out = stamp.copy()
    out[others] = rng.normal(0.0, noise, size=int(others.sum())).astype(np.float32)
    return out


def predict_stamps(
    model, stamps: np.ndarray, batch_size: int, symmetries: int
) -> tuple[np.ndarray, np.ndarray]:
    """(fluxes, 1-sigma widths) (G, K) of a model on stamps (G, S, S): its own width
    output, else the spread over ``symmetries`` symmetries (NaN with neither). Every call
    takes ``batch_size`` stamps (the last batch padded with blank ones, whose outputs are
    dropped), so that the model is traced once, not again for a shorter last batch."""
    from blendphot.models.predict import WIDTH_OUTPUT, symmetry_widths

    k = min(o.shape[-1] for o in model.outputs)
    flux = np.full((len(stamps), k), np.nan)
    width = np.full((len(stamps), k), np.nan)
    for start in range(0, len(stamps), batch_size):
        x = stamps[start : start + batch_size, :, :, None]
        n = len(x)
        if n < batch_size:
            x = np.concatenate([x, np.zeros((batch_size - n, *x.shape[1:]), x.dtype)])
        pred = model.predict_on_batch(x)
        pred = pred if isinstance(pred, dict) else {"flux": pred}
        part = slice(start, start + n)
        flux[part] = np.asarray(pred["flux"], np.float64)[:n, :k]
        if WIDTH_OUTPUT in pred:
            width[part] = np.asarray(pred[WIDTH_OUTPUT], np.float64)[:n, :k]
        elif symmetries > 1:
            width[part] = symmetry_widths(model, x, pred["flux"], symmetries)[:n, :k]
    return flux, width


def model_slots(model) -> int:
    """K, the fluxes a loaded model predicts per stamp."""
    return int(min(o.shape[-1] for o in model.outputs))


def group_catalog(
    fluxes: dict[str, np.ndarray], widths: dict[str, np.ndarray], sep: dict, k: int
) -> pd.DataFrame:
    """The groups as a blend catalogue (``g{k}_flux_<col>``, ``..._err_raw``, ``detection``,
    ``sep_separation``; true fluxes NaN), what the calibration is applied to."""
    n = len(sep["detection"])
    cat = {"detection": sep["detection"], "sep_separation": sep["separation"]}
    if k > 2:
        cat["n_galaxies"] = sep["n_galaxies"]
    for slot in range(k):
        g = f"g{slot + 1}"
        cat[f"{g}_flux"] = np.full(n, np.nan)
        for column, values in fluxes.items():
            cat[f"{g}_flux_{column}"] = values[:, slot]
            if column in widths and np.isfinite(widths[column]).any():
                cat[f"{g}_flux_{column}_err_raw"] = widths[column][:, slot]
    return pd.DataFrame(cat)


def calibrated(
    catalog: pd.DataFrame, column: str, fit: dict | None, k: int
) -> dict[str, np.ndarray]:
    """(G, K) arrays ``_err``, ``_p16``, ``_p84`` of one method: the calibration's interval,
    or, without a fit, the raw width as a Gaussian 1 sigma (NaN without one)."""
    from blendphot.evaluate.uncertainty.conformal import calibrated_columns

    if fit is not None:
        cols = calibrated_columns(catalog, column, fit)
        return {
            s: np.column_stack([cols[f"g{slot + 1}_flux_{column}{s}"] for slot in range(k)])
            for s in ERROR_SUFFIXES
        }
    flux = np.column_stack([catalog[f"g{slot + 1}_flux_{column}"] for slot in range(k)])
    raw_names = [f"g{slot + 1}_flux_{column}_err_raw" for slot in range(k)]
    raw = (
        np.column_stack([catalog[c] for c in raw_names])
        if raw_names[0] in catalog
        else np.full(flux.shape, np.nan)
    )
    return {"_err": raw, "_p16": flux - raw, "_p84": flux + raw}


def training_noise(
    stamps: np.ndarray, members: np.ndarray, noise: float, seed: int, group_ids: np.ndarray
) -> np.ndarray:
    """The stamps with the noise of the blends the networks learnt: a blend of n galaxies is
    the sum of n stamps, each with the image's noise, so its noise is sqrt(n) times the
    image's; a stamp of ``members`` (n) galaxies gets Gaussian noise of sqrt(n - 1) times
    ``noise`` added (seeded per group: the same stamps get the same noise)."""
    out = stamps.copy()
    for i, (n, gid) in enumerate(zip(members, group_ids, strict=True)):
        if n > 1:
            rng = np.random.default_rng([seed, int(gid) & 0x7FFFFFFF, NOISE_STREAM])
            scale = noise * np.sqrt(n - 1.0)
            out[i] += rng.normal(0.0, scale, size=stamps.shape[1:]).astype(np.float32)
    return out


def group_stamp(
    region: np.ndarray,
    segmap: np.ndarray,
    tile: Tile,
    members: pd.DataFrame,
    taken: pd.DataFrame,
    keep: np.ndarray,
    noise: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray]:
    """A group's stamp, centred on its central (``members`` by rank), cleaned of what is not
    among the ``taken`` members (segment labels ``keep``): (stamp, where it lies off the
    mosaic (filled with noise), whether it has non-finite pixels on the mosaic, the taken
    members' positions in the stamp's pixels)."""
    cx, cy = float(members["centre_x"].iloc[0]), float(members["centre_y"].iloc[0])
    x0, y0 = cut_origin(cx - tile.rx0, cy - tile.ry0, STAMP_SIZE)
    stamp, off = cut_padded(region, x0, y0, STAMP_SIZE)
    segments, _ = cut_padded(segmap, x0, y0, STAMP_SIZE, fill=0)
    bad = not np.isfinite(stamp[~off]).all()
    stamp[off] = rng.normal(0.0, noise, size=int(off.sum())).astype(np.float32)
    positions = np.column_stack(
        [
            taken["x"].to_numpy(float) - tile.rx0 - x0,
            taken["y"].to_numpy(float) - tile.ry0 - y0,
        ]
    )
    return clean_group_stamp(stamp, segments, keep, noise, rng), off, bad, positions


def deblend_region(
    region: np.ndarray,
    tile: Tile,
    objects: pd.DataFrame,
    networks: list[tuple[Network, object]],
    calibration: dict,
    domain: dict | None,
    baseline: BaselineSettings,
    noise: float | None,
    background: bool,
    batch_size: int,
    seed: int,
    max_group_size: int | None = None,
    times: dict | None = None,
    match_noise: bool = True,
) -> pd.DataFrame:
    """The deblended rows of the objects a tile owns.

    ``objects``: the grouped catalogue's objects that lie in the tile's region (columns id,
    x, y, ra, dec, mag, radius, group_id, group_size, rank, centre_x, centre_y, tile; mosaic
    pixels); the tile owns the groups whose ``tile`` is its index. ``networks``: (network,
    loaded model) pairs; ``calibration``: the validation fit per column; ``domain``: the
    training galaxies' magnitude and radius ranges (None: no domain flags). ``times``, if
    given, receives the seconds spent detecting, on the stamps and sep, and in the networks.
    ``match_noise``: the networks see the stamps with the noise of the blends they learnt
    (:func:`training_noise`); sep measures them as they are.
    """
    times = {} if times is None else times
    clock = time.perf_counter()
    if background:
        region = subtract_background(region)
    noise = region_noise(region, noise)
    detections, segmap = detect_region(region, noise, baseline.detection)
    rx = objects["x"].to_numpy(float) - tile.rx0
    ry = objects["y"].to_numpy(float) - tile.ry0
    labels = segment_of_objects(segmap, detections, rx, ry, objects["radius"].to_numpy(float))
    times["detect"], clock = time.perf_counter() - clock, time.perf_counter()
    owned = objects[objects["tile"] == tile.index]
    k_nets = [model_slots(model) for _, model in networks]
    k = min(k_nets) if k_nets else 2
    if max_group_size is not None and max_group_size > k:
        raise InputError(
            networks[0][0].path if networks else None,
            f"the networks predict {k} fluxes per stamp but deblend.max_group_size is "
            f"{max_group_size}: groups of more than {k} need a model trained on blends of "
            f"that many galaxies (blends.n_galaxies)",
        )
    rows = []
    group_ids = pd.unique(owned["group_id"])
    stamps = np.zeros((len(group_ids), STAMP_SIZE, STAMP_SIZE), np.float32)
    blended = np.zeros(len(group_ids), bool)
    bad = np.zeros(len(group_ids), bool)
    sep = {
        key: np.full((len(group_ids), k), np.nan) for key in ("sep", "kron", "sep_err", "kron_err")
    }
    found = np.zeros((len(group_ids), k), bool)
    detection = np.full(len(group_ids), -1)
    separation = np.full(len(group_ids), np.nan)
    members_of = {gid: idx for gid, idx in objects.groupby("group_id").groups.items()}
    for g, gid in enumerate(group_ids):
        members = objects.loc[members_of[gid]].sort_values("rank")
        taken = members[members["rank"] < k]
        keep = labels[objects.index.get_indexer(taken.index)]
        rng = np.random.default_rng([seed, int(gid) & 0x7FFFFFFF])
        stamps[g], off, bad[g], positions = group_stamp(
            region, segmap, tile, members, taken, keep, noise, rng
        )
        blended[g] = len(members) > 1
        if not bad[g]:
            gates = member_gates(taken["radius"].to_numpy(float))
            m = measure_members(stamps[g], noise, positions, gates, baseline)
            n = len(taken)
            sep["sep"][g, :n], sep["kron"][g, :n] = m.flux, m.kron
            sep["sep_err"][g, :n], sep["kron_err"][g, :n] = m.flux_err, m.kron_err
            found[g, :n] = [(m.found >> s) & 1 for s in range(n)]
            detection[g], separation[g] = m.detection, m.separation
        contrast, distance = companion_geometry(members)
        for i, row in enumerate(members.to_dict("records")):  # each column's own type
            rows.append((g, row, bool(off.any()), contrast[i], distance[i]))
    measured = blended & ~bad
    sizes = np.array([len(members_of[gid]) for gid in group_ids], dtype=np.int64)
    inputs = stamps[measured]
    if match_noise:
        taken_counts = np.minimum(sizes[measured], k)
        inputs = training_noise(inputs, taken_counts, noise, seed, group_ids[measured])
    times["stamps and sep"], clock = time.perf_counter() - clock, time.perf_counter()
    fluxes: dict[str, np.ndarray] = {}
    widths: dict[str, np.ndarray] = {}
    for network, model in networks:
        flux = np.full((len(group_ids), k), np.nan)
        width = np.full((len(group_ids), k), np.nan)
        if measured.any():
            f, w = predict_stamps(model, inputs, batch_size, network.symmetries)
            flux[measured], width[measured] = f[:, :k], w[:, :k]
        fluxes[network.column], widths[network.column] = flux, width
    times["networks"] = time.perf_counter() - clock
    in_slots = np.arange(k)[None, :] < np.minimum(sizes, k)[:, None]
    for column in fluxes:
        fluxes[column][~in_slots] = np.nan
        widths[column][~in_slots] = np.nan
    for name in ("sep", "kron"):
        fluxes[SEP_METHODS[name]] = np.where(in_slots, sep[name], np.nan)
        widths[SEP_METHODS[name]] = np.where(in_slots, sep[f"{name}_err"], np.nan)
    cat = group_catalog(
        fluxes, widths, {"detection": detection, "separation": separation,
                         "n_galaxies": np.minimum(sizes, k)}, k,
    )  # fmt: skip
    errors = {}
    for column in fluxes:
        fit = calibration.get(column) if blended.any() else None
        errors[column] = calibrated(cat, column, fit, k)
        iso = np.flatnonzero(~blended)  # isolated: the raw width as a Gaussian 1 sigma
        if len(iso):
            raw = calibrated(cat.iloc[iso].reset_index(drop=True), column, None, k)
            for s in ERROR_SUFFIXES:
                errors[column][s][iso] = raw[s]
    return _rows(rows, k, fluxes, errors, found, detection, domain, networks, sizes, bad)


def _rows(
    rows: list,
    k: int,
    fluxes: dict,
    errors: dict,
    found: np.ndarray,
    detection: np.ndarray,
    domain: dict | None,
    networks: list,
    sizes: np.ndarray,
    bad: np.ndarray,
) -> pd.DataFrame:
    """The catalogue rows of the objects measured on the groups' stamps."""
    names = {"sep": "sex", "kron": "kron", **{n.column: n.column for n, _ in networks}}
    records = []
    for g, row, off, contrast, distance in rows:
        rank = int(row["rank"])
        slot = rank if rank < k else -1
        record = {
            "id": row["id"],
            "ra": row.get("ra", np.nan),
            "dec": row.get("dec", np.nan),
            "x": row["x"],
            "y": row["y"],
            "mag": row["mag"],
            "radius": row["radius"],
            "group_id": row["group_id"],
            "group_size": int(sizes[g]),
            "slot": slot + 1 if slot >= 0 else 0,
            "tile": int(row["tile"]),
        }
        for out_name, column in names.items():
            value = fluxes[column][g, slot] if slot >= 0 else np.nan
            record[f"flux_{out_name}"] = value
            for s in ERROR_SUFFIXES:
                record[f"flux_{out_name}{s}"] = errors[column][s][g, slot] if slot >= 0 else np.nan
        record["detection"] = int(detection[g])
        bits = 0
        if sizes[g] == 1:
            bits |= flag_bit("isolated")
            record["slot"] = 0
        if sizes[g] > k:
            bits |= flag_bit("group_over_k")
        if slot < 0:
            bits |= flag_bit("beyond_k")
        if off:
            bits |= flag_bit("near_edge")
        if bad[g]:
            bits |= flag_bit("nonfinite")
        if slot >= 0 and not bad[g] and not found[g, slot]:
            bits |= flag_bit("sep_missed")
        if domain is not None:
            if outside([row["mag"]], domain["mag"])[0]:
                bits |= flag_bit("mag_outside")
            if outside([row["radius"]], domain["radius"])[0]:
                bits |= flag_bit("size_outside")
            if np.isfinite(contrast) and outside([contrast], domain["contrast"])[0]:
                bits |= flag_bit("contrast_outside")
            if np.isfinite(distance) and outside([distance], domain["distance"])[0]:
                bits |= flag_bit("distance_outside")
        record["flags"] = bits
        records.append(record)
    table = pd.DataFrame(records)
    if not len(table):
        return table
    own = flag_mask(OWN_DOMAIN)
    group_outside = table.groupby("group_id")["flags"].transform(
        lambda f: np.bitwise_or.reduce((f.to_numpy() & own) != 0)
    )
    member = group_outside.astype(bool) & ((table["flags"] & own) == 0)
    table.loc[member, "flags"] |= flag_bit("member_outside")
    table = pd.concat([table, best_flux(table, [n.column for n, _ in networks])], axis=1)
    table["flag_names"] = flag_names(table["flags"])
    return table
