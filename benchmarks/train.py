"""Benchmark: training throughput (images/s) per model on whatever device TensorFlow finds.

Each model is built exactly as the workflow builds it (normalisation wrapper, losses,
optimiser, mixed precision and XLA switches), then trained on random 128x128 blends held in
memory, so that the figure is the network's own speed, not the disk's. The first epoch
(graph tracing, XLA compilation) is reported apart. Also prints the projected wall time of
70 epochs of 25 000 blends, the paper's fiducial training.

Usage: python benchmarks/train.py [--preset demo|paper] [--images 2048] [--epochs 3]
       [--batch-size 64] [--mixed-precision auto|true|false] [--xla auto|true|false]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESETS = {
    "demo": {
        "blend2flux (demo, f=8)": ("blend2flux", {"filters": 8, "dense_units": 32}),
        "unet (demo, depth 4, f=8)": ("unet", {"depth": 4, "filters": 8}),
        "blend2mask2flux (demo)": (
            "blend2mask2flux",
            {"unet_depth": 4, "unet_filters": 8, "filters": 8, "dense_units": 32},
        ),
    },
    "paper": {
        "blend2flux f=64": ("blend2flux", {"filters": 64}),
        "blend2flux f=256 (fiducial)": ("blend2flux", {"filters": 256}),
        "unet (fiducial)": ("unet", {}),
        "blend2mask2flux (fiducial)": ("blend2mask2flux", {}),
    },
}


def switch(text: str):
    """'auto', 'true' or 'false' from the command line."""
    return "auto" if text == "auto" else text.lower() in ("1", "true", "yes", "on")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="demo")
    parser.add_argument("--only", default=None, help="substring: run only matching models")
    parser.add_argument("--images", type=int, default=2048, help="images per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after warm-up)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--mixed-precision", type=switch, default="auto")
    parser.add_argument("--xla", type=switch, default="auto")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from blendphot.models.registry import get_architecture, load_model_modules
    from blendphot.models.train import (
        build_model,
        compile_model,
        configure_tensorflow,
        resolve_switch,
    )

    gpus = configure_tensorflow(args.threads, 0, deterministic=False)
    device = "CPU"
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        device = f"{details.get('device_name', 'GPU')} (cc {details.get('compute_capability')})"
    mixed = resolve_switch(args.mixed_precision, gpus)
    jit = resolve_switch(args.xla, gpus)
    keras.config.set_dtype_policy("mixed_float16" if mixed else "float32")
    load_model_modules()
    settings = {"learning_rate": 1e-3, "mask_loss_weight": 0.1}
    rng = np.random.default_rng(0)
    n = args.images
    x = rng.normal(0, 0.01, size=(n, 128, 128, 1)).astype(np.float32)
    y = {
        "flux": rng.uniform(10, 500, size=(n, 2)).astype(np.float32),
        "masks": (rng.uniform(size=(n, 128, 128, 2)) > 0.9).astype(np.float32),
    }
    print(f"device: {device}; mixed precision {mixed}; XLA {jit}; batch {args.batch_size}")
    print(
        f"{'model':<30} {'params':>11} {'first epoch s':>14} {'images/s':>10} "
        f"{'70 x 25k blends':>16}"
    )
    for label, (arch_name, params) in PRESETS[args.preset].items():
        if args.only and args.only not in label:
            continue
        arch = get_architecture(arch_name)
        model = build_model(arch, params, 128, 0.1, 100.0)
        compile_model(model, arch.targets, settings, jit)
        data = tf.data.Dataset.from_tensor_slices((x, {k: y[k] for k in arch.targets}))
        data = data.batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
        start = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        first = time.perf_counter() - start
        start = time.perf_counter()
        model.fit(data, epochs=args.epochs, verbose=0)
        rate = n * args.epochs / (time.perf_counter() - start)
        projected_h = 70 * 25000 / rate / 3600
        print(
            f"{label:<30} {model.count_params():>11,} {first:>14.1f} {rate:>10.0f} "
            f"{projected_h:>14.2f} h",
            flush=True,
        )
        keras.backend.clear_session()


if __name__ == "__main__":
    main()
