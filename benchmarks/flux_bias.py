"""Where does blend2flux's flux bias come from? One training per call, one table row out.

Trains the configured blend2flux (the demo's settings unless overridden) with the package's
own ``train_model``, predicts the test set (and the training set) with ``write_predictions``
and reports, per role (central = slot 0, companion = slot 1), over ALL blends:

* bias = mean(mag_pred - mag_true), mag = -2.5 log10(flux) (> 0: flux predicted too low);
* flux MAPE = 100 mean(|f_pred - f_true| / f_true);
* the median of f_pred / f_true.

Variants (one variable at a time, same seed):

* ``--epochs N``: more (or fewer) epochs at the same settings;
* ``--loss``: ``mape`` (the package's), ``logmae`` (mean |ln f - ln f_pred|, i.e. magnitudes:
  no pull towards low fluxes), ``logmse`` (mean (ln f - ln f_pred)^2: zero mean magnitude
  error at its minimum), ``smape`` (|f - f_pred| / ((f + f_pred) / 2), symmetric);
* ``--output``: ``linear`` (Dense -> x flux_scale) or ``log`` (the network predicts
  ln(flux / flux_scale): exp then x flux_scale, always positive);
* ``--lr-schedule``: ``plateau`` (ReduceLROnPlateau) or ``cosine`` (cosine decay of the
  learning rate to 0 over the run), the package's ``training.lr_schedule``.

``mape``/``linear`` and ``logmse``/``log`` are the package's ``training.flux_loss`` ``mape``
and ``log_mse``; the other pairs are swapped in by patching ``blendphot.models.train`` inside
this process only; nothing of the package is changed on disk.

    python benchmarks/flux_bias.py --blends /tmp/demo1/results/demo/blends \
        --work /tmp/bias/runs --markdown /tmp/bias/flux_bias.md --loss logmae
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops

import blendphot.models.train as train_mod
from blendphot.blends import open_blend_set
from blendphot.config import load_config
from blendphot.docs import git_commit
from blendphot.models.losses import LogFluxMSE
from blendphot.models.predict import read_predictions, write_predictions

EPS = 1e-6


@keras.saving.register_keras_serializable(package="flux_bias")
class LogFluxMAE(keras.losses.Loss):
    """Mean |ln y - ln y_pred|: the error in magnitudes (x 1.0857), median-unbiased."""

    def __init__(self, name="log_flux_mae", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        return ops.mean(
            ops.abs(ops.log(ops.maximum(y_true, EPS)) - ops.log(ops.maximum(y_pred, EPS))),
            axis=-1,
        )


@keras.saving.register_keras_serializable(package="flux_bias")
class SymmetricRelativeError(keras.losses.Loss):
    """Mean 100 |y - y_pred| / ((|y| + |y_pred|) / 2): no reward for predicting low."""

    def __init__(self, name="smape", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        den = ops.maximum((ops.abs(y_true) + ops.abs(y_pred)) / 2.0, EPS)
        return 100.0 * ops.mean(ops.abs(y_true - y_pred) / den, axis=-1)


LOSSES = {
    "mape": keras.losses.MeanAbsolutePercentageError,
    "logmae": LogFluxMAE,
    "logmse": LogFluxMSE,  # the package's (training.flux_loss: log_mse)
    "smape": SymmetricRelativeError,
}


PACKAGE_LOSSES = {("mape", "linear"): "mape", ("logmse", "log"): "log_mse"}
"""The (loss, output) pairs the package trains itself (``training.flux_loss``)."""


def patch_package(loss: str, output: str) -> None:
    """Swap the flux loss and the output head in this process, for the pairs the package
    does not have (:data:`PACKAGE_LOSSES`); the learning-rate schedule stays the package's."""
    original_build = train_mod.build_model

    def compile_model(model, targets, settings, jit, slots=2, steps_per_epoch=None):
        model.compile(
            optimizer=keras.optimizers.Adam(
                learning_rate=train_mod.learning_rate(settings, steps_per_epoch)
            ),
            loss={"flux": LOSSES[loss]()},
            loss_weights={"flux": 1.0},
            jit_compile=jit,
        )

    def build_model(architecture, params, size, input_scale, flux_scale, slots=2, name=None,
                    log_flux=False):  # fmt: skip
        if output == "linear":
            return original_build(architecture, params, size, input_scale, flux_scale, slots, name)
        return original_build(
            architecture, params, size, input_scale, flux_scale, slots, name, log_flux=True
        )

    train_mod.compile_model = compile_model
    train_mod.build_model = build_model


