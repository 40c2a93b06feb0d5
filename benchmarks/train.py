"""Benchmark: training throughput (images/s) per model on whatever device TensorFlow finds.

Each model is built exactly as the workflow builds it (normalisation wrapper, losses,
optimiser, mixed precision and XLA switches), then trained in one or both modes:

- ``network``: random 128x128 blends already in memory as tensors, so that the figure is the
  network's own speed, not the input pipeline's;
- ``end-to-end``: a blend set in the real HDF5 layout (``--blend-set``; made with
  benchmarks/make_blend_set.py when missing) through the real input path
  (``blendphot.models.data.training_dataset``: in memory under ``--memory-limit-gb``,
  shuffled, ``--augment``) into the same model.

The first epoch (graph tracing, XLA compilation) is reported apart. Also prints the
projected wall time of 70 epochs of 25 000 blends, the paper's fiducial training, and
appends one row per model to ``--csv`` when given.

Usage: python benchmarks/train.py [--preset demo|paper] [--images 2048] [--epochs 3]
       [--batch-size 64] [--mixed-precision auto|true|false] [--xla auto|true|false]
       [--mode network|end-to-end|both] [--blend-set PATH] [--augment] [--csv OUT.csv]
"""

from __future__ import annotations

import argparse
import csv
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
    parser.add_argument("--mode", choices=["network", "end-to-end", "both"], default="network")
    parser.add_argument(
        "--blend-set",
        type=Path,
        default=Path("/tmp/blendphot_bench/e2e.h5"),
        help="end-to-end: blend set (made with --images blends if missing)",
    )
    parser.add_argument("--augment", action="store_true", help="end-to-end: the 8 symmetries")
    parser.add_argument("--memory-limit-gb", type=float, default=8.0, help="end-to-end")
    parser.add_argument("--csv", type=Path, default=None, help="append one row per model")
    args = parser.parse_args()
    modes = ["network", "end-to-end"] if args.mode == "both" else [args.mode]
    if "end-to-end" in modes and not args.blend_set.exists():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from make_blend_set import make_blend_set

        make_blend_set(args.blend_set, args.images)

    import keras
    import tensorflow as tf

    from blendphot.config import with_defaults
    from blendphot.models.data import training_dataset
    from blendphot.models.registry import get_architecture, load_model_modules
    from blendphot.models.settings import TrainingSettings
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
    # the schema's training defaults (learning_rate 1e-3, mask_loss_weight 0.1)
    settings = TrainingSettings.of(with_defaults({"training": {}})["training"])
    rng = np.random.default_rng(0)
    n = args.images
    x = rng.normal(0, 0.01, size=(n, 128, 128, 1)).astype(np.float32)
    y = {
        "flux": rng.uniform(10, 500, size=(n, 2)).astype(np.float32),
        "masks": (rng.uniform(size=(n, 128, 128, 2)) > 0.9).astype(np.float32),
    }
    build = tf.sysconfig.get_build_info()
    cudnn = build.get("cudnn_version", "none") if gpus else "none"
    print(f"device: {device}; cuDNN {cudnn}; mixed precision {mixed}; XLA {jit}; "
          f"batch {args.batch_size}; TensorFlow {tf.__version__}")  # fmt: skip
    print(
        f"{'model':<30} {'mode':<11} {'params':>11} {'first epoch s':>14} {'images/s':>10} "
        f"{'70 x 25k blends':>16}"
    )
    for label, (arch_name, params) in PRESETS[args.preset].items():
        if args.only and args.only not in label:
            continue
        arch = get_architecture(arch_name)
        row = {"device": device, "cudnn": cudnn, "tensorflow": tf.__version__, "model": label,
               "mixed_precision": mixed, "xla": jit, "batch_size": args.batch_size}  # fmt: skip
        for mode in modes:
            model = build_model(arch, params, 128, 0.1, 100.0)
            compile_model(model, arch.targets, settings, jit)
            if mode == "network":
                data = tf.data.Dataset.from_tensor_slices((x, {k: y[k] for k in arch.targets}))
                data = data.batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
                images = n
            else:
                data = training_dataset(args.blend_set, args.batch_size, True, 0, arch.targets,
                                        args.augment, args.memory_limit_gb)  # fmt: skip
                images = sum(len(b) for b, _ in data)  # one pass, also warms the page cache
            start = time.perf_counter()
            model.fit(data, epochs=1, verbose=0)
            first = time.perf_counter() - start
            start = time.perf_counter()
            model.fit(data, epochs=args.epochs, verbose=0)
            rate = images * args.epochs / (time.perf_counter() - start)
            minutes = 70 * 25000 / rate / 60
            row |= {"parameters": model.count_params(), f"images_per_s_{mode}": round(rate, 1),
                    f"minutes_70x25k_{mode}": round(minutes, 1)}  # fmt: skip
            print(
                f"{label:<30} {mode:<11} {model.count_params():>11,} {first:>14.1f} "
                f"{rate:>10.0f} {minutes / 60:>14.2f} h",
                flush=True,
            )
            del model, data
            keras.backend.clear_session()
        if args.csv is not None:
            write_row(args.csv, row)


COLUMNS = ("device", "cudnn", "tensorflow", "model", "parameters", "mixed_precision", "xla",
           "batch_size", "images_per_s_network", "images_per_s_end-to-end",
           "minutes_70x25k_network", "minutes_70x25k_end-to-end")  # fmt: skip


def write_row(path: Path, row: dict) -> None:
    """Append one row to a CSV (header first when the file is new)."""
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, restval="")
        if new:
            writer.writeheader()
        writer.writerow(row)


if __name__ == "__main__":
    main()
