"""Benchmark: peak host memory of the training job, per model of a merged config.

Each model of the config (the default deep-merged with ``--configfile`` overlays, as
Snakemake merges them) is trained by the workflow's own ``train_model`` on the blend sets
the workflow made (``results/<dataset>/blends/{train,val}.h5``), in a fresh process, for
``--batches`` batches; the process's peak resident memory (``ru_maxrss``) is printed as it
was when training began ("before": feeds, model, optimiser) and after the batches ("after":
also a training step's activations, which a GPU holds in its own memory instead).
The input feeds (held in memory or streamed, by ``training.memory_limit_gb``) are built in
full before the first batch, so the peak covers them, the model, the optimiser and a
training step. A model with ``init_from`` starts from untrained copies of its sources, saved
first (their loading counts).

On a GPU node the host also holds the CUDA and cuDNN runtime: measure there too before
trusting a figure from a CPU for a GPU rule's ``mem_mb``.

Usage: python benchmarks/train_memory.py --configfile config/paper.yaml [--batches 3]
       [--threads 2] [--only blend2flux]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.config import merged_config  # noqa: E402


def peak_rss_gb() -> float:
    """This process's peak resident memory so far, in GB (10^9 bytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


class StopAfter(Exception):
    """Raised by the callback once the measured batches are done."""


def measure_one(config: dict, name: str, batches: int, threads: int) -> dict:
    """Train ``name`` for ``batches`` batches in this process; its peak memory and sizes."""
    import keras

    from blendphot.models.data import in_memory_bytes
    from blendphot.models.registry import get_architecture, init_sources, load_model_modules
    from blendphot.models.train import build_model, train_model, training_settings

    peaks = {}

    class Stop(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            peaks["before_training"] = peak_rss_gb()

        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 >= batches:
                raise StopAfter

    load_model_modules()
    blends = ROOT / "results" / config["dataset"] / "blends"
    train, val = blends / "train.h5", blends / "val.h5"
    model_config = config["models"][name]
    settings = training_settings(config, name)
    targets = get_architecture(model_config["architecture"]).targets
    tmp = Path(tempfile.mkdtemp(prefix="train_memory_"))
    inits = []
    for source in init_sources(model_config):
        entry = config["models"][source]
        arch = get_architecture(entry["architecture"])
        path = tmp / f"{source}.keras"
        build_model(arch, entry.get("params", {}), 128, 1.0, 1.0).save(path)
        keras.backend.clear_session()
        inits.append(path)
    start = time.perf_counter()
    try:
        train_model(model_config, settings, train, val, tmp / "m.keras", tmp / "h.csv",
                    tmp / "resume", config["seed"], threads, inits,
                    extra_callbacks=[Stop()])  # fmt: skip
    except StopAfter:
        pass
    feed = {
        split: in_memory_bytes(path, targets, settings["augment"] if split == "train" else False)
        for split, path in (("train", train), ("val", val))
    }
    return {
        "model": name,
        "batch_size": settings["batch_size"],
        "augment": settings["augment"],
        "memory_limit_gb": settings["memory_limit_gb"],
        "train_feed_gb": feed["train"] / 1e9,
        "val_feed_gb": feed["val"] / 1e9,
        "peak_before_gb": peaks["before_training"],
        "peak_rss_gb": peak_rss_gb(),
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, action="append", default=[])
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default=None, help="substring: measure only matching models")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    config = merged_config(ROOT / "config" / "config.yaml", args.configfile)
    if args.one:
        print(json.dumps(measure_one(config, args.one, args.batches, args.threads)))
        return
    print(f"dataset {config['dataset']}; {args.batches} batches per model; {args.threads} threads")
    print(f"{'model':<18} {'batch':>5} {'augment':>7} {'train feed GB':>13} {'val feed GB':>11} "
          f"{'limit GB':>8} {'peak before GB':>14} {'peak after GB':>13} {'s':>6}")  # fmt: skip
    for name in config["models"]:
        if args.only and args.only not in name:
            continue
        command = [sys.executable, __file__, "--one", name, "--batches", str(args.batches),
                   "--threads", str(args.threads)]  # fmt: skip
        for path in args.configfile:
            command += ["--configfile", str(path)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{name:<18} failed:\n{done.stderr[-2000:]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name:<18} {row['batch_size']:>5} {row['augment']!s:>7} "
              f"{row['train_feed_gb']:>13.2f} {row['val_feed_gb']:>11.2f} "
              f"{row['memory_limit_gb']:>8.1f} {row['peak_before_gb']:>14.2f} "
              f"{row['peak_rss_gb']:>13.2f} "
              f"{row['seconds']:>6.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
