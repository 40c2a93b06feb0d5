"""The deblend target measured: throughput per stage and peak memory per tile from the logs
of a finished `snakemake deblend` run, the plan they give for a 1 deg^2 tile of CANDELS depth
and for 10^6 blends on a cluster, the run's comparison with the truth, its figure, and the
figure of the real HST group deblended by the run's networks.

    python benchmarks/deblend.py results/demo \
        --throughput docs/studies/tables/deblend-throughput.md \
        --truth docs/studies/tables/deblend-truth.md \
        --figures docs/studies/figures

Every number comes from the run's own logs and files: the tile jobs log their objects, groups,
region pixels, the seconds of each part (reading, loading the models, sep's detection, the
stamps and sep's photometry, the networks) and their peak memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.docs import git_commit, write_study_table  # noqa: E402

TILE_LINE = re.compile(
    r"tile (?P<tile>\d+): (?P<objects>\d+) objects in (?P<groups>\d+) groups "
    r"\((?P<blended>\d+) of two or more\), (?P<pixels>\d+) region pixels, (?P<parts>.*); "
    r"peak memory (?P<memory>[\d.]+) MB"
)
PART = re.compile(r"(?P<name>[a-z ]+) (?P<seconds>[\d.]+) s")
SHAPE = re.compile(r"'shape': \((?P<ny>\d+), (?P<nx>\d+)\)")
GROUPED = re.compile(r"grouped (?P<objects>\d+) objects in (?P<seconds>[\d.]+) s")
DEG2_ARCSEC = 3600.0
BLENDS = 1_000_000
CLUSTER_CORES = 256  # the plan's cluster: cores running tile jobs at once


def tile_table(logs: Path) -> pd.DataFrame:
    """One row per tile job: its counts, the seconds of each part and its peak memory."""
    rows = []
    for path in sorted((logs / "deblend_tile").glob("*.log")):
        found = [m for m in map(TILE_LINE.search, path.read_text().splitlines()) if m]
        if not found:
            continue
        m = found[-1]
        row = {k: int(m[k]) for k in ("tile", "objects", "groups", "blended", "pixels")}
        row |= {p["name"].strip(): float(p["seconds"]) for p in PART.finditer(m["parts"])}
        row["memory_mb"] = float(m["memory"])
        rows.append(row)
    if not rows:
        raise SystemExit(f"{logs}/deblend_tile: no tile log with timings (run snakemake deblend)")
    return pd.DataFrame(rows)


def field_area(logs: Path, pixel_scale: float) -> tuple[float, int]:
    """(area in arcmin^2, pixels) of the drawn field, from its log."""
    m = SHAPE.search((logs / "deblend_field.log").read_text())
    pixels = int(m["ny"]) * int(m["nx"])
    return pixels * (pixel_scale / 60.0) ** 2, pixels


def throughput(tiles: pd.DataFrame, grouped: tuple[int, float]) -> pd.DataFrame:
    """Objects per second of each stage on one core (sums over the tiles)."""
    n = tiles["objects"].sum()
    rows = [{"stage": "grouping (whole field)", "seconds": grouped[1],
             "objects_per_s": grouped[0] / grouped[1]}]  # fmt: skip
    for part in ("read", "detect", "stamps and sep", "networks", "measure"):
        seconds = tiles[part].sum()
        rows.append({"stage": part, "seconds": seconds, "objects_per_s": n / seconds})
    startup = tiles["load models"].sum()
    rows.append({"stage": "load models (per tile job)", "seconds": startup,
                 "objects_per_s": n / startup})  # fmt: skip
    return pd.DataFrame(rows)


def plan(tiles: pd.DataFrame, density: float, blended_per_arcmin2: float, tile_area: float) -> dict:
    """The cost of 1 deg^2 of CANDELS depth and of 10^6 blends, from the measured tiles:
    a tile's seconds = loading its models + its objects x the measured seconds per object."""
    per_object = tiles["measure"].sum() / tiles["objects"].sum()
    startup = tiles["load models"].median()
    objects = density * DEG2_ARCSEC
    n_tiles = DEG2_ARCSEC / tile_area
    seconds = n_tiles * startup + objects * per_object
    deg2_for_blends = BLENDS / (blended_per_arcmin2 * DEG2_ARCSEC)
    return {
        "objects_per_deg2": objects,
        "tiles_per_deg2": n_tiles,
        "core_hours_per_deg2": seconds / 3600,
        "peak_memory_mb": float(tiles["memory_mb"].max()),
        "blends_per_deg2": blended_per_arcmin2 * DEG2_ARCSEC,
        "deg2_for_1e6_blends": deg2_for_blends,
        "core_hours_for_1e6_blends": deg2_for_blends * seconds / 3600,
        "hours_on_cluster_for_1e6_blends": deg2_for_blends * seconds / 3600 / CLUSTER_CORES,
    }


