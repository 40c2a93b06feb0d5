"""One training on several devices (tf.distribute's MirroredStrategy, ``training.gpus``)
against the same training on one device: images per second of each, and how far their
trained weights differ (same global batch, same seed, same data order). With
``--kill-after K`` the several-device training is also stopped after epoch K and rerun, as
after a Slurm TIMEOUT, and the resumed weights are compared with the uninterrupted run's.

On a GPU node every visible GPU is used (``benchmarks/gpu.sh`` runs it); on a CPU,
``--logical-cpus N`` splits the CPU into N logical devices (the check the tests run)::

    python benchmarks/distribute.py                       # the GPUs of this node
    python benchmarks/distribute.py --logical-cpus 2 --images 64 --epochs 3 --kill-after 2

Prints one line per run and, last, a JSON summary (``--json`` prints that alone).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path


class Stop(Exception):
    """Raised by the kill callback: the job's TIMEOUT."""


def configure_devices(logical_cpus: int) -> list[str]:
    """The devices of the several-device run: N logical CPUs (set before TensorFlow starts)
    or every visible GPU."""
    import tensorflow as tf

    if logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        config = [tf.config.LogicalDeviceConfiguration()] * logical_cpus
        tf.config.set_logical_device_configuration(cpu, config)
        return [f"/cpu:{i}" for i in range(logical_cpus)]
    return [f"/gpu:{i}" for i in range(len(tf.config.list_physical_devices("GPU")))]


def kill_after(epochs: int):
    """A callback that stops training after ``epochs`` epochs, as a TIMEOUT would."""
    import keras

    class KillAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == epochs:
                raise Stop(f"stopped after epoch {epoch + 1}")

    return KillAfter()


def weights(path: Path) -> list:
    """The trained weights of a saved model."""
    import keras

    return [w.numpy() for w in keras.saving.load_model(path, compile=False).weights]


def max_relative_difference(a: list, b: list) -> float:
    """The largest |a - b| over any tensor, relative to that tensor's largest |a|."""
    import numpy as np

    return float(
        max(
            np.max(np.abs(x - y)) / max(float(np.max(np.abs(x))), 1e-12)
            for x, y in zip(a, b, strict=True)
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logical-cpus", type=int, default=0, help="N logical CPUs (0: the GPUs)")
    ap.add_argument("--images", type=int, default=2048, help="training blends")
    ap.add_argument("--size", type=int, default=64, help="stamp size (pixels)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64, help="the global batch")
    ap.add_argument("--filters", type=int, default=16, help="blend2flux initial filters")
    ap.add_argument("--kill-after", type=int, default=0, help="also check a resume (0: no)")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: temporary)")
    ap.add_argument("--json", action="store_true", help="print the JSON summary alone")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    devices = configure_devices(args.logical_cpus)  # before anything starts TensorFlow

    from blendphot.config import with_defaults
    from blendphot.models.train import train_model
    from blendphot.testing import write_multi_set

    work = args.dir or Path(tempfile.mkdtemp(prefix="blendphot_distribute_"))
    work.mkdir(parents=True, exist_ok=True)
    write_multi_set(work / "train.h5", [2] * args.images, size=args.size, seed=1)
    write_multi_set(work / "val.h5", [2] * max(args.images // 4, args.batch_size), args.size, 2)
    training = with_defaults({"training": {}})["training"]
    training |= {"epochs": args.epochs, "batch_size": args.batch_size, "deterministic": True}
    model = {"architecture": "blend2flux", "params": {"filters": args.filters, "dense_units": 32}}

    def train(label: str, run_devices, callbacks=()):
        out = work / label
        start = time.perf_counter()
        train_model(
            model, training, work / "train.h5", work / "val.h5", out / "model.keras",
            out / "history.csv", work / f"resume_{label}", seed=3, threads=2,
            summary_path=out / "summary.json", extra_callbacks=callbacks, devices=run_devices,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        summary = json.loads((out / "summary.json").read_text())
        rate = args.images * args.epochs / seconds
        if not args.json:
            print(f"{label}: {summary['devices']}, {rate:.0f} images/s ({seconds:.1f} s)")
        return out, summary, rate

    one, _, one_rate = train("one_device", devices[:1] or None)
    several, summary, several_rate = train("several_devices", devices)
    result = {
        "devices": summary["devices"],
        "replicas": summary["replicas"],
        "images_per_s_one": round(one_rate, 1),
        "images_per_s_several": round(several_rate, 1),
        "max_relative_weight_difference": max_relative_difference(
            weights(one / "model.keras"), weights(several / "model.keras")
        ),
    }
    if args.kill_after:
        try:
            train("resumed", devices, [kill_after(args.kill_after)])
        except Stop:
            pass
        import pandas as pd

        resumed, _, _ = train("resumed", devices)
        result["resumed_epochs"] = pd.read_csv(resumed / "history.csv")["epoch"].tolist()
        result["resumed_max_relative_weight_difference"] = max_relative_difference(
            weights(several / "model.keras"), weights(resumed / "model.keras")
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
