"""Do blends of more galaxies cost the pairs anything? The networks trained on a mixed set
(``config/multi.yaml``: 2 to 4 galaxies) against the same networks trained on pairs only (the
demo, same sky, architecture and training), both on the pairs inside the mixed test set.

Runs nothing in the workflow: it reads two finished runs,

    snakemake && snakemake --configfile config/multi.yaml
    python benchmarks/multi_pairs.py

predicts the pair-only models on the mixed set's pair blends, and prints, per flux model and
galaxy, the MAPE (per cent) of the two on the same pairs: all of them, and those where sep
found the galaxy (the Figure 5 selection), with the relative difference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.blends import galaxy_counts, open_blend_set  # noqa: E402
from blendphot.config import read_yaml_file  # noqa: E402
from blendphot.evaluate.methods import flux_columns  # noqa: E402
from blendphot.evaluate.metrics import catalog_selections  # noqa: E402
from blendphot.evaluate.tables import markdown_table  # noqa: E402


def pair_predictions(model_path: Path, blends: np.ndarray, batch: int = 64) -> np.ndarray:
    """Fluxes (N, 2) of a pair-trained model on blend images (N, S, S)."""
    import keras

    import blendphot.models.widths  # noqa: F401 - registers a width model's layers and loss

    model = keras.models.load_model(model_path)
    out = []
    for start in range(0, len(blends), batch):
        pred = model.predict_on_batch(blends[start : start + batch][..., None])
        out.append(np.asarray(pred["flux"] if isinstance(pred, dict) else pred, float)[:, :2])
    return np.concatenate(out)


def mape(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean absolute percentage error over the finite entries."""
    ratio = np.abs(pred - true) / true
    return float(100 * np.mean(ratio[np.isfinite(ratio)]))


def compare(pairs_dir: Path, multi_dir: Path, models: dict[str, str]) -> pd.DataFrame:
    """One row per (model, galaxy, selection): MAPE of the mixed-trained and the pair-trained
    model on the mixed test set's pairs."""
    with open_blend_set(multi_dir / "blends" / "test.h5") as h5:
        rows = np.flatnonzero(galaxy_counts(h5) == 2)
        blends = h5["blend"][()][rows]
        truth = h5["flux"][()][rows, :2]
    catalog = pd.read_csv(multi_dir / "output_catalog.csv").iloc[rows].reset_index(drop=True)
    found = catalog_selections(catalog)["figure5"]
    out = []
    for name, col in models.items():
        mixed = catalog[[f"g1_flux_{col}", f"g2_flux_{col}"]].to_numpy(float)
        paired = pair_predictions(pairs_dir / "models" / name / "model.keras", blends)
        for k, role in enumerate(("central", "companion")):
            for selection, inside in (
                ("all pairs", np.ones(len(rows), bool)),
                ("sep found it", found[role]),
            ):
                a, b = (
                    mape(mixed[inside, k], truth[inside, k]),
                    mape(paired[inside, k], truth[inside, k]),
                )
                out.append(
                    {
                        "model": name,
                        "galaxy": role,
                        "selection": selection,
                        "n": int(inside.sum()),
                        "mape_mixed_trained": round(a, 2),
                        "mape_pair_trained": round(b, 2),
                        "relative_difference_percent": round(100 * (a - b) / b, 1),
                    }
                )
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="results/demo", help="the pair-only run's results")
    parser.add_argument("--multi", default="results/multi", help="the mixed run's results")
    args = parser.parse_args()
    pairs_dir, multi_dir = ROOT / args.pairs, ROOT / args.multi
    config = read_yaml_file(multi_dir / "config.yaml")  # the mixed run's effective config
    print(markdown_table(compare(pairs_dir, multi_dir, flux_columns(config["models"]))))


if __name__ == "__main__":
    main()
