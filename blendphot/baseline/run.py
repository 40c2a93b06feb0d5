"""The baseline over a blend set, in shards: one CSV row per blend, then a gather.

``sep.csv`` columns (one row per test blend, in the test set's order):

==================== =====================================================================
column               meaning
==================== =====================================================================
id                   blend id (the test set's ``table/id``)
flux_central         isophotal flux of the central on the blend (NaN: not found)
flux_companion       isophotal flux of the companion on the blend (NaN: not found)
detection            -1 nothing found, 0 only central, 1 only companion, 2 both, 3 more
pass                 pass whose detections were used: cold, hot, or none (stamp not run)
n_detected           number of detections in that pass
kron_central         Kron (FLUX_AUTO-like) flux of the central on the blend
kron_companion       Kron flux of the companion on the blend
flux_central_err     1-sigma error of flux_central from the pixel noise, sqrt(npix) x noise
flux_companion_err   1-sigma error of flux_companion (likewise)
kron_central_err     1-sigma error of kron_central (sep.sum_ellipse with the noise)
kron_companion_err   1-sigma error of kron_companion
separation           distance of the two detections / sum of their semi-major axes (sep's
                     ``a``), where both galaxies were found (NaN otherwise)
iso_central          isophotal flux of the central on its own isolated stamp
iso_companion        isophotal flux of the companion on its own (shifted) isolated stamp
iso_kron_central     Kron flux of the central on its isolated stamp
iso_kron_companion   Kron flux of the companion on its isolated stamp
problems             bit mask of what was handled (see sep_photometry.PROBLEMS), 0 = none
==================== =====================================================================

A set drawn with K > 2 slots (blends of 2..K galaxies) gets, in every row, the columns above
plus those below; the association and the detection codes then follow the members' true
positions (sep_photometry's docstring), for the set's pairs too:

==================== =====================================================================
column               meaning
==================== =====================================================================
detection            -1 nothing detected, 3 spurious detections present (n_spurious > 0),
                     else 2 every member found, 0 the central found but not every
                     companion, 1 the central missed but a companion found
n_galaxies           galaxies in the blend, n (slots 1..n present)
found                bit mask of the members found: bit k for slot k + 1 (bit 0 the central)
n_spurious           detections of the pass used that matched no member
flux_g{k}            isophotal flux of the galaxy of slot k (k = 3..K) on the blend
kron_g{k}            its Kron flux on the blend
flux_g{k}_err        1-sigma error of flux_g{k}
kron_g{k}_err        1-sigma error of kron_g{k}
iso_g{k}             isophotal flux of slot k's galaxy on its own isolated stamp
iso_kron_g{k}        Kron flux of slot k's galaxy on its own isolated stamp
==================== =====================================================================

Slots 1 and 2 keep the names ``*_central`` and ``*_companion``; an absent slot (k > n) is NaN
throughout; ``separation`` is that of the central and slot 2.

Noise (``baseline.noise``): ``known`` uses the set's ``noise`` attribute (per isolated stamp;
the blend, a sum of two stamps, gets sqrt(2) times it); ``background`` uses sep's global rms
of each stamp. The blend of n galaxies, a sum of n stamps, gets sqrt(n) times the known
level.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.baseline.sep_photometry import (
    DETECTION_CODES,
    MULTI_DETECTION_CODES,
    PROBLEMS,
    Limits,
    measure_blend,
    measure_isolated,
    measure_members,
    member_gates,
    run_limits,
    sep_limits,
    stamp_noise,
)
from blendphot.baseline.settings import BaselineSettings
from blendphot.blends import open_blend_set
from blendphot.blends.layout import (
    COUNT_COLUMN,
    galaxy_counts,
    slot_count,
    slot_names,
    slot_prefix,
)
from blendphot.errors import InputError
from blendphot.io import read_table, write_csv

log = logging.getLogger(__name__)

COLUMNS = (
    "id",
    "flux_central",
    "flux_companion",
    "detection",
    "pass",
    "n_detected",
    "kron_central",
    "kron_companion",
    "flux_central_err",
    "flux_companion_err",
    "kron_central_err",
    "kron_companion_err",
    "separation",
    "iso_central",
    "iso_companion",
    "iso_kron_central",
    "iso_kron_companion",
    "problems",
)
TABLE_NEEDS = ["id", "g1_rad", "shift_x", "shift_y"]
MEMBER_COLUMNS = ("n_galaxies", "found", "n_spurious")
SLOT_COLUMNS = ("flux_{}", "kron_{}", "flux_{}_err", "kron_{}_err", "iso_{}", "iso_kron_{}")
"""Per-slot columns of slots 3..K, formatted with the slot's prefix (``g3``, ...)."""


