"""Write a synthetic blend set in the real layout (blendphot/blends/layout.py), quickly.

Random-noise blends, random masks and fluxes: the data mean nothing, the bytes and the
layout (datasets, shapes, dtypes, 32-row chunks, table columns, attributes) are the real
ones, so input-pipeline throughput measured on it is the real one. ``isolated`` is declared
but left unwritten (HDF5 fill value): training never reads it. ``--slots K`` > 2 writes blends
of 2 to K galaxies (counts drawn uniformly), absent slots as the layout has them (NaN flux,
empty mask).

Usage: python benchmarks/make_blend_set.py OUT.h5 [--n 20000] [--size 128] [--chunk 32]
       [--slots 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.blends.layout import (  # noqa: E402
    ATTRIBUTES,
    COUNT_COLUMN,
    TABLE_COLUMNS,
    present_slots,
    slot_columns,
    slot_prefix,
)


def make_blend_set(
    path: Path, n: int, size: int = 128, chunk: int = 32, seed: int = 0, slots: int = 2
) -> Path:
    """Write ``n`` random blends of ``slots`` galaxy slots to ``path`` in the blend-set
    layout; return the path."""
    rng = np.random.default_rng(seed)
    k = slots
    counts = rng.integers(2, k + 1, n) if k > 2 else np.full(n, 2)
    present = present_slots(counts, k)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        blend = h5.create_dataset("blend", (n, size, size), np.float32, chunks=(chunk, size, size))
        mask = h5.create_dataset(
            "mask", (n, k, size, size), np.uint8, chunks=(chunk, k, size, size)
        )
        h5.create_dataset("isolated", (n, k, size, size), np.float32, chunks=(chunk, k, size, size))
        for start in range(0, n, 1024):
            stop = min(n, start + 1024)
            blend[start:stop] = rng.standard_normal((stop - start, size, size), np.float32)
            values = rng.integers(0, 2, (stop - start, k, size, size), np.uint8)
            mask[start:stop] = values * present[start:stop, :, None, None]
        flux = np.where(present, rng.uniform(10, 500, (n, k)), np.nan)
        h5.create_dataset("flux", data=flux)
        table = h5.create_group("table")
        copies = {f"{slot_prefix(slot)}_flux": flux[:, slot] for slot in range(k)}
        for column in TABLE_COLUMNS + slot_columns(k):
            data = {"id": np.arange(n), COUNT_COLUMN: counts, **copies}.get(column, np.zeros(n))
            table.create_dataset(column, data=data)
        h5.attrs.update({name: "synthetic" for name in ATTRIBUTES})
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--chunk", type=int, default=32)
    parser.add_argument("--slots", type=int, default=2, help="galaxy slots K (2: pairs)")
    args = parser.parse_args()
    make_blend_set(args.out, args.n, args.size, args.chunk, slots=args.slots)
    print(args.out)


if __name__ == "__main__":
    main()
