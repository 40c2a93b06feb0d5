"""Benchmark: blend sets of pairs only against a mix of 2 to 4 galaxies, from one stamps file.

Builds the train/val/test sets of a config (default config/config.yaml, the demo) twice in one
process, with ``blends.n_galaxies`` {2: 1.0} and with the mix given, and prints for each the
wall time, the blends of each count, and the quartiles of every companion's distance to the
central in units of min(R_central, R_companion) (the recipe's d / min R, in [1, 4] for
``candels_blender``) and of the closest companion-to-companion gap in units of
max(R_i, R_j) (the rule that keeps extra companions apart).

Usage: python benchmarks/blend_counts.py STAMPS.h5 [--config config/config.yaml]
       [--mix '{"2": 0.75, "3": 0.2, "4": 0.05}'] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.blends import build_blend_sets, open_blend_set  # noqa: E402
from blendphot.blends.layout import galaxy_counts, slot_count, slot_prefix  # noqa: E402
from blendphot.config import load_config  # noqa: E402
from blendphot.io import read_table  # noqa: E402

SPLITS = ("train", "val", "test")


def slot_geometry(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(counts (N,), shifts (N, K, 2) NaN where absent, radii (N, K), present (N, K))."""
    with open_blend_set(path) as h5:
        table = read_table(h5["table"])
        counts, k = galaxy_counts(h5), slot_count(h5)
    shifts = np.full((len(table), k, 2), np.nan)
    shifts[:, 0] = 0.0
    shifts[:, 1] = table[["shift_x", "shift_y"]].to_numpy(float)
    for slot in range(2, k):
        g = slot_prefix(slot)
        shifts[:, slot] = table[[f"{g}_shift_x", f"{g}_shift_y"]].to_numpy(float)
    radii = table[[f"{slot_prefix(s)}_rad" for s in range(k)]].to_numpy(float)
    return counts, shifts, radii, np.arange(k)[None, :] < counts[:, None]


def quartiles(values: np.ndarray) -> str:
    """'q25 / median / q75 (n)' of ``values``."""
    if values.size == 0:
        return "-"
    q = np.percentile(values, [25, 50, 75])
    return f"{q[0]:.2f} / {q[1]:.2f} / {q[2]:.2f} (n={values.size})"


def describe(paths: dict[str, Path]) -> None:
    """Print counts and distance ratios over all splits."""
    counts, d_first, d_extra, gaps = [], [], [], []
    for path in paths.values():
        n, shifts, radii, present = slot_geometry(path)
        counts.append(n)
        dist = np.hypot(shifts[..., 0], shifts[..., 1])
        ratio = dist / np.minimum(radii[:, :1], radii)
        d_first.append(ratio[:, 1])
        d_extra.append(ratio[:, 2:][present[:, 2:]])
        for a in range(1, shifts.shape[1]):
            for b in range(a + 1, shifts.shape[1]):
                both = present[:, a] & present[:, b]
                gap = np.hypot(*(shifts[both, a] - shifts[both, b]).T)
                gaps.append(gap / np.maximum(radii[both, a], radii[both, b]))
    counts = np.concatenate(counts)
    values, number = np.unique(counts, return_counts=True)
    print(
        "  blends per count: " + ", ".join(f"{v}: {c}" for v, c in zip(values, number, strict=True))
    )
    print(f"  d / min(R_cen, R) slot 2     q25/median/q75: {quartiles(np.concatenate(d_first))}")
    print(f"  d / min(R_cen, R) slots 3-4  q25/median/q75: {quartiles(np.concatenate(d_extra))}")
    gaps = np.concatenate(gaps) if gaps else np.array([])
    print(f"  companion gap / max(R_i, R_j) q25/median/q75: {quartiles(gaps)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stamps", type=Path)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--mix", default='{"2": 0.75, "3": 0.2, "4": 0.05}')
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder")
    args = parser.parse_args()
    config = load_config(args.config)
    mix = {int(k): float(v) for k, v in json.loads(args.mix).items()}
    work = Path(tempfile.mkdtemp(dir=args.workdir, prefix="bench_blend_counts_"))
    try:
        for name, shares in (("pairs only", {2: 1.0}), (f"mix {mix}", mix)):
            params = {**config["blends"], "n_galaxies": shares}
            out = work / str(len(shares))
            out.mkdir()
            paths = {s: out / f"{s}.h5" for s in SPLITS}
            start = time.perf_counter()
            build_blend_sets(args.stamps, params, config["seed"], paths)
            seconds = time.perf_counter() - start
            sizes = {s: params[f"n_{s}"] for s in SPLITS}
            print(f"{name}: {seconds:.1f} s for {sizes} blends")
            describe(paths)
            shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
