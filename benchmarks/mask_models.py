"""How to train blend2mask2flux on the demo: the choices side by side.

Trains, on an existing demo blend set (``results/demo/blends``, with its sep baseline for the
Figure 5 selection), the demo's blend2flux and U-Net once, then blend2mask2flux under each
recipe: the paper's (joint, from the U-Net), a frozen U-Net, a heavier mask loss, a warm
start from blend2flux (``init_from: [unet, blend2flux]``), and prints training seconds, flux
MAPE (per cent, Figure 5 selection) and the U-Net's IoU after training.

    snakemake results/demo/baseline/sep.csv && python benchmarks/mask_models.py

One run on a noisy machine: compare the rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.config import load_config  # noqa: E402
from blendphot.evaluate.tables import markdown_table  # noqa: E402
from blendphot.models.predict import write_predictions  # noqa: E402
from blendphot.models.registry import init_sources  # noqa: E402
from blendphot.models.train import train_model, training_settings  # noqa: E402

HEAD = {"unet_depth": 3, "unet_filters": 8, "filters": 8, "dense_units": 32}
VARIANTS = {
    "from the U-Net, joint, lr 1e-3 (the paper's recipe)": (["unet"], {"learning_rate": 1e-3}),
    "from the U-Net, U-Net frozen, lr 1e-3": (["unet"], {"freeze_init": ["unet"]}),
    "from the U-Net, U-Net frozen, 8 epochs": (["unet"], {"freeze_init": ["unet"], "epochs": 8}),
    "from the U-Net, joint, mask loss weight 100": (["unet"], {"mask_loss_weight": 100.0}),
    "from blend2flux and the U-Net, U-Net frozen, lr 1e-3": (
        ["unet", "blend2flux"],
        {"freeze_init": ["unet"]},
    ),
    "from blend2flux and the U-Net, U-Net frozen, lr 1e-4": (
        ["unet", "blend2flux"],
        {"freeze_init": ["unet"], "learning_rate": 1e-4},
    ),
    "from blend2flux and the U-Net, joint, lr 1e-4": (
        ["unet", "blend2flux"],
        {"learning_rate": 1e-4},
    ),
}


def figure5_mape(flux: np.ndarray, truth: np.ndarray, detection: np.ndarray) -> tuple:
    """Flux MAPE (per cent) of centrals where sep found them (0, 2) and companions (1, 2)."""
    err = 100 * np.abs(flux - truth) / truth
    return (
        float(err[np.isin(detection, (0, 2)), 0].mean()),
        float(err[np.isin(detection, (1, 2)), 1].mean()),
    )


def mean_iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean IoU over blends and both masks, predictions thresholded at 0.5."""
    p, t = predicted > 0.5, truth.astype(bool)
    inter, union = (p & t).sum(axis=(2, 3)), (p | t).sum(axis=(2, 3))
    return float(np.mean(inter / np.maximum(union, 1)))


def train_and_score(config, name, model_cfg, work, blends, truth, detection, masks) -> dict:
    """Train one model in ``work/name``, predict the test set, score it."""
    out = work / name
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    train_model(
        model_cfg,
        training_settings({**config, "models": {name: model_cfg}}, name),
        blends / "train.h5",
        blends / "val.h5",
        out / "model.keras",
        out / "history.csv",
        out / "resume",
        config["seed"],
        2,
        init_paths=[work / src / "model.keras" for src in init_sources(model_cfg)],
    )
    row = {"training s": round(time.perf_counter() - start)}
    write_predictions(out / "model.keras", blends / "test.h5", out / "pred.h5", name)
    with h5py.File(out / "pred.h5") as h5:
        if "flux" in h5:
            row["central"], row["companion"] = figure5_mape(h5["flux"][()], truth, detection)
        if "masks" in h5:
            row["IoU"] = mean_iou(h5["masks"][()], masks)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results/demo", help="a demo run's results")
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the table, with the command, date and commit, for a study page",
    )
    args = parser.parse_args(argv)
    config = load_config(args.config)
    results = Path(args.results)
    blends = results / "blends"
    detection = pd.read_csv(results / "baseline" / "sep.csv")["detection"].to_numpy()
    with h5py.File(blends / "test.h5") as h5:
        truth, masks = h5["flux"][()], h5["mask"][()]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("blend2flux", "unet"):
            model_cfg = copy.deepcopy(config["models"][name])
            model_cfg.pop("init_from", None)
            row = train_and_score(config, name, model_cfg, work, blends, truth, detection, masks)
            rows[f"{name} alone (as in the demo), for reference"] = row
            print(rows, flush=True)
        for label, (sources, training) in VARIANTS.items():
            model_cfg = {
                "architecture": "blend2mask2flux",
                "init_from": sources,
                "params": HEAD,
                "training": {"epochs": 2, **training},
            }
            rows[label] = train_and_score(
                config, "blend2mask2flux", model_cfg, work, blends, truth, detection, masks
            )
            print(label, rows[label], flush=True)
    table = pd.DataFrame.from_dict(rows, orient="index").round(2)
    text = markdown_table(table.reset_index(names="recipe"))
    print(text)
    if args.markdown:
        from blendphot.docs import write_study_table

        write_study_table(args.markdown, text)


if __name__ == "__main__":
    main()
