"""Benchmark: the automatic inspection on GalSim shapes whose truth is known.

Draws ``--n`` stamps of each kind (clumpy disc, grand-design spiral, edge-on thick disc,
merger that is one galaxy; and true blends of two of them, overlapping at the isophote) with
the config's PSF, pixel scale and noise (:mod:`blendphot.stamps.inspection`), runs each through
the stamps stage's segmentation, cleaning and inspection, and prints per kind the keep rate
(single galaxies) or the rejection rate (blends) for:

- ``config``: the config's stamps section (the size-aware galaxy map, outer pieces with their
  own peak for the component rule);
- ``previous``: the inspection before the galaxy map (``galaxy_smoothing`` 0, component 0.3,
  loss 0.05: touching fine segments and smooth galaxies in several pieces count as blended).

Each kind's stamps are the same whatever the recipe (the refill draws from its own stream).

Usage: python benchmarks/inspection.py [--n 100] [--config config/config.yaml]
       [--markdown docs/studies/tables/inspection.md]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.config import load_config  # noqa: E402
from blendphot.docs import write_study_table  # noqa: E402
from blendphot.evaluate.tables import markdown_table  # noqa: E402
from blendphot.stamps.inspection import inspection_check  # noqa: E402

RECIPES = {
    "config": {},
    "previous": {"galaxy_smoothing": 0.0, "inspect_max_component": 0.3, "inspect_max_loss": 0.05},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="stamps per kind")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--seed", type=int, default=None, help="default: the config's seed")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the table, with the command, date and commit, for a study page",
    )
    args = parser.parse_args()
    cfg = load_config(args.config)
    seed = cfg["seed"] if args.seed is None else args.seed
    tables = []
    for name, changes in RECIPES.items():
        start = time.perf_counter()
        table = inspection_check({**cfg["stamps"], **changes}, cfg["sky"], args.n, seed)
        seconds = time.perf_counter() - start
        table.insert(0, "recipe", name)
        tables.append(table)
        print(f"{name}: {5 * args.n} stamps in {seconds:.1f} s")
    out = pd.concat(tables, ignore_index=True)
    out["measure"] = ["rejected" if k == "blend" else "kept" for k in out["kind"]]
    out["rate"] = out["rate"].map("{:.0%}".format)
    columns = ["recipe", "kind", "n", "measure", "rate", "reasons"]
    print(out[columns].to_string(index=False))
    if args.markdown:
        write_study_table(args.markdown, markdown_table(out[columns]))


if __name__ == "__main__":
    main()
