"""The data chain outside Snakemake, for tests and benchmarks: sky, stamps, blend sets."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import run_stage


def run_data_chain(config: dict, directory: Path) -> dict[str, Path]:
    """Sky, stamps and blend sets of a synthetic config in one folder; the paths by name."""
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
