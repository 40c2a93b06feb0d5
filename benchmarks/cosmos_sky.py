"""Benchmark: per-galaxy render time of the COSMOS sky source, and a paper-size estimate.

Draws the catalogue of a ``--n-galaxies`` sky (the config's sky section, neighbours included)
and times each object's drawing as a real COSMOS galaxy (``sky.source: cosmos``) and as the
synthetic sky's profile, then extrapolates to the primaries and neighbours of a paper-size sky
(config/paper.yaml: 2000 primaries). ``--dir`` is a COSMOS sample downloaded with
``galsim_download_cosmos``; without it, a COSMOS-format sample of GalSim-drawn galaxies
(96 x 96 pixels of 0.03") is written to a temporary directory, so the time measured is that of
GalSim's real-galaxy machinery on stamps of that size, not on the real files (whose stamps
vary in size): an estimate, stated as such.

Usage: python benchmarks/cosmos_sky.py [--dir DIR] [--sample 25.2] [--n-galaxies 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.config import load_config, merged_config  # noqa: E402
from blendphot.sky.cosmos import add_cosmos_columns, write_cosmos_sample  # noqa: E402
from blendphot.sky.settings import SkySettings  # noqa: E402
from blendphot.sky.synthetic import draw_galaxy_catalog, draw_object, make_psf  # noqa: E402


def time_rows(rows: list[dict], settings: dict) -> float:
    """Seconds per object to draw ``rows`` with the sky's PSF (COSMOS or synthetic)."""
    sky = SkySettings.of(settings)
    psf, method = make_psf(sky.psf)
    start = time.perf_counter()
    for row in rows:
        draw_object(row, psf, method, sky.pixel_scale, sky)
    return (time.perf_counter() - start) / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="a COSMOS sample directory")
    parser.add_argument("--sample", default="25.2", choices=("23.5", "25.2"))
    parser.add_argument("--n-galaxies", type=int, default=50)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    args = parser.parse_args()
    cfg = load_config(args.config)
    paper = merged_config(ROOT / "config" / "config.yaml", [ROOT / "config" / "paper.yaml"])["sky"]
    with tempfile.TemporaryDirectory(prefix="blendphot-cosmos-") as tmp:
        directory = args.dir or write_cosmos_sample(
            Path(tmp) / f"COSMOS_{args.sample}_training_sample", n=40
        )
        where = "real COSMOS files" if args.dir else "a GalSim-drawn COSMOS-format sample"
        cosmos = {"dir": str(directory), "sample": args.sample, "exclusion_level": "marginal"}
        sky = {**cfg["sky"], "n_galaxies": args.n_galaxies, "source": "cosmos", "cosmos": cosmos}
        catalog = add_cosmos_columns(draw_galaxy_catalog(sky, cfg["seed"]), sky, cfg["seed"])
        rows = catalog.to_dict("records")
        per_cosmos = time_rows(rows, sky)
        per_synthetic = time_rows(rows, {**sky, "source": "synthetic"})
    n_paper = paper["n_galaxies"] * (1 + paper["neighbours_per_galaxy"])
    print(f"{len(rows)} objects ({where}): COSMOS {1e3 * per_cosmos:.1f} ms per object, "
          f"synthetic {1e3 * per_synthetic:.1f} ms per object")  # fmt: skip
    print(f"paper-size sky (~{n_paper:.0f} objects, extrapolated): COSMOS "
          f"{per_cosmos * n_paper / 60:.1f} min, synthetic {per_synthetic * n_paper / 60:.1f} "
          "min on one core (drawing only; the truth stamps of the stamps stage redraw each "
          "stamp's objects again)")  # fmt: skip


if __name__ == "__main__":
    main()
