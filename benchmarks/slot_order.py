"""Which order of the companions can a network learn? The same network trained on the same
blends of 2 to 4 galaxies, with the companions' flux targets in the layout's order (the
brightest first) or by distance from the central (the nearest first).

    snakemake --configfile config/multi.yaml results/multi/blends/test.h5
    python benchmarks/slot_order.py [--markdown docs/studies/tables/slot-order.md]

It copies the mixed run's train/val/test sets with the companions' fluxes put in the order of
their distance (what blend2flux learns from: the images stay as they are), trains the run's
``--model`` on each order with each seed, and prints the flux MAPE (per cent) per number of
galaxies and slot on the test set, in the order the network was trained on, and the best
validation loss.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from multi_pairs import predict_pairs  # noqa: E402 - this folder's batched prediction

from blendphot.blends import galaxy_counts, open_blend_set  # noqa: E402
from blendphot.blends.layout import slot_prefix  # noqa: E402
from blendphot.config import read_yaml_file  # noqa: E402
from blendphot.docs import write_study_table  # noqa: E402
from blendphot.evaluate.tables import markdown_table  # noqa: E402
from blendphot.io import read_table  # noqa: E402
from blendphot.models.train import train_model, training_settings  # noqa: E402

SPLITS = ("train", "val", "test")


def distances(h5: h5py.File) -> np.ndarray:
    """(N, K) distance of each slot's galaxy from the central (0 for it, inf if absent)."""
    table = read_table(h5["table"])
    k = h5["flux"].shape[1]
    cols = [np.zeros(len(table)), table["distance"].to_numpy(float)]
    cols += [table[f"{slot_prefix(s)}_distance"].to_numpy(float) for s in range(2, k)]
    d = np.stack(cols, axis=1)
    return np.where(np.isfinite(h5["flux"][()]), d, np.inf)


def by_distance(src: Path, dst: Path) -> None:
    """A copy of a K-slot set with the companions' fluxes ordered by distance."""
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as h5:
        d = distances(h5)
        order = np.concatenate(
            [np.zeros((len(d), 1), int), 1 + np.argsort(d[:, 1:], axis=1, kind="stable")], 1
        )
        h5["flux"][...] = np.take_along_axis(h5["flux"][()], order, axis=1)


def slot_mape(model_path: Path, test: Path) -> dict[str, float]:
    """Flux MAPE per number of galaxies and slot of a trained model on a test set."""
    with open_blend_set(test) as h5:
        blends, truth, counts = h5["blend"][()], h5["flux"][()], galaxy_counts(h5)
    pred = predict_pairs(model_path, blends, slots=truth.shape[1])
    err = 100 * np.abs(pred - truth) / truth
    out = {}
    for n in np.unique(counts):
        for slot in range(n):
            out[f"n={n} g{slot + 1}"] = float(np.mean(err[counts == n, slot]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--multi", default="results/multi", help="the mixed run's results")
    parser.add_argument("--model", default="blend2flux")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the table, with the command, date and commit, for a study page",
    )
    args = parser.parse_args()
    multi = ROOT / args.multi
    config = read_yaml_file(multi / "config.yaml")
    model, settings = config["models"][args.model], training_settings(config, args.model)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "distance").mkdir()
        for split in SPLITS:
            by_distance(multi / "blends" / f"{split}.h5", tmp / "distance" / f"{split}.h5")
        orders = {
            "brightest first (the layout)": multi / "blends",
            "nearest first": tmp / "distance",
        }
        for seed in range(1, args.seeds + 1):
            for label, where in orders.items():
                out = tmp / f"{label.split()[0]}-{seed}"
                out.mkdir()
                history = train_model(
                    model, settings, where / "train.h5", where / "val.h5", out / "model.keras",
                    out / "history.csv", out / "resume", seed, threads=args.threads,
                    name=args.model,
                )  # fmt: skip
                rows.append(
                    {
                        "companions": label,
                        "seed": seed,
                        "best val loss": float(history["val_loss"].min()),
                        **slot_mape(out / "model.keras", where / "test.h5"),
                    }
                )
    table = markdown_table(pd.DataFrame(rows).round(2))
    print(table)
    if args.markdown:
        write_study_table(args.markdown, table)


if __name__ == "__main__":
    main()