def columns_for(n_slots: int, members: bool | None = None) -> tuple[str, ...]:
    """``sep.csv`` columns of a set of ``n_slots`` slots: :data:`COLUMNS` for pairs, plus
    :data:`MEMBER_COLUMNS` and the per-slot columns of slots 3..K where K > 2 (or where
    ``members`` asks for the members' association on pairs)."""
    if not _members(n_slots, members):
        return COLUMNS
    extra = tuple(c.format(role) for role in slot_names(n_slots)[2:] for c in SLOT_COLUMNS)
    return COLUMNS + MEMBER_COLUMNS + extra


def _members(n_slots: int, members: bool | None) -> bool:
    """Whether the members' association is used: on K > 2 sets unless told."""
    return n_slots > 2 if members is None else members


def _table_needs(n_slots: int, members: bool | None = None) -> list[str]:
    """Table columns the baseline reads from a set of ``n_slots`` slots."""
    if not _members(n_slots, members):
        return TABLE_NEEDS
    needs = TABLE_NEEDS + ([COUNT_COLUMN] if n_slots > 2 else []) + ["g2_rad"]
    for k in range(2, n_slots):
        g = slot_prefix(k)
        needs += [f"{g}_rad", f"{g}_shift_x", f"{g}_shift_y"]
    return needs


def member_positions(table: pd.DataFrame, n_slots: int, centre: float) -> np.ndarray:
    """(N, K, 2) true x, y of each slot's galaxy on the stamp (NaN for absent slots): the
    central on the centre, slot 2 at the centre + (shift_x, shift_y), slot k at the centre +
    (g{k}_shift_x, g{k}_shift_y)."""
    shifts = np.zeros((len(table), n_slots, 2))
    shifts[:, 1] = table[["shift_x", "shift_y"]].to_numpy(float)
    for k in range(2, n_slots):
        g = slot_prefix(k)
        shifts[:, k] = table[[f"{g}_shift_x", f"{g}_shift_y"]].to_numpy(float)
    counts = np.asarray(table[COUNT_COLUMN]) if COUNT_COLUMN in table else np.full(len(table), 2)
    absent = np.arange(n_slots)[None, :] >= counts[:, None]
    shifts[absent] = np.nan
    return centre + shifts


