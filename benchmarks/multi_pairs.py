"""Do blends of more galaxies cost the pairs anything? A network trained on a mixed set
(``config/multi.yaml``: 2 to 4 galaxies) against the same network trained on pairs only, all
scored on the pairs inside the mixed test set.

It reads two finished runs, the demo (pairs) and the mixed one (same sky, stamps and test
galaxies):

    snakemake && snakemake --configfile config/multi.yaml
    python benchmarks/multi_pairs.py --seeds 3

and trains the mixed run's ``--model`` (blend2flux by default, its settings from the mixed
run's effective config) with each seed on three training sets: the mixed set, once per
``--absent-weights`` (the weight of the flux put in an absent slot, ``training.absent_weight``;
by default the run's own and 0, absent slots left out of the loss); the demo's pair set, as
many blends (the pair-only network "trained the same way"); and the mixed set's own pairs
alone (as many pairs as the mixed set holds). It prints the flux MAPE (per cent) of
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


def predict_pairs(
    model_path: Path, blends: np.ndarray, batch: int = 64, slots: int = 2
) -> np.ndarray:
    """The first ``slots`` fluxes (N, slots; the central and the companion by default) of a
    trained model on blend images (N, S, S)."""
    import keras

    import blendphot.models.widths  # noqa: F401 - registers a width model's layers and loss

    model = keras.models.load_model(model_path)
    out = []
    for start in range(0, len(blends), batch):
        pred = model.predict_on_batch(blends[start : start + batch][..., None])
        out.append(np.asarray(pred["flux"] if isinstance(pred, dict) else pred, float)[:, :slots])
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


def larger_blend_scores(pred: np.ndarray, truth: np.ndarray, counts: np.ndarray) -> dict:
    """MAPE per number of galaxies (> 2) and slot over every blend of that count."""
    return {
        f"{n}: {'central' if k == 0 else f'companion {k}'}": mape(pred[counts == n, k],
                                                                truth[counts == n, k])
        for n in sorted(set(counts) - {2})
        for k in range(n)
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="results/demo", help="the pair-only run's results")
    parser.add_argument("--multi", default="results/multi", help="the mixed run's results")
    parser.add_argument("--model", default="blend2flux", help="the model trained per seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--epochs", type=int, help="maximum epochs of every training (default: the run's)"
    )
    parser.add_argument(
        "--absent-weights",
        type=float,
        nargs="+",
        help="absent_weight values the mixed set is trained with (default: the run's and 0)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the table, with the command, date and commit, for a study page",
    )
    args = parser.parse_args()
    pairs_dir, multi_dir = ROOT / args.pairs, ROOT / args.multi
    config = read_yaml_file(multi_dir / "config.yaml")  # the mixed run's effective config
    with open_blend_set(multi_dir / "blends" / "test.h5") as h5:
        counts = galaxy_counts(h5)
        rows = np.flatnonzero(counts == 2)
        every_blend, every_truth = h5["blend"][()], h5["flux"][()]
        blends, truth = every_blend[rows], every_truth[rows, :2]
        larger = np.flatnonzero(counts > 2)
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
    if args.epochs:  # early stopping (the run's patience) still ends a training sooner
        settings = {**settings, "epochs": args.epochs}
    weights = args.absent_weights or list(dict.fromkeys([settings["absent_weight"], 0.0]))
    extra = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = {
            **{(f"mixed, absent_weight {w:g}", w): multi_dir / "blends" for w in weights},
            ("pairs, as many blends", None): pairs_dir / "blends",
            ("mixed set's pairs alone", None): tmp,
        }
        for split in ("train", "val"):
            pairs_only(multi_dir / "blends" / f"{split}.h5", tmp / f"{split}.h5")
        for seed in range(1, args.seeds + 1):
            for (label, weight), where in sets.items():
                out = tmp / f"{label}-{seed}".replace(" ", "_").replace(",", "")
                out.mkdir()
                run_settings = settings if weight is None else {**settings, "absent_weight": weight}
                train_model(
                    model, run_settings, where / "train.h5", where / "val.h5", out / "model.keras",
                    out / "history.csv", out / "resume", seed, threads=args.threads,
                    name=args.model,
                )  # fmt: skip
                pred = predict_pairs(out / "model.keras", blends)
                results.append({"model": args.model, "training set": label, "seed": seed,
                                **scores(pred, truth, found)})  # fmt: skip
                if weight is not None:  # trained on the mixed set: its larger blends too
                    slots = every_truth.shape[1]
                    pred = predict_pairs(out / "model.keras", every_blend[larger], slots=slots)
                    extra.append({"training set": label, "seed": seed,
                                  **larger_blend_scores(pred, every_truth[larger],
                                                        counts[larger])})  # fmt: skip
    table = pd.DataFrame(results)
    metrics = [c for c in table.columns if c.startswith(ROLES)]
    summary = table.groupby(["model", "training set"], sort=False)[metrics].agg(["mean", "std"])
    summary.columns = [f"{a} {b}" for a, b in summary.columns]
    print(
        f"{args.model}: at most {settings['epochs']} epochs (patience {settings['patience']}), "
        f"{args.seeds} seeds\n{len(rows)} pairs of the mixed test set; flux MAPE, per cent\n"
    )
    print(markdown_table(table.round(2)))
    print()
    print(markdown_table(summary.round(2).reset_index()))
    extra = pd.DataFrame(extra)
    slots = [c for c in extra.columns if c not in ("training set", "seed")]
    larger_summary = extra.groupby("training set", sort=False)[slots].agg(["mean", "std"])
    larger_summary.columns = [f"{a} {b}" for a, b in larger_summary.columns]
    print(
        f"\n{len(larger)} blends of more galaxies of the mixed test set, the networks trained "
        "on the mixed set; flux MAPE per number of galaxies and slot, every blend, per cent\n"
    )
    print(markdown_table(larger_summary.round(2).reset_index()))
    if args.markdown:
        from blendphot.docs import write_study_table

        tables = [
            markdown_table(summary.round(2).reset_index()),
            markdown_table(larger_summary.round(2).reset_index()),
        ]
        write_study_table(args.markdown, "\n\n".join(tables))


if __name__ == "__main__":
    main()
