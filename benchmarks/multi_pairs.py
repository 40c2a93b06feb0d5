"""Do blends of more galaxies cost the pairs anything? A network trained on a mixed set
(``config/multi.yaml``: 2 to 4 galaxies) against the same network trained on pairs only, all
scored on the pairs inside the mixed test set.

It reads two finished runs, the demo (pairs) and the mixed one (same sky, stamps and test
galaxies):

    snakemake && snakemake --configfile config/multi.yaml
    python benchmarks/multi_pairs.py --seeds 3

and trains the mixed run's ``--model`` (blend2flux by default, its settings from the mixed
run's effective config) with each seed on three training sets: the mixed set; the demo's
pair set, as many blends (the pair-only network "trained the same way"); and the mixed set's
own pairs alone (as many pairs as the mixed set holds). It prints the flux MAPE (per cent) of
the central and the companion on the mixed test set's pairs, all of them and those where sep
found the galaxy (the Figure 5 selection), mean and standard deviation over the seeds, beside
the networks the workflow itself trained. One run on a noisy machine: seeds, not repeats,
make the spread.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.blends import galaxy_counts, open_blend_set  # noqa: E402
from blendphot.blends.layout import TABLE_COLUMNS  # noqa: E402
from blendphot.config import read_yaml_file  # noqa: E402
from blendphot.evaluate.methods import flux_columns  # noqa: E402
from blendphot.evaluate.metrics import catalog_selections  # noqa: E402
from blendphot.evaluate.tables import markdown_table  # noqa: E402
from blendphot.io import read_table, write_table  # noqa: E402
from blendphot.models.train import train_model, training_settings  # noqa: E402

ROLES = ("central", "companion")


def pairs_only(src: Path, dst: Path) -> int:
    """The pairs of a K-slot blend set as a pair set (K = 2) at ``dst``; returns how many."""
    with open_blend_set(src) as h5, h5py.File(dst, "w") as out:
        rows = np.flatnonzero(galaxy_counts(h5) == 2)
        for name in ("blend", "isolated", "mask", "flux", "isolated_true"):
            if name in h5:
                data = h5[name][()][rows]
                out[name] = data if name == "blend" else data[:, :2]
        table = read_table(h5["table"]).iloc[rows].reset_index(drop=True)
        keep = [c for c in table.columns if c in TABLE_COLUMNS or c in ("g1_galaxy", "g2_galaxy")]
        write_table(out.create_group("table"), table[keep])
        out.attrs.update({k: v for k, v in h5.attrs.items() if k != "galaxy_counts"})
    return len(rows)


def predict_pairs(model_path: Path, blends: np.ndarray, batch: int = 64) -> np.ndarray:
    """Central and companion fluxes (N, 2) of a trained model on blend images (N, S, S)."""
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


def scores(pred: np.ndarray, truth: np.ndarray, found: dict[str, np.ndarray]) -> dict:
    """MAPE of the central and companion, all pairs and where sep found the galaxy."""
    row = {}
    for k, role in enumerate(ROLES):
        row[f"{role} all"] = mape(pred[:, k], truth[:, k])
        row[f"{role} sep found"] = mape(pred[found[role], k], truth[found[role], k])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="results/demo", help="the pair-only run's results")
    parser.add_argument("--multi", default="results/multi", help="the mixed run's results")
    parser.add_argument("--model", default="blend2flux", help="the model trained per seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    pairs_dir, multi_dir = ROOT / args.pairs, ROOT / args.multi
    config = read_yaml_file(multi_dir / "config.yaml")  # the mixed run's effective config
    with open_blend_set(multi_dir / "blends" / "test.h5") as h5:
        rows = np.flatnonzero(galaxy_counts(h5) == 2)
        blends, truth = h5["blend"][()][rows], h5["flux"][()][rows, :2]
    catalog = pd.read_csv(multi_dir / "output_catalog.csv").iloc[rows].reset_index(drop=True)
    found = catalog_selections(catalog)["figure5"]
    results = []
    for name in flux_columns(config["models"]):  # the networks the workflow trained
        for label, run in (
            ("mixed (workflow run)", multi_dir),
            ("pairs (workflow run)", pairs_dir),
        ):
            pred = predict_pairs(run / "models" / name / "model.keras", blends)
            results.append({"model": name, "training set": label, "seed": config["seed"],
                            **scores(pred, truth, found)})  # fmt: skip
    model = config["models"][args.model]
    settings = training_settings(config, args.model)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = {
            "mixed": multi_dir / "blends",
            "pairs, as many blends": pairs_dir / "blends",
            "mixed set's pairs alone": tmp,
        }
        for split in ("train", "val"):
            pairs_only(multi_dir / "blends" / f"{split}.h5", tmp / f"{split}.h5")
        for seed in range(1, args.seeds + 1):
            for label, where in sets.items():
                out = tmp / f"{label}-{seed}".replace(" ", "_").replace(",", "")
                out.mkdir()
                train_model(
                    model, settings, where / "train.h5", where / "val.h5", out / "model.keras",
                    out / "history.csv", out / "resume", seed, threads=args.threads,
                    name=args.model,
                )  # fmt: skip
                pred = predict_pairs(out / "model.keras", blends)
                results.append({"model": args.model, "training set": label, "seed": seed,
                                **scores(pred, truth, found)})  # fmt: skip
    table = pd.DataFrame(results)
    metrics = [c for c in table.columns if c.startswith(ROLES)]
    summary = table.groupby(["model", "training set"], sort=False)[metrics].agg(["mean", "std"])
    summary.columns = [f"{a} {b}" for a, b in summary.columns]
    print(f"{len(rows)} pairs of the mixed test set; flux MAPE, per cent\n")
    print(markdown_table(table.round(2)))
    print()
    print(markdown_table(summary.round(2).reset_index()))


if __name__ == "__main__":
    main()
