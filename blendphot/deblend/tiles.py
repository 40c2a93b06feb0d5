"""The mosaic cut into tiles with overlap margins: one job each, each group owned by one tile.

A tile's core is a ``tile_size`` square of the mosaic, or a ``deblend.tiles`` share of it (the
last row and column of tiles take what is left, so that none is narrower); its region is the
core grown by ``margin`` on every side, clipped to the mosaic. A group belongs to the tile
whose core holds its central's (rounded) position, so that every object is written once; with
a margin of at least half a stamp, the stamp of every group a tile owns lies within the
tile's region (or runs off the mosaic's own edge, flagged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tile:
    """One tile: its index, its core ``[x0, x1) x [y0, y1)`` and its region (the core plus
    the margin, clipped to the mosaic), in 0-based mosaic pixels."""

    index: int
    x0: int
    x1: int
    y0: int
    y1: int
    rx0: int
    rx1: int
    ry0: int
    ry1: int

    @property
    def region(self) -> tuple[slice, slice]:
        """(rows, columns) of the tile's region in the mosaic."""
        return slice(self.ry0, self.ry1), slice(self.rx0, self.rx1)

    @property
    def region_pixels(self) -> int:
        """Pixels in the tile's region."""
        return (self.ry1 - self.ry0) * (self.rx1 - self.rx0)


Counts = tuple[int, int] | None
"""(rows, columns) of tiles asked for (``deblend.tiles``); None: as many as ``tile_size`` fits."""


def tile_layout(
    shape: tuple[int, int], tile_size: int, counts: Counts = None
) -> tuple[int, int, int, int]:
    """(rows, columns, row step, column step) of the tiles of a mosaic of ``shape`` (ny, nx):
    ``counts`` tiles if given, each ``shape // counts`` pixels; else whole tiles of
    ``tile_size``. Either way the last row and column take what is left (none narrower than
    the step, none twice as wide)."""
    ny, nx = shape
    if counts is not None:
        rows, cols = (max(1, int(c)) for c in counts)
        return rows, cols, max(1, ny // rows), max(1, nx // cols)
    rows, cols = max(1, ny // tile_size), max(1, nx // tile_size)
    return rows, cols, tile_size, tile_size


def tile_grid(
    shape: tuple[int, int], tile_size: int, margin: int, counts: Counts = None
) -> list[Tile]:
    """The tiles of a mosaic of ``shape`` (ny, nx), row by row (:func:`tile_layout`)."""
    ny, nx = shape
    rows, cols, step_y, step_x = tile_layout(shape, tile_size, counts)
    tiles = []
    for r in range(rows):
        for c in range(cols):
            x0, y0 = c * step_x, r * step_y
            x1 = nx if c == cols - 1 else x0 + step_x
            y1 = ny if r == rows - 1 else y0 + step_y
            tiles.append(
                Tile(
                    len(tiles),
                    x0,
                    x1,
                    y0,
                    y1,
                    max(0, x0 - margin),
                    min(nx, x1 + margin),
                    max(0, y0 - margin),
                    min(ny, y1 + margin),
                )  # fmt: skip
            )
    return tiles


def owning_tile(
    x: np.ndarray, y: np.ndarray, shape: tuple[int, int], tile_size: int, counts: Counts = None
) -> np.ndarray:
    """The index of the tile whose core holds each (rounded) position; a position off the
    mosaic goes to the nearest tile."""
    rows, cols, step_y, step_x = tile_layout(shape, tile_size, counts)
    col = np.clip(np.floor(np.round(np.asarray(x, float)) / step_x), 0, cols - 1)
    row = np.clip(np.floor(np.round(np.asarray(y, float)) / step_y), 0, rows - 1)
    return (row * cols + col).astype(np.int64)