def role_metrics(pred: np.ndarray, true: np.ndarray, selected: dict | None = None) -> dict:
    """bias (mag), MAPE (%) and median ratio per slot, over every blend with both finite
    (and, with ``selected``, role -> boolean mask, over those blends only)."""
    out = {}
    for slot, role in enumerate(("central", "companion")):
        p, t = pred[:, slot], true[:, slot]
        ok = np.isfinite(p) & np.isfinite(t) & (t > 0)
        if selected is not None:
            ok &= selected[role]
        p, t = p[ok], t[ok]
        mag = -2.5 * np.log10(np.maximum(p, 1e-12)) + 2.5 * np.log10(t)
        out[role] = {
            "n": int(ok.sum()),
            "nonpositive": int((p <= 0).sum()),
            "bias": float(np.mean(mag)),
            "mape": float(100 * np.mean(np.abs(p - t) / t)),
            "median_ratio": float(np.median(p / t)),
        }
    return out


def evaluate(
    model_path: Path, blend_path: Path, out_path: Path, baseline: Path | None = None
) -> dict:
    """The metrics of a trained model on one blend set; with ``baseline`` (the sep baseline's
    CSV of this set), on the galaxies sep found (the paper's Figure 5 selection) only."""
    if not out_path.exists():
        write_predictions(model_path, blend_path, out_path, "b2f", masks=False)
    ids, pred = read_predictions(out_path)
    with open_blend_set(blend_path) as h5:
        true = h5["flux"][()].astype(float)
        true_ids = h5["table/id"][()]
    assert np.array_equal(np.asarray(ids), np.asarray(true_ids)), "prediction ids out of order"
    selected = None
    if baseline is not None:
        import pandas as pd

        from blendphot.evaluate.metrics import selections

        sep = pd.read_csv(baseline)
        assert np.array_equal(sep["id"].to_numpy(), np.asarray(true_ids)), "baseline ids"
        selected = selections(sep["detection"].to_numpy())["figure5"]
    return role_metrics(np.asarray(pred, float), true, selected)


