"""Benchmark: how well the neighbour cleaning works, against the truth, recipes side by side.

Draws a synthetic sky of ``--n-galaxies`` primaries with the config's sky section (2000: the
issue's calibration scale), then runs the stamps stage on it once per recipe:

- ``config``: the config's stamps section as it is (the default recipe);
- ``paper``: the paper's recipe alone (dilated sep segments, no isolation cut, no scaled or
  faint masks, no automatic inspection);
- ``no-faint``, ``no-blended``, ``small-masks``: the config with one step undone (the faint
  detection pass; the blended-system inspection; the scaled masks of the first version,
  ``mask_sb_fraction`` 0.1 and ``mask_growth_max`` 6).

For each it prints the stamps kept and excluded, the neighbours' light left (the other objects
centred in the stamp; what the background copies carry included), its part under the central
mask, the outside light left (wings of objects centred beyond the stamp) and all of it, and the
central galaxy's light replaced (mean, stamps over 10%) and the change of its mask flux. Then,
for the ``config`` recipe, the KS comparison of the kept stamps with the paper's galaxies.
Usage: python benchmarks/cleaning.py [--n-galaxies 2000] [--config config/config.yaml]
       [--markdown docs/studies/tables/cleaning.md]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import h5py
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.config import load_config  # noqa: E402
from blendphot.docs import write_study_table  # noqa: E402
from blendphot.evaluate.tables import markdown_table  # noqa: E402
from blendphot.io import read_table  # noqa: E402
from blendphot.sky.calibration import (  # noqa: E402
    compare_to_reference,
    load_reference_galaxies,
    reference_path,
)
from blendphot.sky.synthetic import make_synthetic_sky  # noqa: E402
from blendphot.stamps import build_stamps, summarise_cleaning  # noqa: E402

PAPER = {
    "neighbour_mask": "fixed",
    "central_merge_radius": 0.0,
    "faint_smoothing": 0.0,
    "isolation": None,
    "inspect_max_loss": None,
    "inspect_max_component": None,
    "inspect_blended": False,
}
RECIPES = {
    "config": {},
    "paper": PAPER,
    "no-faint": {"faint_smoothing": 0.0},
    "no-blended": {"inspect_blended": False},
    "small-masks": {"mask_sb_fraction": 0.1, "mask_growth_max": 6.0},
}
COLUMNS = [
    ("stamps", "kept", "{:d}"),
    ("excluded", "excl", "{:d}"),
    ("neighbour_left_fraction", "nb left %", "{:.2%}"),
    ("neighbour_under_mask_fraction", "under mask %", "{:.3%}"),
    ("outside_left_fraction", "outside left %", "{:.1%}"),
    ("all_left_fraction", "all left %", "{:.2%}"),
    ("central_removed_fraction_mean", "central repl %", "{:.2%}"),
    ("central_removed_over_10pc", ">10%", "{:d}"),
    ("central_mask_change_mean", "mask change", "{:.2g}"),
]


def run(
    config: Path, n_galaxies: int, recipes: list[str], workdir: Path, markdown: Path | None = None
) -> None:
    """Draw the sky, run each recipe, print the table and the kept stamps' KS comparison
    (``markdown``: also write the table for a study page)."""
    cfg = load_config(config)
    sky = {**cfg["sky"], "n_galaxies": n_galaxies}
    mosaic, catalog = workdir / "mosaic.fits", workdir / "catalog.fits"
    start = time.perf_counter()
    make_synthetic_sky(sky, cfg["seed"], mosaic, catalog)
    print(f"sky: {n_galaxies} primaries, drawn in {time.perf_counter() - start:.1f} s")
    rows = []
    for name in recipes:
        params = {**cfg["stamps"], **RECIPES[name]}
        out, cleaning = workdir / f"{name}.h5", workdir / f"{name}.csv"
        start = time.perf_counter()
        counts = build_stamps(mosaic, catalog, params, cfg["seed"], out, workdir / "t1.csv",
                              sky=sky, cleaning_path=cleaning)  # fmt: skip
        seconds = time.perf_counter() - start
        summary = summarise_cleaning(pd.read_csv(cleaning))
        cells = {label: fmt.format(summary[key]) for key, label, fmt in COLUMNS}
        timing = {"s": f"{seconds:.1f}"}
        rows.append({"recipe": name, "selected": counts["selected"], **cells, **timing})
    print(pd.DataFrame(rows).to_string(index=False))
    if markdown:
        write_study_table(markdown, markdown_table(pd.DataFrame(rows)))
    if "config" in recipes:
        with h5py.File(workdir / "config.h5") as h5:
            kept = read_table(h5["catalog"])
        checks = compare_to_reference(kept, load_reference_galaxies(reference_path()))
        print("\nkept stamps (config recipe) vs the paper's galaxies:")
        print(checks.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-galaxies", type=int, default=2000)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the table, with the command, date and commit, for a study page",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="blendphot-cleaning-") as tmp:
        run(args.config, args.n_galaxies, args.recipes, Path(tmp), args.markdown)


if __name__ == "__main__":
    main()
