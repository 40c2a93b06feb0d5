"""The stamps stage: catalogue + mosaic -> stamps HDF5 and Table 1."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from blendphot import STAMP_SIZE, __version__
from blendphot.errors import InputError
from blendphot.io import atomic_path, config_hash, open_h5, read_table, write_csv, write_table
from blendphot.sky import GALAXY_TYPES, read_catalog, read_mosaic
from blendphot.stamps.cleaning import clean_stamp, cut_stamp, segment_stamp
from blendphot.stamps.selection import select_galaxies

log = logging.getLogger(__name__)
STAGE_STREAM = 2
STAMPS_DATASETS = ("image_raw", "segmap_raw", "image", "mask", "catalog")
"""Contract of a stamps file: raw and cleaned images, raw segmentation, central mask, rows."""


def table1(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Counts per type before and after exclusion (the paper's Table 1)."""
    names = {"sph": "Bulge", "disk": "Disc", "sphd": "Bulge+disc", "irr": "Irregular"}
    rows = [
        {
            "type": names[t],
            "before_exclusion": int((before["type"] == t).sum()),
            "after_exclusion": int((after["type"] == t).sum()),
        }
        for t in GALAXY_TYPES
    ]
    rows.append({"type": "Total", "before_exclusion": len(before), "after_exclusion": len(after)})
    return pd.DataFrame(rows)


def build_stamps(
    mosaic_path: Path,
    catalog_path: Path,
    params: dict,
    seed: int,
    out_path: Path,
    table1_path: Path,
) -> dict:
    """Select galaxies, cut, segment and clean their stamps; write the stamps HDF5."""
    mosaic, header = read_mosaic(mosaic_path)
    catalog = read_catalog(catalog_path)
    noise = header.get("NOISE")
    if noise is None:
        import sep

        noise = float(sep.Background(mosaic).globalrms)
    before, after = select_galaxies(
        catalog, params["mag_max"], params["prob_threshold"], params["exclude_ids"]
    )
    rng = np.random.default_rng([seed, STAGE_STREAM])
    images_raw, segmaps, images, masks, rows = [], [], [], [], []
    skipped = {"edge": 0, "no_detection": 0}
    for row in after.itertuples(index=False):
        stamp = cut_stamp(mosaic, row.x, row.y, STAMP_SIZE)
        if stamp is None:
            skipped["edge"] += 1
            continue
        segmap, central = segment_stamp(
            stamp, noise, params["detect_thresh"], params["detect_minarea"]
        )
        if central == 0:
            skipped["no_detection"] += 1
            continue
        clean, mask = clean_stamp(stamp, segmap, central, params["dilate_iterations"], noise, rng)
        images_raw.append(stamp)
        segmaps.append(segmap)
        images.append(clean)
        masks.append(mask)
        rows.append(row)
    if not rows:
        raise InputError(catalog_path, "no galaxy passed the selection and stamp cutting")
    kept = pd.DataFrame(rows, columns=after.columns)
    zeropoint = float(header.get("MAGZERO", 25.96))
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as h5:
        for name, stack, dtype in (
            ("image_raw", images_raw, np.float32),
            ("segmap_raw", segmaps, np.int32),
            ("image", images, np.float32),
            ("mask", masks, np.uint8),
        ):
            h5.create_dataset(name, data=np.stack(stack).astype(dtype), track_times=False)
        write_table(h5.create_group("catalog"), kept)
        h5.attrs.update(
            {
                "noise": float(noise),
                "zeropoint": zeropoint,
                "seed": seed,
                "config_hash": config_hash(params),
                "version": __version__,
                "skipped_edge": skipped["edge"],
                "skipped_no_detection": skipped["no_detection"],
            }
        )
    write_csv(table1(before, after), table1_path)
    counts = {"stamps": len(kept), **skipped}
    log.info("stamps: %s", counts)
    return counts


def read_stamps(path: str | Path) -> tuple[h5py.File, pd.DataFrame]:
    """Open a stamps file (checked against the contract) and read its catalogue rows."""
    h5 = open_h5(path, required=STAMPS_DATASETS)
    return h5, read_table(h5["catalog"])