HEADER = (
    "| variant | epochs run | wall s | set | central bias | companion bias | central MAPE % "
    "| companion MAPE % | central median f/f | companion median f/f | val loss (last) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def markdown_rows(result: dict) -> str:
    rows = []
    for split in ("test", "test figure 5", "val", "train"):
        if split not in result:
            continue
        m = result[split]
        c, s = m["central"], m["companion"]
        rows.append(
            f"| {result['variant']} | {result['epochs_run']} | {result['seconds']:.0f} | {split} "
            f"| {c['bias']:+.3f} | {s['bias']:+.3f} | {c['mape']:.1f} | {s['mape']:.1f} "
            f"| {c['median_ratio']:.3f} | {s['median_ratio']:.3f} | {result['val_loss']:.3f} |\n"
        )
    return "".join(rows)


def write_markdown(path: Path, result: dict) -> None:
    if not path.exists():
        path.write_text(
            "# blend2flux flux bias (benchmarks/flux_bias.py)\n\n"
            "bias = mean(mag_pred - mag_true) over all blends (> 0: flux too low); "
            "central = slot 0, companion = slot 1.\n\n"
        )
    with path.open("a") as fh:
        fh.write(f"\n<!-- {result['date']} commit {result['commit']}: `{result['command']}` -->\n")
        fh.write(HEADER)
        fh.write(markdown_rows(result))


def kron_result(blends: Path, baseline: Path) -> dict:
    """sep Kron's row of a blend set (the ``--kron`` mode): its fluxes from the baseline's
    CSV, on every test blend and on the galaxies sep found (the Figure 5 selection), the
    comparison the demo's target (blend2flux at most 0.6 x sep Kron) asks for."""
    import pandas as pd

    from blendphot.evaluate.metrics import selections

    sep = pd.read_csv(baseline)
    with open_blend_set(blends / "test.h5") as h5:
        true = h5["flux"][()].astype(float)
        ids = h5["table/id"][()]
    assert np.array_equal(sep["id"].to_numpy(), np.asarray(ids)), "baseline ids"
    kron = sep[["kron_central", "kron_companion"]].to_numpy(float)
    selected = selections(sep["detection"].to_numpy())["figure5"]
    return {
        "variant": "sep Kron",
        "epochs_run": 0,
        "seconds": 0.0,
        "val_loss": float("nan"),
        "test": role_metrics(kron, true),
        "test figure 5": role_metrics(kron, true, selected),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blends", type=Path, required=True, help="dir of train/val/test.h5")
    ap.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1]
                    / "config" / "config.yaml")  # fmt: skip
    ap.add_argument("--model", default="blend2flux")
    ap.add_argument("--epochs", type=int, default=None, help="default: the config's")
    ap.add_argument("--loss", choices=sorted(LOSSES), default="mape")
    ap.add_argument("--output", choices=("linear", "log"), default="linear")
    ap.add_argument("--lr-schedule", choices=("plateau", "cosine"), default="plateau")
    ap.add_argument("--learning-rate", type=float, default=None)
    ap.add_argument(
        "--params",
        type=json.loads,
        default=None,
        help="the model's params overridden, e.g. '{\"filters\": 16}'",
    )
    ap.add_argument("--seed", type=int, default=None, help="default: the config's")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("flux_bias_runs"))
    ap.add_argument("--markdown", type=Path, default=None)
    ap.add_argument("--no-train-eval", action="store_true", help="skip the val/train rows")
    ap.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="the test set's sep baseline (sep.csv): also the Figure 5 selection",
    )
    ap.add_argument(
        "--kron",
        action="store_true",
        help="no training: sep Kron's row of the set (needs --baseline)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.kron:
        result = kron_result(args.blends, args.baseline)
        result.update(date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                      commit=git_commit(), command=" ".join(["python", *sys.argv]))  # fmt: skip
        print(HEADER + markdown_rows(result), end="")
        if args.markdown:
            write_markdown(args.markdown, result)
        return 0

    config = load_config(args.config)
    settings = train_mod.training_settings(config, args.model)
    if args.epochs:
        settings["epochs"] = args.epochs
    if args.learning_rate:
        settings["learning_rate"] = args.learning_rate
    settings["lr_schedule"] = args.lr_schedule
    package_loss = PACKAGE_LOSSES.get((args.loss, args.output))
    settings["flux_loss"] = package_loss or "mape"
    seed = config["seed"] if args.seed is None else args.seed
    entry = dict(config["models"][args.model])
    if args.params:
        entry["params"] = {**entry.get("params", {}), **args.params}
    variant = f"{args.loss}/{args.output}/{args.lr_schedule}"
    if args.learning_rate:
        variant += f"/lr{args.learning_rate:g}"
    if args.params:
        variant += "/" + ",".join(f"{k}={v}" for k, v in args.params.items())
    tag = f"{variant.replace('/', '_').replace(',', '_')}_e{settings['epochs']}_s{seed}"
    work = args.work / tag
    work.mkdir(parents=True, exist_ok=True)

    train, val, test = (args.blends / f"{s}.h5" for s in ("train", "val", "test"))
    if package_loss is None:
        patch_package(args.loss, args.output)

    start = time.perf_counter()
    history = train_mod.train_model(
        entry, settings, train, val, work / "model.keras",
        work / "history.csv", work / "resume", seed=seed, threads=args.threads,
        name=args.model,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    result = {
        "variant": variant,
        "epochs_run": int(len(history)),
        "seconds": seconds,
        "val_loss": float(history["val_loss"].iloc[-1]),
        "test": evaluate(work / "model.keras", test, work / "pred_test.h5"),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "command": " ".join(["python", *sys.argv]),
        "settings": settings,
        "seed": seed,
    }
    if args.baseline is not None:
        result["test figure 5"] = evaluate(
            work / "model.keras", test, work / "pred_test.h5", args.baseline
        )
    if not args.no_train_eval:
        result["val"] = evaluate(work / "model.keras", val, work / "pred_val.h5")
        result["train"] = evaluate(work / "model.keras", train, work / "pred_train.h5")
    (work / "result.json").write_text(json.dumps(result, indent=2, default=str))
    print(HEADER + markdown_rows(result), end="")
    if args.markdown:
        write_markdown(args.markdown, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
