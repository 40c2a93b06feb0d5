"""The paper's isolation rule, shared by the synthetic sky and the selection: two galaxies are
too close when their centres lie nearer than ``factor`` x the sum of their half-light radii."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


class Crowd:
    """Objects at (x, y) with half-light radii, indexed to ask what crowds a position."""

    def __init__(self, x: np.ndarray, y: np.ndarray, radius: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.radius = np.asarray(radius, dtype=float)
        self.tree = cKDTree(np.column_stack([self.x, self.y]))

    def crowding(self, x: float, y: float, radius: float, factor: float) -> np.ndarray:
        """Indices of the objects closer to (x, y) than ``factor`` x (``radius`` + theirs)."""
        reach = factor * (radius + self.radius.max())
        near = np.asarray(self.tree.query_ball_point((x, y), reach), dtype=np.int64)
        gap = np.hypot(self.x[near] - x, self.y[near] - y) - factor * (radius + self.radius[near])
        return near[gap < 0]
