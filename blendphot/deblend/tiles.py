"""The mosaic cut into tiles with overlap margins: one job each, each group owned by one tile.

A tile's core is a ``tile_size`` square of the mosaic (the last row and column of tiles take
what is left, so that none is narrower); its region is the core grown by ``margin`` on every
side, clipped to the mosaic. A group belongs to the tile whose core holds its central's
(rounded) position, so that every object is written once; with a margin of at least half a
stamp, the stamp of every group a tile owns lies within the tile's region (or runs off the
mosaic's own edge, flagged).
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


def tile_count(shape: tuple[int, int], tile_size: int) -> tuple[int, int]:
    """(rows, columns) of tiles of a mosaic of ``shape`` (ny, nx): whole tiles, the last row
    and column taking what is left (no tile narrower than ``tile_size``, none twice as wide)."""
    return max(1, shape[0] // tile_size), max(1, shape[1] // tile_size)


def tile_grid(shape: tuple[int, int], tile_size: int, margin: int) -> list[Tile]:
    """The tiles of a mosaic of ``shape`` (ny, nx), row by row."""
    ny, nx = shape
    rows, cols = tile_count(shape, tile_size)
    tiles = []
    for r in range(rows):
        for c in range(cols):
            x0, y0 = c * tile_size, r * tile_size
            x1 = nx if c == cols - 1 else x0 + tile_size
            y1 = ny if r == rows - 1 else y0 + tile_size
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


def owning_tile(x: np.ndarray, y: np.ndarray, shape: tuple[int, int], tile_size: int) -> np.ndarray:
    """The index of the tile whose core holds each (rounded) position; a position off the
    mosaic goes to the nearest tile."""
    rows, cols = tile_count(shape, tile_size)
    col = np.clip(np.floor(np.round(np.asarray(x, float)) / tile_size), 0, cols - 1)
    row = np.clip(np.floor(np.round(np.asarray(y, float)) / tile_size), 0, rows - 1)
    return (row * cols + col).astype(np.int64)
