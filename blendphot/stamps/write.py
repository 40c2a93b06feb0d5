"""The stamps stage's outputs: the stamps file, Table 1 and the cleaning report.

A source of stamps (:mod:`blendphot.stamps.build`) adds each processed stamp to a
:class:`StampSet`; :func:`finish_stamps` writes the three files at once. The stamps file's
layout is :mod:`blendphot.stamps.layout`'s:

- ``image_raw`` (N,128,128) float32: the cut-out as observed, neighbours included;
- ``segmap_raw`` (N,128,128) int32: its sep (or provided SExtractor) segmentation;
- ``image`` (N,128,128) float32: the cleaned stamp (neighbours replaced by background);
- ``mask`` (N,128,128) uint8: the central galaxy's segment;
- ``catalog``: the catalogue rows of the N galaxies (plus noise, n_neighbours, replaced);
- ``image_true`` (N,128,128) float32, synthetic sky only: the noiseless central galaxy alone,
  on exactly the pixels of ``image``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from blendphot.errors import InputError
from blendphot.io import atomic_path, config_hash, write_csv, write_table
from blendphot.sky import GALAXY_TYPES
from blendphot.stamps.layout import SKIP_REASONS, TRUTH_DATASET
from blendphot.stamps.settings import StampSettings
from blendphot.stamps.validation import summarise_cleaning
from blendphot.version import software_version

log = logging.getLogger(__name__)


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


@dataclass
class StampSet:
    """Stamps accumulated galaxy by galaxy, then written at once."""

    raw: list = field(default_factory=list)
    segmaps: list = field(default_factory=list)
    clean: list = field(default_factory=list)
    masks: list = field(default_factory=list)
    truth: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    report: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    skipped: dict = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))

    def add(self, stamp: np.ndarray, result: dict, row: dict, noise: float) -> bool:
        """Record one processed stamp (:func:`~blendphot.stamps.process.process_stamp`'s
        ``result``) in the report; keep it unless the inspection excluded it. Returns True
        when it was kept."""
        summary = {
            "n_neighbours": result["n_neighbours"],
            "central_segments": result["family"],
            "replaced_fraction": float(result["replaced"].mean()),
            "loss_estimate": float(result["loss_estimate"]),
            "component_share": float(result["component_share"]),
            "asymmetry": float(result["asymmetry"]),
            "touching": result["touching"],
            "split": result["split"],
            "excluded": bool(result["excluded"]),
            "reasons": "+".join(result["reasons"]),
        }
        self.report.append({k: row[k] for k in ("id", "type", "mag")} | summary)
        if result["excluded"]:
            self.skipped["inspection"] += 1
            self.excluded.append(row["id"])
            return False
        self.raw.append(stamp)
        self.segmaps.append(result["segmap"])
        self.clean.append(result["clean"])
        self.masks.append(result["mask"])
        self.rows.append(
            {
                **row,
                "noise": float(noise),
                "n_neighbours": result["n_neighbours"],
                "replaced_fraction": summary["replaced_fraction"],
            }
        )
        return True


def stamps_attrs(
    settings: StampSettings, seed: int, noise: float, zeropoint: float, source: str
) -> dict:
    """Attributes every stamps file carries (with the software's ``version`` and ``commit``)."""
    return {
        "noise": float(noise),
        "zeropoint": float(zeropoint),
        "seed": seed,
        "config_hash": config_hash(settings.as_config()),
        **software_version(),
        "source": source,
    }


def write_stamps(out: StampSet, path: Path, attrs: dict, columns: list[str]) -> pd.DataFrame:
    """Write the stamps HDF5 (atomically); return the catalogue rows written."""
    if not out.rows:
        raise InputError(None, "no galaxy passed the selection and stamp cutting")
    kept = pd.DataFrame(out.rows)
    kept = kept[[c for c in columns if c in kept.columns] + ["noise", "n_neighbours"]
                + ["replaced_fraction"]]  # fmt: skip
    stacks = [
        ("image_raw", out.raw, np.float32),
        ("segmap_raw", out.segmaps, np.int32),
        ("image", out.clean, np.float32),
        ("mask", out.masks, np.uint8),
    ]
    if out.truth:
        stacks.append((TRUTH_DATASET, out.truth, np.float32))
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        for name, stack, dtype in stacks:
            h5.create_dataset(name, data=np.stack(stack).astype(dtype), track_times=False)
        write_table(h5.create_group("catalog"), kept)
        h5.attrs.update({**attrs, **{f"skipped_{k}": v for k, v in out.skipped.items()}})
    return kept


def finish_stamps(
    out: StampSet,
    before: pd.DataFrame,
    after: pd.DataFrame,
    attrs: dict,
    paths: dict,
    columns: list[str],
) -> dict:
    """Write the stamps file (``paths["stamps"]``), Table 1 (``paths["table1"]``) and the
    cleaning report (``paths["cleaning"]``, if not None); log and return the counts. No stamp
    at all: one InputError on ``paths["source"]`` with the count of every cut."""
    cuts = {**after.attrs.get("cuts", {}), **out.skipped}
    if not out.rows:
        counts = ", ".join(f"{name} {n}" for name, n in cuts.items())
        raise InputError(
            paths["source"],
            f"no galaxy passed the selection and stamp cutting ({counts}: objects in the "
            "catalogue, then removed by each cut in turn)",
        )
    kept = write_stamps(out, paths["stamps"], attrs, columns)
    write_csv(table1(before, after.loc[~after["id"].isin(out.excluded)]), paths["table1"])
    report = pd.DataFrame(out.report)
    if "neighbour_total" in report:
        log.info("cleaning measured against the truth: %s", summarise_cleaning(report))
    if paths.get("cleaning") is not None:
        write_csv(report, paths["cleaning"], float_format="%.6g")
    counts = {**cuts, "selected": len(after), "stamps": len(kept)}
    log.info("stamps: %s", counts)
    return counts
