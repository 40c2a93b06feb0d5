"""Benchmark: writing blend sets, side by side in one run, each method in its own process.

(a) naive: one .npy per blend and array, concatenated afterwards (the released generator's way);
(b) h5py alone: the same volume of data written to HDF5 with the same chunking (the floor);
(c) blendphot: build the blends from a stamps file and stream them into HDF5 block by block.

Prints seconds, ms per blend and peak resident memory of each. All methods are pinned to one
core. Usage: python benchmarks/blends.py [--n 30000] [--galaxies 2000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.blends.build import (  # noqa: E402
    StampSource,
    pair_slots,
    render_blocks,
    write_blend_set,
)
from blendphot.blends.pairing import draw_pairs  # noqa: E402
from blendphot.io import write_table  # noqa: E402

SIZE = 128
PARAMS = {"mag_window": 2.0, "recipe": "paper", "min_distance_factor": 0.5}


def make_stamps(path: Path, n: int, seed: int = 0) -> None:
    """A stamps file of n noisy elliptical-Gaussian galaxies (enough realism for I/O)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:SIZE, :SIZE] - SIZE // 2
    images = np.empty((n, SIZE, SIZE), np.float32)
    masks = np.empty((n, SIZE, SIZE), np.uint8)
    radius = rng.uniform(2, 12, n)
    mag = rng.uniform(19, 23, n)
    flux = 10 ** (-0.4 * (mag - 25.96))
    for i in range(n):
        q = rng.uniform(0.3, 1)
        r2 = x**2 + (y / q) ** 2
        gal = np.exp(-r2 / (2 * radius[i] ** 2))
        gal *= flux[i] / gal.sum()
        images[i] = gal + rng.normal(0, 0.01, gal.shape)
        masks[i] = gal > 0.02
    catalog = pd.DataFrame(
        {
            "id": np.arange(n) + 1,
            "mag": mag,
            "flux": flux,
            "radius": radius,
            "z": rng.uniform(0, 1.5, n),
            "type": rng.choice(["sph", "disk"], n),
        }
    )
    with h5py.File(path, "w") as h5:
        h5["image"], h5["mask"], h5["image_raw"], h5["segmap_raw"] = images, masks, images, masks
        write_table(h5.create_group("catalog"), catalog)


def pairs_for(stamps: Path, n: int) -> tuple[StampSource, pd.DataFrame, np.ndarray]:
    """Load the stamps and draw n pairs (not timed)."""
    from blendphot.io import read_table

    with h5py.File(stamps) as h5:
        source = StampSource(h5)
        catalog = read_table(h5["catalog"])
    rng = np.random.default_rng(1)
    rows = draw_pairs(
        catalog["mag"].to_numpy(),
        catalog["radius"].to_numpy(),
        np.arange(len(catalog)),
        n,
        PARAMS,
        SIZE // 2,
        rng,
    )
    return source, catalog, rows


def run_naive(stamps: Path, n: int, out: Path) -> None:
    """One .npy per blend and array, then concatenation into one array per dataset."""
    source, _, rows = pairs_for(stamps, n)
    parts = out / "parts"
    parts.mkdir()
    start = time.perf_counter()
    rng = np.random.default_rng(2)
    k = 0
    for block in render_blocks(source, *pair_slots(rows), 1, rng):
        for name in ("blend", "isolated", "mask"):
            np.save(parts / f"{name}_{k}.npy", block[name][0])
        k += 1
    for name in ("blend", "isolated", "mask"):
        stack = np.stack([np.load(parts / f"{name}_{i}.npy") for i in range(n)])
        np.save(out / f"{name}.npy", stack)
        del stack
    report(time.perf_counter() - start)


def run_h5py(stamps: Path, n: int, out: Path, chunk: int = 32) -> None:
    """h5py alone: write the same datasets, shapes and chunks from ready-made blocks."""
    rng = np.random.default_rng(3)
    block_f = rng.normal(size=(chunk, 2, SIZE, SIZE)).astype(np.float32)
    block_m = (block_f > 0).astype(np.uint8)
    start = time.perf_counter()
    with h5py.File(out / "h5py.h5", "w") as h5:
        d_b = h5.create_dataset("blend", (n, SIZE, SIZE), np.float32, chunks=(chunk, SIZE, SIZE))
        d_i = h5.create_dataset(
            "isolated", (n, 2, SIZE, SIZE), np.float32, chunks=(chunk, 2, SIZE, SIZE)
        )
        d_m = h5.create_dataset("mask", (n, 2, SIZE, SIZE), np.uint8, chunks=(chunk, 2, SIZE, SIZE))
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            d_b[s:e] = block_f[: e - s, 0]
            d_i[s:e] = block_f[: e - s]
            d_m[s:e] = block_m[: e - s]
    report(time.perf_counter() - start)


def run_blendphot(stamps: Path, n: int, out: Path) -> None:
    """The library's writer (pairs drawn beforehand, not timed, as for the others)."""
    source, catalog, rows = pairs_for(stamps, n)
    start = time.perf_counter()
    write_blend_set(
        source,
        catalog,
        *pair_slots(rows),
        out / "blends.h5",
        {"split": "bench"},
        0,
        32,
        np.random.default_rng(2),
    )
    report(time.perf_counter() - start)


def report(seconds: float) -> None:
    """Print this process's timing and peak memory as JSON (read by the parent)."""
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib}))


METHODS = {"naive .npy": run_naive, "h5py alone": run_h5py, "blendphot": run_blendphot}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30000, help="blends to write")
    parser.add_argument("--galaxies", type=int, default=2000, help="stamps to draw from")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--stamps", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        METHODS[args.child](args.stamps, args.n, args.out)
        return
    work = Path(tempfile.mkdtemp(dir=args.workdir, prefix="bench_blends_"))
    try:
        stamps = work / "stamps.h5"
        make_stamps(stamps, args.galaxies)
        print(f"{args.n} blends of {SIZE}x{SIZE} from {args.galaxies} stamps, one core each")
        print(f"{'method':<12} {'seconds':>9} {'ms/blend':>9} {'peak MiB':>9}")
        results = {}
        for name in METHODS:
            out = work / name.replace(" ", "_").replace(".", "")
            out.mkdir()
            cmd = [
                sys.executable,
                __file__,
                "--child",
                name,
                "--n",
                str(args.n),
                "--stamps",
                str(stamps),
                "--out",
                str(out),
            ]
            line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            res = json.loads(line.strip().splitlines()[-1])
            results[name] = res
            print(
                f"{name:<12} {res['seconds']:9.2f} {1000 * res['seconds'] / args.n:9.3f} "
                f"{res['peak_mib']:9.0f}",
                flush=True,
            )
            shutil.rmtree(out)
        ours = results["blendphot"]["seconds"]
        print(
            f"blendphot vs naive: {results['naive .npy']['seconds'] / ours:.1f}x faster; "
            f"vs h5py alone: {ours / results['h5py alone']['seconds']:.2f}x its time"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