def markdown_table(df: pd.DataFrame) -> str:
    """A Markdown table of a frame, its numbers to 3 significant digits."""
    from blendphot.evaluate.tables import markdown_table as table

    return table(df.map(lambda v: f"{v:.3g}" if isinstance(v, float) else str(v))).rstrip()


def real_hst_figure(run: Path, out: Path) -> None:
    """The shipped real HST group deblended by the run's networks, beside sep's segmentation."""
    import tempfile

    import yaml

    from blendphot.config import validate_config
    from blendphot.deblend.catalog import write_catalog
    from blendphot.deblend.figure import region_figure
    from blendphot.deblend.prepare import grouped_catalog, run_tile
    from blendphot.evaluate.methods import flux_columns

    config = validate_config(yaml.safe_load((run / "config.yaml").read_text()), "config.yaml")
    image = ROOT / "examples" / "real_hst" / "abell_2744_group_of_galaxies_f105w.fits.gz"
    config["deblend"] = {**config["deblend"], "mosaic": str(image), "catalog": None}
    names = list(flux_columns(config["models"]))
    with tempfile.TemporaryDirectory() as tmp:
        groups = grouped_catalog(config, str(image), None)
        write_catalog(groups, Path(tmp) / "groups.fits")
        inputs = {
            "mosaic": str(image),
            "groups": str(Path(tmp) / "groups.fits"),
            "models": [str(run / "models" / n / "model.keras") for n in names],
            "calibration": str(run / "calibration" / "calibration.json"),
            "train": str(run / "blends" / "train.h5"),
        }
        table = run_tile(config, inputs, Path(tmp) / "tile.fits", 0, names, 2)
    column = flux_columns(config["models"])[names[0]]
    pairs = table[table["group_size"] > 1]
    group = int(pairs["group_id"].iloc[0]) if len(pairs) else None
    region_figure(image, table, None, [column], out, config["baseline"], group=group, size=100)
    shown = table[["id", "x", "y", "mag", "group_size", "slot", f"flux_{column}", "flux_sep",
                   "flag_names"]]  # fmt: skip
    print(shown.to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    commit = git_commit()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a run's results folder (results/<dataset>)")
    parser.add_argument("--throughput", type=Path, help="write the throughput and plan table")
    parser.add_argument("--truth", type=Path, help="write the run's comparison with the truth")
    parser.add_argument("--figures", type=Path, help="copy the region figure, draw the real one")
    args = parser.parse_args(argv)
    import yaml

    config = yaml.safe_load((args.run / "config.yaml").read_text())
    logs = args.run / "logs"
    tiles = tile_table(logs)
    m = GROUPED.search((logs / "deblend_groups.log").read_text())
    grouped = (int(m["objects"]), max(float(m["seconds"]), 1e-3))
    area, _ = field_area(logs, config["sky"]["pixel_scale"])
    density = tiles["objects"].sum() / area
    blended = tiles["blended"].sum() / area
    tile_side = config.get("deblend", {}).get("tile_size", 2048)
    # the plan's tiles: tile_size squares (arcmin^2), as a 1 deg^2 mosaic is cut
    tile_area = (tile_side * config["sky"]["pixel_scale"] / 60.0) ** 2
    rates = throughput(tiles, grouped)
    costs = plan(tiles, density, blended, tile_area)
    text = (
        f"Field: {tiles['objects'].sum()} objects over {area:.1f} arcmin^2 ({density:.0f} per "
        f"arcmin^2), {tiles['blended'].sum()} groups of two or more, {len(tiles)} tiles of "
        f"{tile_side} pixels (median {tiles['objects'].median():.0f} objects, "
        f"{tiles['pixels'].median() / 1e6:.1f} Mpixels with the margins); peak memory per tile "
        f"{tiles['memory_mb'].median():.0f} MB median, {tiles['memory_mb'].max():.0f} MB most.\n\n"
        + markdown_table(rates)
        + "\n\nPlan (one core per tile job; the networks on CPU as measured):\n\n"
        + markdown_table(pd.DataFrame({"quantity": list(costs), "value": list(costs.values())}))
        + f"\n\n(`hours_on_cluster`: {CLUSTER_CORES} cores at once.)"
    )  # fmt: skip
    print(text)
    if args.throughput:
        write_study_table(args.throughput, text, commit=commit)
    if args.truth:
        truth = (args.run / "deblend" / "truth.md").read_text().split("\n", 2)[2]
        write_study_table(args.truth, truth, commit=commit)
    if args.figures:
        args.figures.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.run / "deblend" / "region.png", args.figures / "deblend-region.png")
        real_hst_figure(args.run, args.figures / "deblend-real-hst.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
