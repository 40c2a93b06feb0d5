"""Benchmark: the training input pipeline against a raw HDF5 read, images/s, one table.

All rows come from one run on one blend set (so that they share the machine's state):

- raw h5py reads of ``blend`` (and ``blend`` + ``mask``), whole chunks in file order: the
  ceiling of anything that reads the file;
- the streaming path (:class:`BlendStream`): the generator alone, and through tf.data, with
  masks as float32 (how it was before issue 17) and as uint8 (now);
- the in-memory path (:class:`InMemoryBlends`), flux and flux + masks, augmentation off
  and on, after its one-off load (timed apart).

Every row is one full pass over the set (shuffled, batch 64 unless told), after a warm-up
of a few batches; the last column is the row's rate over the raw read of the same bytes.
The set is made with benchmarks/make_blend_set.py when the path does not exist (``--slots``
K: blends of 2 to K galaxies, whose masks the in-memory path packs into one word per pixel).
``--memory-only`` times the raw reads and the in-memory rows alone.

Usage: python benchmarks/pipeline.py [--set /tmp/blendphot_bench/train20k.h5] [--n 20000]
       [--batch-size 64] [--threads 0] [--slots 2] [--memory-only]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def raw_read(path: Path, names: tuple[str, ...], block: int = 1024) -> float:
    """Images/s of reading these datasets whole, ``block`` rows at a time."""
    start = time.perf_counter()
    with h5py.File(path, "r") as h5:
        n = h5["blend"].shape[0]
        for first in range(0, n, block):
            for name in names:
                h5[name][first : first + block]
    return n / (time.perf_counter() - start)


def rate(batches, warmup: int = 5) -> float:
    """Images/s over an iterable of (x, y) batches, after ``warmup`` batches."""
    it = iter(batches)
    for _ in range(warmup):
        next(it)
    count, start = 0, time.perf_counter()
    for x, _ in it:
        count += len(x)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=Path("/tmp/blendphot_bench/train20k.h5"))
    parser.add_argument("--n", type=int, default=20000, help="blends, when the set is made")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: all)")
    parser.add_argument("--slots", type=int, default=2, help="galaxy slots, when the set is made")
    parser.add_argument("--memory-only", action="store_true", help="raw and in-memory rows only")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the table, with the command, date and commit, for a study page",
    )
    args = parser.parse_args()
    if not args.set.exists():
        from make_blend_set import make_blend_set

        make_blend_set(args.set, args.n, slots=args.slots)

    import tensorflow as tf

    from blendphot.models.data import BlendStream, InMemoryBlends

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    class FloatMaskStream(BlendStream):
        """The streaming path as it was before issue 17: masks made float32 in Python."""

        def _read(self, h5, start):
            x, y = super()._read(h5, start)
            if "masks" in y:
                y["masks"] = y["masks"].astype(np.float32)
            return x, y

        def dataset(self):
            size, k = self.size, self.slots
            specs = {
                "flux": tf.TensorSpec(shape=(None, k), dtype=tf.float32),
                "masks": tf.TensorSpec(shape=(None, size, size, k), dtype=tf.float32),
            }
            signature = (
                tf.TensorSpec(shape=(None, size, size, 1), dtype=tf.float32),
                {k: specs[k] for k in self.targets},
            )
            ds = tf.data.Dataset.from_generator(self, output_signature=signature)
            return ds.prefetch(tf.data.AUTOTUNE)

    path, batch = args.set, args.batch_size
    with h5py.File(path, "r") as h5:
        n, slots = h5["blend"].shape[0], h5["flux"].shape[1]
    flux, both = ("flux",), ("flux", "masks")
    raw_read(path, ("blend", "mask"))  # page cache warm, as for every row below
    rows = []
    raw = {flux: raw_read(path, ("blend",)), both: raw_read(path, ("blend", "mask"))}
    rows.append(("raw h5py read: blend", raw[flux], flux))
    rows.append(("raw h5py read: blend + mask", raw[both], both))
    for targets in () if args.memory_only else (flux, both):
        for augment in (False, True):
            label = f"{'+'.join(targets)}, augment {'on' if augment else 'off'}"
            stream = FloatMaskStream(path, batch, True, 0, targets=targets, augment=augment)
            rows.append((f"stream (before): generator alone, {label}", rate(stream()), targets))
            rows.append((f"stream (before): through tf.data, {label}", rate(stream.dataset()),
                         targets))  # fmt: skip
            if "masks" in targets:
                stream = BlendStream(path, batch, True, 0, targets=targets, augment=augment)
                rows.append((f"stream (uint8 masks): through tf.data, {label}",
                             rate(stream.dataset()), targets))  # fmt: skip
    for targets in (flux, both):
        for augment in (False, True):
            label = f"{'+'.join(targets)}, augment {'on' if augment else 'off'}"
            start = time.perf_counter()
            memory = InMemoryBlends(path, batch, True, 0, targets=targets, augment=augment)
            load = time.perf_counter() - start
            rows.append((f"in memory: one-off load ({load:.1f} s), {label}", n / load, targets))
            rows.append((f"in memory: through tf.data, {label}", rate(memory.dataset()), targets))
            del memory

    print(f"blend set {path}: {n} blends, {slots} slots, batch {batch}, shuffled; one pass per row")
    print(f"{'path':<62} {'images/s':>10} {'/ raw read':>10}")
    for label, value, targets in rows:
        print(f"{label:<62} {value:>10.0f} {value / raw[targets]:>10.2f}")
    if args.markdown:
        from blendphot.docs import write_study_table

        lines = ["| path | images/s | / raw read |", "|---|---|---|"]
        lines += [
            f"| {label} | {value:.0f} | {value / raw[targets]:.2f} |"
            for label, value, targets in rows
        ]
        write_study_table(args.markdown, "\n".join(lines))


if __name__ == "__main__":
    main()
