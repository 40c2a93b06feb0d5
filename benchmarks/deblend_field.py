"""The deblending of a drawn field measured against its truth, in one process, for networks
trained outside a workflow run (the paper config's, say, trained by benchmarks/flux_bias.py):
the same library calls as the deblend rules (field, groups, every tile, merge, truth tables),
beside the networks' own artificial test blends.

    python benchmarks/deblend_field.py tests/data/paper_effective_config.yaml \
        --model blend2flux_f64=/path/model.keras --train /path/blends/train.h5 \
        --artificial /path/blends/test.h5 /path/pred_test.h5 /path/baseline/sep.csv \
        --work /tmp/deblend_paper --markdown docs/studies/tables/deblend-paper.md

Without ``--calibration`` the networks' fluxes have no calibrated interval (coverage blank), and
sep's intervals are its raw noise errors. Tiles already in the work folder are kept (delete
them to measure again).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import yaml
from astropy.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.config import validate_config  # noqa: E402
from blendphot.deblend.catalog import SEP_METHODS, merge_tiles, write_catalog  # noqa: E402
from blendphot.deblend.prepare import grouped_catalog, mosaic_header, run_tile  # noqa: E402
from blendphot.deblend.stages import field_sky  # noqa: E402
from blendphot.deblend.tiles import tile_grid  # noqa: E402
from blendphot.deblend.truth import (  # noqa: E402
    artificial_table,
    comparison,
    field_summary,
    markdown,
    natural_table,
    scored_objects,
)
from blendphot.docs import git_commit, write_study_table  # noqa: E402


def artificial_catalog(test: Path, predictions: Path, sep: Path, column: str) -> pd.DataFrame:
    """The artificial test blends as a catalogue: true fluxes, the network's, sep's."""
    with h5py.File(test) as h5:
        ids, flux = h5["table/id"][()], h5["flux"][()]
    with h5py.File(predictions) as h5:
        order = pd.Index(h5["id"][()]).get_indexer(ids)
        pred = h5["flux"][()][order]
    baseline = pd.read_csv(sep).set_index("id").reindex(ids)
    return pd.DataFrame(
        {
            "g1_flux": flux[:, 0],
            "g2_flux": flux[:, 1],
            f"g1_flux_{column}": pred[:, 0],
            f"g2_flux_{column}": pred[:, 1],
            "g1_flux_sex": baseline["flux_central"].to_numpy(float),
            "g2_flux_sex": baseline["flux_companion"].to_numpy(float),
            "g1_flux_kron": baseline["kron_central"].to_numpy(float),
            "g2_flux_kron": baseline["kron_companion"].to_numpy(float),
        }
    )


def main(argv: list[str] | None = None) -> int:
    commit = git_commit()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path, help="an effective (merged) configuration")
    parser.add_argument("--model", action="append", required=True, help="NAME=MODEL.keras")
    parser.add_argument("--train", type=Path, required=True, help="the training blend set")
    parser.add_argument("--calibration", type=Path, help="calibration.json of the networks")
    parser.add_argument("--artificial", type=Path, nargs=3, metavar=("TEST", "PRED", "SEP"))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    config = validate_config(yaml.safe_load(args.config.read_text()), str(args.config))
    models = dict(item.split("=", 1) for item in args.model)
    args.work.mkdir(parents=True, exist_ok=True)
    mosaic, truth_path = args.work / "mosaic.fits", args.work / "catalog.fits"
    clock = {}
    start = time.perf_counter()
    if not mosaic.exists():
        from blendphot.sky.synthetic import make_synthetic_sky

        sky, seed = field_sky(config)
        make_synthetic_sky(sky, seed, mosaic, truth_path)
    clock["field"] = time.perf_counter() - start
    start = time.perf_counter()
    groups = grouped_catalog(config, str(mosaic), str(truth_path))
    write_catalog(groups, args.work / "groups.fits")
    clock["groups"] = time.perf_counter() - start
    inputs = {
        "mosaic": str(mosaic),
        "groups": str(args.work / "groups.fits"),
        "models": list(models.values()),
        "train": str(args.train),
    }
    if args.calibration:
        inputs["calibration"] = str(args.calibration)
    _, shape = mosaic_header(mosaic)
    deblend = config["deblend"]
    tiles = tile_grid(shape, deblend["tile_size"], deblend["margin"], deblend.get("tiles"))
    start = time.perf_counter()
    paths = []
    for tile in tiles:  # a tile written by an earlier run of the same work folder is kept
        paths.append(args.work / f"tile{tile.index}.fits")
        if not paths[-1].exists():
            run_tile(config, inputs, paths[-1], tile.index, list(models), 2)
    clock["tiles"] = time.perf_counter() - start
    deblended = merge_tiles(paths)
    truth = Table.read(truth_path).to_pandas()
    columns = [config["models"][name].get("column", name) for name in models]
    scored = scored_objects(deblended, truth)
    natural = natural_table(scored, [*columns, *SEP_METHODS])
    artificial = pd.DataFrame(columns=["method", "n", "mape", "bias", "coverage"])
    if args.artificial:
        catalog = artificial_catalog(*args.artificial, columns[0])
        artificial = artificial_table(catalog, {columns[0]: columns[0]} | SEP_METHODS)
    text = markdown(natural, comparison(natural, artificial), field_summary(deblended, scored))
    text = text.split("\n", 2)[2]  # without the title
    print(text)
    print("seconds:", ", ".join(f"{k} {v:.0f}" for k, v in clock.items()))
    if args.markdown:
        write_study_table(args.markdown, text, commit=commit)
    return 0 if np.isfinite(natural["mape"]).any() else 1


if __name__ == "__main__":
    raise SystemExit(main())
