"""Blend sets into tf.data: held in memory when they fit, streamed from HDF5 otherwise.

:func:`training_dataset` picks the path. Masks travel as uint8 on both paths (a quarter of
the bytes of float32) and become float32 in the losses and metrics, on the device that
trains. Targets have one entry per galaxy slot of the set (K, 2 for pairs): the fluxes of
absent slots are NaN and pass through unchanged (the symmetries keep every slot in its place:
they move no galaxy's flux, which orders the slots, and keep the central on the centre), their
masks are empty.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from blendphot.blends import open_blend_set
from blendphot.blends.layout import nonfinite_rows, slot_count
from blendphot.errors import InputError, describe_rows

log = logging.getLogger(__name__)


class BlendStream:
    """Yields (blend[..., None], targets) batches from a blend set, one block at a time.

    ``targets`` names what the model learns: ``flux`` (N, K) and/or ``masks`` (N, S, S, K),
    K the set's galaxy slots, yielded as a dict keyed by those names.

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
            self.slots = slot_count(h5)
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
            y["masks"] = np.moveaxis(h5["mask"][start:stop], 1, -1)
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

        size, k = self.size, self.slots
        specs = {
            "flux": tf.TensorSpec(shape=(None, k), dtype=tf.float32),
            "masks": tf.TensorSpec(shape=(None, size, size, k), dtype=tf.uint8),
        }
        signature = (
            tf.TensorSpec(shape=(None, size, size, 1), dtype=tf.float32),
            {k: specs[k] for k in self.targets},
        )
        ds = tf.data.Dataset.from_generator(self, output_signature=signature)
        # the batches of a pass, known: Keras then neither guesses an epoch's length nor
        # warns that the input "ran out of data" when a pass ends
        ds = ds.apply(tf.data.experimental.assert_cardinality(len(self)))
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


TARGET_DATASETS = {"flux": "flux", "masks": "mask"}
"""The blend-set dataset each training target is read from."""


