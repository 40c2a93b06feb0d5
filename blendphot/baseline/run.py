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

Noise (``baseline.noise``): ``known`` uses the set's ``noise`` attribute (per isolated stamp;
the blend, a sum of two stamps, gets sqrt(2) times it); ``background`` uses sep's global rms
of each stamp.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.baseline.sep_photometry import (
    DETECTION_CODES,
    PROBLEMS,
    Limits,
    measure_blend,
    measure_isolated,
    run_limits,
    sep_limits,
    stamp_noise,
)
from blendphot.blends import open_blend_set
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
    params: dict,
    kron: bool,
    limits: Limits,
) -> tuple:
    """Blend measurement plus the isolated reference for one row of the set."""
    blend_known = None if known is None else known * math.sqrt(2.0)
    noise, flags = stamp_noise(blend, blend_known, params["noise"])
    m = measure_blend(blend, noise, r_cen, params, kron, limits)
    flags |= m.problems
    reference = [np.nan] * 4
    if isolated is not None:
        centre = blend.shape[-1] // 2
        positions = ((centre, centre), (centre + shift[0], centre + shift[1]))
        for k, (x, y) in enumerate(positions):
            noise_k, bits = stamp_noise(isolated[k], known, params["noise"])
            flux, auto, more = measure_isolated(
                isolated[k], noise_k, float(x), float(y), params, kron, limits
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


def measure_set(
    blend_path: Path,
    params: dict,
    rows: slice | None = None,
    kron: bool = True,
    reference: bool = True,
    block: int = 256,
    limits: Limits | None = None,
) -> pd.DataFrame:
    """sep photometry of the blends ``rows`` of a set (all by default); one row per blend.

    Reads only that slice, ``block`` blends at a time. ``kron=False`` / ``reference=False``
    leave those columns NaN (the cold/hot isophotal pass alone). ``limits``: sep's buffers
    during the run (default :func:`run_limits` of the stamp size).
    """
    with open_blend_set(blend_path) as h5:
        n = h5["blend"].shape[0]
        rows = rows or slice(0, n)
        start, stop, _ = rows.indices(n)
        table = read_table(h5["table"], slice(start, stop))[TABLE_NEEDS]
        known = _known_noise(h5)
        size = int(np.prod(h5["blend"].shape[1:]))
        out = []
        limits = limits or run_limits(size)
        with sep_limits(limits):
            for first in range(start, stop, block):
                last = min(first + block, stop)
                blends = h5["blend"][first:last]
                isolated = h5["isolated"][first:last] if reference else None
                for i, row in enumerate(table.iloc[first - start : last - start].itertuples()):
                    iso = None if isolated is None else isolated[i]
                    shift = (float(row.shift_x), float(row.shift_y))
                    out.append(
                        _measure_row(
                            blends[i], iso, float(row.g1_rad), shift, known, params, kron, limits
                        )
                    )
    result = pd.DataFrame(out, columns=list(COLUMNS[1:]))
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


def detection_percent(detection: pd.Series) -> pd.DataFrame:
    """Detection classes in per cent beside the paper's."""
    share = detection.value_counts(normalize=True).reindex(list(DETECTION_CODES), fill_value=0)
    return pd.DataFrame(
        {
            "code": list(DETECTION_CODES),
            "meaning": list(DETECTION_CODES.values()),
            "percent": (100 * share.to_numpy()).round(1),
            "paper_percent": [PAPER_DETECTION_PERCENT.get(c, 0.0) for c in DETECTION_CODES],
        }
    )


def flux_errors(result: pd.DataFrame, true_flux: np.ndarray, estimators=ESTIMATORS) -> pd.DataFrame:
    """Median and MAPE (per cent) of flux / reference - 1, per role and estimator
    ((label, flux column pattern, reference) as :data:`ESTIMATORS`)."""
    rows = []
    for k, role in enumerate(("central", "companion")):
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
    """Detection classes and problem counts of a result, in the log."""
    classes = result["detection"].value_counts().reindex(list(DETECTION_CODES), fill_value=0)
    log.info(
        "%s: %d blends; detection classes %s; passes %s",
        label,
        len(result),
        {int(k): int(v) for k, v in classes.items()},
        result["pass"].value_counts().to_dict(),
    )
    log.info("%s: problems handled %s", label, problem_counts(result["problems"]))


def run_baseline(
    blend_path: Path,
    params: dict,
    out_path: Path,
    shard: int = 0,
    n_shards: int = 1,
    block: int = 256,
) -> pd.DataFrame:
    """sep photometry of one shard of a blend set (the whole set by default) -> CSV."""
    rows = set_shard_rows(blend_path, shard, n_shards)
    result = measure_set(blend_path, params, rows, block=block)
    write_csv(result, out_path)
    log_summary(result, f"shard {shard}/{n_shards} rows {rows.start}:{rows.stop}")
    return result


def set_shard_rows(blend_path: Path, shard: int, n_shards: int) -> slice:
    """Rows of shard ``shard`` of the blend set at ``blend_path`` (:func:`shard_rows`)."""
    with open_blend_set(blend_path) as h5:
        n = h5["blend"].shape[0]
    return shard_rows(n, shard, n_shards)


def join_shards(
    shard_paths: list[Path], blend_path: Path, columns=COLUMNS
) -> tuple[pd.DataFrame, np.ndarray]:
    """Shard CSVs concatenated in order, checked: ``columns`` exactly, every blend of the set
    once and in order. Returns the table and the set's true fluxes (N, 2)."""
    parts = [pd.read_csv(p, keep_default_na=True) for p in shard_paths]
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    with open_blend_set(blend_path) as h5:
        ids = np.asarray(h5["table"]["id"][()])
        true_flux = h5["flux"][()]
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
        detection_percent(result["detection"]).to_string(index=False),
    )
    log.info(
        "flux errors (flux / reference - 1, per cent; NaN rows left out):\n%s",
        flux_errors(result, true_flux).round(2).to_string(index=False),
    )
    return result