def shard_rows(n: int, shard: int, n_shards: int) -> slice:
    """Rows of shard ``shard`` (0-based) out of ``n_shards`` near-equal contiguous slices."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
    return slice(shard * n // n_shards, (shard + 1) * n // n_shards)


def _known_noise(h5) -> float | None:
    value = h5.attrs.get("noise")
    return None if value is None else float(value)


def _measure_row(
    blend: np.ndarray,
    isolated: np.ndarray | None,
    r_cen: float,
    shift: tuple[float, float],
    known: float | None,
    settings: BaselineSettings,
    kron: bool,
    limits: Limits,
) -> tuple:
    """Blend measurement plus the isolated reference for one row of the set."""
    blend_known = None if known is None else known * math.sqrt(2.0)
    noise, flags = stamp_noise(blend, blend_known, settings.noise)
    m = measure_blend(blend, noise, r_cen, settings, kron, limits)
    flags |= m.problems
    reference = [np.nan] * 4
    if isolated is not None:
        centre = blend.shape[-1] // 2
        positions = ((centre, centre), (centre + shift[0], centre + shift[1]))
        for k, (x, y) in enumerate(positions):
            noise_k, bits = stamp_noise(isolated[k], known, settings.noise)
            flux, auto, more = measure_isolated(
                isolated[k], noise_k, float(x), float(y), settings, kron, limits
            )
            reference[k], reference[2 + k] = flux, auto
            flags |= bits | more
    return (
        m.flux_central,
        m.flux_companion,
        m.detection,
        m.pass_used,
        m.n_detected,
        m.kron_central,
        m.kron_companion,
        m.err_central,
        m.err_companion,
        m.kron_err_central,
        m.kron_err_companion,
        m.separation,
        *reference,
        flags,
    )


def _measure_members_row(
    blend: np.ndarray,
    isolated: np.ndarray | None,
    positions: np.ndarray,
    radii: np.ndarray,
    n_slots: int,
    known: float | None,
    settings: BaselineSettings,
    kron: bool,
    limits: Limits,
) -> tuple:
    """One row of a K > 2 set (:func:`columns_for` order, id left out): the blend's ``n``
    members at ``positions`` (n, 2) with radii ``radii`` (n,), and their isolated stamps."""
    n = len(positions)
    blend_known = None if known is None else known * math.sqrt(n)
    noise, flags = stamp_noise(blend, blend_known, settings.noise)
    m = measure_members(blend, noise, positions, member_gates(radii), settings, kron, limits)
    flags |= m.problems
    per_slot = {
        key: np.full(n_slots, np.nan) for key in ("flux", "kron", "err", "kerr", "iso", "ikron")
    }
    for key, values in zip(("flux", "kron", "err", "kerr"), m[:4], strict=True):
        per_slot[key][:n] = values
    if isolated is not None:
        for k, (x, y) in enumerate(positions):
            noise_k, bits = stamp_noise(isolated[k], known, settings.noise)
            flux, auto, more = measure_isolated(
                isolated[k], noise_k, float(x), float(y), settings, kron, limits
            )
            per_slot["iso"][k], per_slot["ikron"][k] = flux, auto
            flags |= bits | more
    f, kr, e, ke, iso, ik = (per_slot[k] for k in ("flux", "kron", "err", "kerr", "iso", "ikron"))
    extra = [v for k in range(2, n_slots) for v in (f[k], kr[k], e[k], ke[k], iso[k], ik[k])]
    return (
        f[0],
        f[1],
        m.detection,
        m.pass_used,
        m.n_detected,
        kr[0],
        kr[1],
        e[0],
        e[1],
        ke[0],
        ke[1],
        m.separation,
        iso[0],
        iso[1],
        ik[0],
        ik[1],
        flags,
        n,
        m.found,
        m.n_spurious,
        *extra,
    )


def measure_set(
    blend_path: Path,
    settings: BaselineSettings | Mapping,
    rows: slice | None = None,
    kron: bool = True,
    reference: bool = True,
    block: int = 256,
    limits: Limits | None = None,
    members: bool | None = None,
) -> pd.DataFrame:
    """sep photometry of the blends ``rows`` of a set (all by default); one row per blend
    (``settings``: the ``baseline`` settings, :meth:`BaselineSettings.of`).

    Reads only that slice, ``block`` blends at a time. ``kron=False`` / ``reference=False``
    leave those columns NaN (the cold/hot isophotal pass alone). ``limits``: sep's buffers
    during the run (default :func:`run_limits` of the stamp size). ``members``: the
    members' association (K > 2 sets' rule) instead of the paper's, or not; default: on
    K > 2 sets only (the workflow's; ``True`` on pairs is for comparisons).
    """
    settings = BaselineSettings.of(settings)
    with open_blend_set(blend_path) as h5:
        n = h5["blend"].shape[0]
        n_slots = slot_count(h5)
        multi = _members(n_slots, members)
        rows = rows or slice(0, n)
        start, stop, _ = rows.indices(n)
        table = read_table(h5["table"], slice(start, stop))[_table_needs(n_slots, multi)]
        known = _known_noise(h5)
        size = int(np.prod(h5["blend"].shape[1:]))
        if multi:
            counts = galaxy_counts(h5, slice(start, stop))
            positions = member_positions(table, n_slots, h5["blend"].shape[-1] // 2)
            radii = table[[f"{slot_prefix(k)}_rad" for k in range(n_slots)]].to_numpy(float)
        out = []
        limits = limits or run_limits(size)
        with sep_limits(limits):
            for first in range(start, stop, block):
                last = min(first + block, stop)
                blends = h5["blend"][first:last]
                isolated = h5["isolated"][first:last] if reference else None
                for i, row in enumerate(table.iloc[first - start : last - start].itertuples()):
                    iso = None if isolated is None else isolated[i]
                    if multi:
                        j, c = first - start + i, counts[first - start + i]
                        args = (positions[j, :c], radii[j, :c], n_slots)
                        out.append(
                            _measure_members_row(
                                blends[i], iso, *args, known, settings, kron, limits
                            )
                        )
                        continue
                    shift = (float(row.shift_x), float(row.shift_y))
                    out.append(
                        _measure_row(
                            blends[i], iso, float(row.g1_rad), shift, known, settings, kron, limits
                        )
                    )
    result = pd.DataFrame(out, columns=list(columns_for(n_slots, multi)[1:]))
    result.insert(0, "id", table["id"].to_numpy())
    return result


def problem_counts(problems: pd.Series | np.ndarray) -> dict[str, int]:
    """Blends per problem bit (a blend may count under several)."""
    values = np.asarray(problems, dtype=np.int64)
    return {name: int(((values & bit) > 0).sum()) for bit, name in PROBLEMS.items()}


# Detection classes of the paper's published catalogue (4776 test blends), per cent.
PAPER_DETECTION_PERCENT = {0: 6.2, 1: 16.6, 2: 74.3, 3: 2.9}
ESTIMATORS = (  # label, flux column pattern, reference: "true" or a column pattern
    ("isophotal", "flux_{}", "true"),
    ("kron", "kron_{}", "true"),
    ("isolated isophotal", "iso_{}", "true"),
    ("isolated kron", "iso_kron_{}", "true"),
    ("isophotal vs isolated", "flux_{}", "iso_{}"),
    ("kron vs isolated", "kron_{}", "iso_kron_{}"),
)


def detection_percent(detection: pd.Series, multi: bool = False) -> pd.DataFrame:
    """Detection classes in per cent beside the paper's (pairs); ``multi``: the classes of
    a K > 2 set (:data:`MULTI_DETECTION_CODES`), which the paper has no figures for (NaN)."""
    codes = MULTI_DETECTION_CODES if multi else DETECTION_CODES
    share = detection.value_counts(normalize=True).reindex(list(codes), fill_value=0)
    paper = [np.nan if multi else PAPER_DETECTION_PERCENT.get(c, 0.0) for c in codes]
    return pd.DataFrame(
        {
            "code": list(codes),
            "meaning": list(codes.values()),
            "percent": (100 * share.to_numpy()).round(1),
            "paper_percent": paper,
        }
    )


def found_per_slot(result: pd.DataFrame) -> pd.DataFrame:
    """Per slot of a K > 2 result: blends holding that slot's galaxy and the per cent of
    them where the baseline found it (the ``found`` bit mask); per galaxy count too."""
    counts = result["n_galaxies"].to_numpy(int)
    found = result["found"].to_numpy(int)
    rows = []
    for n in [None, *sorted(set(counts.tolist()))]:
        sel = np.ones(len(counts), bool) if n is None else counts == n
        for k in range(int(counts.max(initial=2))):
            present = sel & (counts > k)
            if not present.any():
                continue
            hit = (found[present] >> k) & 1
            rows.append(
                {
                    "n_galaxies": "all" if n is None else n,
                    "slot": slot_prefix(k),
                    "n": int(present.sum()),
                    "found_percent": round(100 * float(hit.mean()), 1),
                }
            )
    return pd.DataFrame(rows)


def flux_errors(result: pd.DataFrame, true_flux: np.ndarray, estimators=ESTIMATORS) -> pd.DataFrame:
    """Median and MAPE (per cent) of flux / reference - 1, per role (central, companion,
    then g3..gK: one per slot of ``true_flux``) and estimator ((label, flux column pattern,
    reference) as :data:`ESTIMATORS`)."""
    rows = []
    for k, role in enumerate(slot_names(true_flux.shape[1])):
        for label, column, reference in estimators:
            ref = true_flux[:, k] if reference == "true" else result[reference.format(role)]
            ratio = result[column.format(role)].to_numpy() / np.asarray(ref, dtype=float) - 1
            ratio = ratio[np.isfinite(ratio)]
            rows.append(
                {
                    "role": role,
                    "estimator": label,
                    "n": len(ratio),
                    "median_percent": 100 * np.median(ratio) if len(ratio) else np.nan,
                    "mape_percent": 100 * np.mean(np.abs(ratio)) if len(ratio) else np.nan,
                }
            )
    return pd.DataFrame(rows)


def log_summary(result: pd.DataFrame, label: str) -> None:
    """Detection classes and problem counts of a result, in the log (and, for a K > 2 set,
    the members found per slot)."""
    classes = result["detection"].value_counts().reindex(list(DETECTION_CODES), fill_value=0)
    log.info(
        "%s: %d blends; detection classes %s; passes %s",
        label,
        len(result),
        {int(k): int(v) for k, v in classes.items()},
        result["pass"].value_counts().to_dict(),
    )
    log.info("%s: problems handled %s", label, problem_counts(result["problems"]))
    if "found" in result:
        log.info(
            "%s: members found per slot (per cent):\n%s",
            label,
            found_per_slot(result).to_string(index=False),
        )


def run_baseline(
    blend_path: Path,
    settings: BaselineSettings | Mapping,
    out_path: Path,
    shard: int = 0,
    n_shards: int = 1,
    block: int = 256,
) -> pd.DataFrame:
    """sep photometry of one shard of a blend set (the whole set by default) -> CSV
    (``settings``: the ``baseline`` settings, :meth:`BaselineSettings.of`)."""
    rows = set_shard_rows(blend_path, shard, n_shards)
    result = measure_set(blend_path, BaselineSettings.of(settings), rows, block=block)
    write_csv(result, out_path)
    log_summary(result, f"shard {shard}/{n_shards} rows {rows.start}:{rows.stop}")
    return result


def set_shard_rows(blend_path: Path, shard: int, n_shards: int) -> slice:
    """Rows of shard ``shard`` of the blend set at ``blend_path`` (:func:`shard_rows`)."""
    with open_blend_set(blend_path) as h5:
        n = h5["blend"].shape[0]
    return shard_rows(n, shard, n_shards)


def join_shards(
    shard_paths: list[Path], blend_path: Path, columns=None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Shard CSVs concatenated in order, checked: ``columns`` exactly (default: the sep
    baseline's for the set's slot count, :func:`columns_for`), every blend of the set once
    and in order. Returns the table and the set's true fluxes (N, K)."""
    with open_blend_set(blend_path) as h5:
        ids = np.asarray(h5["table"]["id"][()])
        true_flux = h5["flux"][()]
    columns = columns_for(true_flux.shape[1]) if columns is None else columns
    parts = [pd.read_csv(p, keep_default_na=True) for p in shard_paths]
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    if list(result.columns) != list(columns):
        raise InputError(shard_paths[0], f"shard columns {list(result.columns)} != {columns}")
    if not np.array_equal(result["id"].to_numpy(), ids):
        raise InputError(blend_path, "the shards do not cover the test set's blends in order")
    return result, true_flux


def gather_shards(shard_paths: list[Path], blend_path: Path, out_path: Path) -> pd.DataFrame:
    """Concatenate shard CSVs in order; every blend of the set must appear once, in order."""
    result, true_flux = join_shards(shard_paths, blend_path)
    write_csv(result, out_path)
    log_summary(result, f"gathered {len(shard_paths)} shard(s)")
    log.info(
        "detection classes, per cent:\n%s",
        detection_percent(result["detection"], "found" in result).to_string(index=False),
    )
    log.info(
        "flux errors (flux / reference - 1, per cent; NaN rows left out):\n%s",
        flux_errors(result, true_flux).round(2).to_string(index=False),
    )
    return result
