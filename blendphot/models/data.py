"""Stream blend sets from HDF5 into tf.data without loading them whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from blendphot.blends import open_blend_set


class BlendStream:
    """Yields (blend[..., None], targets) batches from a blend set, one block at a time.

    ``targets`` names what the model learns: ``flux`` (N, 2) and/or ``masks`` (N, S, S, 2),
    yielded as a dict keyed by those names.

    Shuffling is two-level so that reads stay contiguous: the order of blocks (``block_size``
    rows, aligned with the HDF5 chunks) is permuted, and rows are permuted within a buffer of
    ``buffer_blocks`` blocks. A new permutation is drawn on each pass, from ``seed`` and the
    pass number, so a given seed gives the same sequence of batches.

    ``augment`` applies one of the stamp's 8 symmetries (transpose, and flips of either axis:
    :func:`symmetry_transform`) to each blend and its masks, drawn from the same stream. A
    symmetry changes neither flux, and keeps the central galaxy on the centre pixel.
    """

    def __init__(
        self,
        path: str | Path,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        block_size: int | None = None,
        buffer_blocks: int = 8,
        targets: tuple[str, ...] = ("flux",),
        augment: bool = False,
    ):
        self.path = Path(path)
        self.augment = augment
        self.targets = tuple(targets)
        with open_blend_set(self.path) as h5:
            self.n = h5["blend"].shape[0]
            self.size = h5["blend"].shape[-1]
            chunks = h5["blend"].chunks
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.block_size = block_size or (chunks[0] if chunks else 64)
        self.buffer_blocks = buffer_blocks
        self.passes = 0

    def __len__(self) -> int:
        """Batches per pass."""
        return int(np.ceil(self.n / self.batch_size))

    def _read(self, h5, start: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One block: images (B, S, S, 1) float32 and the targets."""
        stop = start + self.block_size
        x = h5["blend"][start:stop][..., None]
        y = {}
        if "flux" in self.targets:
            y["flux"] = h5["flux"][start:stop].astype(np.float32)
        if "masks" in self.targets:
            y["masks"] = np.moveaxis(h5["mask"][start:stop], 1, -1).astype(np.float32)
        return x, y

    def __call__(self) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        rng = np.random.default_rng([self.seed, self.passes])
        self.passes += 1
        starts = np.arange(0, self.n, self.block_size)
        if self.shuffle:
            starts = rng.permutation(starts)
        step = self.buffer_blocks if self.shuffle else 1
        pending: list[tuple[np.ndarray, dict]] = []
        with open_blend_set(self.path) as h5:
            for g in range(0, len(starts), step):
                blocks = pending + [self._read(h5, s) for s in sorted(starts[g : g + step])]
                x = np.concatenate([b[0] for b in blocks])
                y = {k: np.concatenate([b[1][k] for b in blocks]) for k in self.targets}
                if self.shuffle:
                    order = rng.permutation(len(x))
                    x, y = x[order], {k: v[order] for k, v in y.items()}
                n_full = (len(x) // self.batch_size) * self.batch_size
                if self.augment:
                    codes = rng.integers(0, 8, size=len(x))
                    x = symmetry_transform(x, codes)
                    if "masks" in y:
                        y["masks"] = symmetry_transform(y["masks"], codes)
                for b in range(0, n_full, self.batch_size):
                    part = slice(b, b + self.batch_size)
                    yield x[part], {k: v[part] for k, v in y.items()}
                pending = [(x[n_full:], {k: v[n_full:] for k, v in y.items()})]
            if pending and len(pending[0][0]):
                yield pending[0]

    def dataset(self):
        """A prefetched tf.data.Dataset over this stream (re-iterated each epoch)."""
        import tensorflow as tf

        size = self.size
        specs = {
            "flux": tf.TensorSpec(shape=(None, 2), dtype=tf.float32),
            "masks": tf.TensorSpec(shape=(None, size, size, 2), dtype=tf.float32),
        }
        signature = (
            tf.TensorSpec(shape=(None, size, size, 1), dtype=tf.float32),
            {k: specs[k] for k in self.targets},
        )
        ds = tf.data.Dataset.from_generator(self, output_signature=signature)
        return ds.prefetch(tf.data.AUTOTUNE)


def symmetry_transform(images: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each image (N, S, S, C) under one of the square's 8 symmetries, ``codes`` in 0..7:
    bit 0 transposes, bit 1 flips the rows, bit 2 flips the columns.

    A flip maps pixel i to S - 1 - i, which would move the centre pixel S // 2 of an even
    stamp by one; the flipped axis is rolled by one so that it stays put (the wrapped edge
    row is background).
    """
    out = images.copy()
    for code in range(8):
        rows = np.flatnonzero(codes == code)
        if rows.size == 0 or code == 0:
            continue
        part = out[rows]
        if code & 1:
            part = np.swapaxes(part, 1, 2)
        for bit, axis in ((2, 1), (4, 2)):
            if code & bit:
                part = np.roll(np.flip(part, axis=axis), 1, axis=axis)
        out[rows] = part
    return out


def normalisation_scales(path: str | Path, n_sample: int = 512) -> tuple[float, float]:
    """(input_scale, flux_scale) from the head of a training set.

    input_scale: median peak pixel of the blends; flux_scale: median true flux. Stored in the
    model (Rescaling layers), so a saved model takes raw images and returns fluxes.
    """
    with open_blend_set(path) as h5:
        n = min(n_sample, h5["blend"].shape[0])
        peaks = h5["blend"][:n].reshape(n, -1).max(axis=1)
        flux = h5["flux"][()]
    input_scale = float(np.median(peaks))
    flux_scale = float(np.median(flux))
    if not (np.isfinite(input_scale) and input_scale > 0 and flux_scale > 0):
        raise ValueError(f"{path}: cannot derive normalisation from the training set")
    return input_scale, flux_scale