def mask_word(slots: int) -> tuple[int, int]:
    """How :class:`InMemoryBlends` packs a pixel's ``slots`` uint8 mask values: (bytes per
    word, words per pixel). The K bytes are padded with zeros to 2, 4 or 8 (one uint16,
    uint32 or uint64: K = 2 is the pair's uint16, K = 3 travels as 4 bytes), beyond 8 to a
    multiple of 8 (several uint64)."""
    for width in (1, 2, 4, 8):
        if slots <= width:
            return width, 1
    return 8, -(-slots // 8)


WORD_TYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def pack_masks(block: np.ndarray) -> np.ndarray:
    """Masks (B, K, S, S) uint8 -> (B, S, S, W) words, each holding a pixel's K values (zero
    padded, :func:`mask_word`), so that a transpose moves one word per pixel (split again
    by :func:`unpack_masks`)."""
    k = block.shape[1]
    width, words = mask_word(k)
    pixels = np.moveaxis(block, 1, -1)
    if width * words != k:
        pad = np.zeros((*pixels.shape[:-1], width * words - k), np.uint8)
        pixels = np.concatenate([pixels, pad], axis=-1)
    return np.ascontiguousarray(pixels).view(WORD_TYPES[width])


def unpack_masks(words, slots: int):
    """The inverse of :func:`pack_masks` on a tensor (B, S, S, W) of words: (B, S, S, K)
    uint8."""
    import tensorflow as tf

    width, count = mask_word(slots)
    shape = tf.shape(words)
    values = words if width == 1 else tf.bitcast(words, tf.uint8)  # (B, S, S, W, width)
    values = tf.reshape(values, (shape[0], shape[1], shape[2], width * count))
    return values if width * count == slots else values[..., :slots]


def in_memory_bytes(
    path: str | Path, targets: tuple[str, ...] = ("flux",), augment: bool = False
) -> int:
    """Bytes that :class:`InMemoryBlends` holds for a blend set (images and masks twice
    with ``augment``; masks padded as :func:`mask_word` says)."""
    copies = 2 if augment else 1
    with open_blend_set(path) as h5:
        total = h5["blend"].size * 4 * copies  # float32
        if "masks" in targets:
            k = slot_count(h5)
            width, words = mask_word(k)
            total += h5["mask"].size // k * width * words * copies  # uint8, padded
        if "flux" in targets:
            total += h5["flux"].size * 4
    return total


class InMemoryBlends:
    """A blend set read once into memory and served as (blend[..., None], targets) batches.

    Same batches as :class:`BlendStream` in kind (``targets``: ``flux`` float32 (B, K),
    ``masks`` uint8 (B, S, S, K)), but with a full shuffle: each pass visits every blend
    once, in a permutation drawn from ``seed`` and the pass number. ``augment`` draws one of
    the 8 symmetries of :func:`symmetry_transform` per blend and pass from the same stream,
    its transpose bit shared by the blends of a batch (drawn per batch: the flips stay per
    blend, and every blend still meets all 8 symmetries over the passes).

    The arrays live in CPU-placed TensorFlow variables (no graph constants, so no 2 GB
    limit), as rows of pixels; a NumPy generator yields only indices, and a tf.data map
    gathers the rows. With ``augment`` the images (and masks) are held twice, as they are and
    with their columns flipped (:func:`symmetry_transform`'s centre-keeping flip), so that
    every symmetry is a row gather from one of the two copies, followed by one transpose of
    the whole batch when its transpose bit is set (a transpose per blend, of part of a
    batch, cost a slice, a transpose and a join: the augmented feed ran at a third to a half
    of the plain one's rate). The masks are held with each pixel's K values packed into one
    word (:func:`pack_masks`: a uint16 for pairs, a uint32 for 3 or 4 slots).
    """

    def __init__(
        self,
        path: str | Path,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        targets: tuple[str, ...] = ("flux",),
        augment: bool = False,
    ):
        import tensorflow as tf

        self.path = Path(path)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.targets = tuple(targets)
        self._augment = augment  # fixed: the held copies depend on it
        self.passes = 0
        with open_blend_set(self.path) as h5:
            self.n, self.size = h5["blend"].shape[0], h5["blend"].shape[-1]
            self.slots = slot_count(h5)
            self._blend = self._rows(h5["blend"], lambda block: block[..., None])
            self._masks = None
            if "masks" in self.targets:
                # (N, K, S, S) uint8 -> (N, S, S, W) words, each pixel's K values packed, so
                # that a transpose moves whole words (split again after the gather)
                self._masks = self._rows(h5["mask"], pack_masks)
            self._flux = None
            if "flux" in self.targets:
                with tf.device("/CPU:0"):
                    self._flux = tf.Variable(h5["flux"][()].astype(np.float32), trainable=False)
        flip = (self.size - np.arange(self.size)) % self.size
        ident = np.arange(self.size)
        # for code c, the rows gathered and the copy they come from: a plain symmetry is
        # image[r(i), c(j)] (r: the row flip, bit 1; c: the column flip, bit 2), a transposed
        # one is the transpose of image[c(k), r(l)]
        maps, copies = [], []
        for code in range(8):
            row_bit, col_bit = (4, 2) if code & 1 else (2, 4)
            maps.append(flip if code & row_bit else ident)
            copies.append(1 if code & col_bit else 0)
        self._row_maps = np.stack(maps) + np.array(copies)[:, None] * self.n * self.size

    def _rows(self, dataset, convert, block: int = 1024):
        """A CPU variable of pixel rows (N * S, S, C): the images of ``dataset`` (each block
        made (B, S, S, C) by ``convert``), then (augment) the same images with their columns
        flipped as :func:`symmetry_transform` flips them. Made from tensors of one block
        each, joined once: memory peaks at twice this array (plus what is already held)."""
        import tensorflow as tf

        size = self.size
        with tf.device("/CPU:0"):
            plain, flipped = [], []
            for start in range(0, self.n, block):
                images = convert(dataset[start : start + block])
                channels = images.shape[-1]
                plain.append(tf.constant(images.reshape(-1, size, channels)))
                if self.augment:
                    mirror = np.empty_like(images)
                    mirror[:, :, 0] = images[:, :, 0]
                    mirror[:, :, 1:] = images[:, :, :0:-1]
                    flipped.append(tf.constant(mirror.reshape(-1, size, channels)))
            rows = tf.concat(plain + flipped, axis=0)
            del plain, flipped
            return tf.Variable(rows, trainable=False)

    @property
    def augment(self) -> bool:
        """Whether symmetries are drawn (fixed at construction: it decides what is held)."""
        return self._augment

    def __len__(self) -> int:
        """Batches per pass."""
        return int(np.ceil(self.n / self.batch_size))

    def order(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One pass: the blends' order and their symmetry codes (in that order), the
        transpose bit (bit 0) the same within each batch."""
        order = rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        if not self.augment:
            return order, np.zeros(self.n, int)
        codes = rng.integers(0, 8, size=self.n)
        transpose = rng.integers(0, 2, size=len(self))
        return order, (codes & 6) | np.repeat(transpose, self.batch_size)[: self.n]

    def indices(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """One pass, per batch: blend indices, pixel rows to gather, whether the batch is
        transposed and the symmetry codes."""
        rng = np.random.default_rng([self.seed, self.passes])
        self.passes += 1
        order, codes = self.order(rng)
        for start in range(0, self.n, self.batch_size):
            idx = order[start : start + self.batch_size]
            code = codes[start : start + self.batch_size]
            rows = (idx[:, None] * self.size + self._row_maps[code]).ravel()
            yield idx, rows, np.bool_(code[0] & 1), code

    def _batch(self, idx, rows, transposed, codes):
        import tensorflow as tf

        size = self.size

        def gather(var):
            images = tf.reshape(tf.gather(var, rows), (-1, size, size, var.shape[-1]))
            if not self.augment:
                return images
            return tf.cond(transposed, lambda: tf.transpose(images, [0, 2, 1, 3]), lambda: images)

        x = gather(self._blend)
        y = {}
        if "flux" in self.targets:
            y["flux"] = tf.gather(self._flux, idx)
        if "masks" in self.targets:
            y["masks"] = unpack_masks(gather(self._masks), self.slots)
        return x, y

    def dataset(self):
        """A prefetched tf.data.Dataset over this set (a new pass each iteration)."""
        import tensorflow as tf

        signature = (
            tf.TensorSpec(shape=(None,), dtype=tf.int64),
            tf.TensorSpec(shape=(None,), dtype=tf.int64),
            tf.TensorSpec(shape=(), dtype=tf.bool),
            tf.TensorSpec(shape=(None,), dtype=tf.int64),
        )
        ds = tf.data.Dataset.from_generator(self.indices, output_signature=signature)
        ds = ds.apply(tf.data.experimental.assert_cardinality(len(self)))  # as BlendStream's
        # Under op determinism tf.data runs a map one batch at a time anyway, rewriting a
        # parallel map into a sequential one (and logging an error about an attribute the
        # rewrite drops): ask for the sequential map itself there.
        if op_determinism_enabled():
            ds = ds.map(self._batch)
        else:
            ds = ds.map(self._batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.prefetch(tf.data.AUTOTUNE)


def op_determinism_enabled() -> bool:
    """Whether TensorFlow's op determinism is on (``training.deterministic``); TensorFlow 2.21
    has no public query for it: False where its private one is missing."""
    try:
        from tensorflow.python.framework import config as tf_config
    except ImportError:
        return False
    return bool(getattr(tf_config, "is_op_determinism_enabled", lambda: False)())


def training_source(
    path: str | Path,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    targets: tuple[str, ...] = ("flux",),
    augment: bool = False,
    memory_limit_gb: float = 2.0,
) -> InMemoryBlends | BlendStream:
    """The source that feeds training: in memory (:class:`InMemoryBlends`) when the blends
    and targets take at most ``memory_limit_gb`` (10^9 bytes), streamed from the file
    (:class:`BlendStream`) otherwise. Both draw pass ``passes`` of a seed's sequence next."""
    needed = in_memory_bytes(path, tuple(targets), augment)
    if needed <= memory_limit_gb * 1e9:
        log.info("%s: %.2f GB, held in memory", path, needed / 1e9)
        return InMemoryBlends(path, batch_size, shuffle, seed, targets, augment)
    log.info("%s: %.2f GB > memory_limit_gb %s, streamed", path, needed / 1e9, memory_limit_gb)
    return BlendStream(path, batch_size, shuffle, seed, targets=targets, augment=augment)


def training_dataset(*args, **kwargs):
    """The tf.data.Dataset of :func:`training_source` (same arguments)."""
    return training_source(*args, **kwargs).dataset()


def check_training_values(path: str | Path) -> None:
    """Fail before training, with one InputError naming the file and the first bad rows, if a
    training or validation blend set has a NaN or infinite pixel in ``blend``: a network
    would train on NaN losses without saying so. (Its true fluxes are the blend set's
    contract, checked whenever it is opened.) Read block by block."""
    with open_blend_set(path) as h5:
        n = h5["blend"].shape[0]
        rows = nonfinite_rows(h5)
    if len(rows):
        raise InputError(
            path,
            f"dataset blend has NaN or infinite pixels in {len(rows)} of {n} blends "
            f"({describe_rows(rows)}): a network cannot train on them (rebuild the blend set "
            "or drop those blends)",
        )


def normalisation_scales(path: str | Path, n_sample: int = 512) -> tuple[float, float]:
    """(input_scale, flux_scale) from the head of a training set.

    input_scale: median peak pixel of the blends; flux_scale: median true flux over the
    present slots (absent ones are NaN). Stored in the model (Rescaling layers), so a saved
    model takes raw images and returns fluxes. InputError, naming the file and the quantity,
    when either is not a positive finite number (:func:`check_training_values` names the
    rows of NaN pixels and non-positive fluxes first).
    """
    with open_blend_set(path) as h5:
        n = min(n_sample, h5["blend"].shape[0])
        peaks = h5["blend"][:n].reshape(n, -1).max(axis=1)
        flux = h5["flux"][()]
    input_scale = float(np.median(peaks)) if n else float("nan")
    finite = flux[np.isfinite(flux)]  # every entry, for pairs
    flux_scale = float(np.median(finite)) if finite.size else float("nan")
    if not (np.isfinite(input_scale) and input_scale > 0):
        raise InputError(
            path,
            f"cannot derive the input normalisation: the median peak pixel of the first {n} "
            f"blends is {input_scale} (it must be a positive number)",
        )
    if not (np.isfinite(flux_scale) and flux_scale > 0):
        raise InputError(
            path,
            f"cannot derive the flux normalisation: the median true flux is {flux_scale} "
            "(it must be a positive number)",
        )
    return input_scale, flux_scale
