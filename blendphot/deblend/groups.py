"""Which objects of a mosaic blend, and in which slots a network takes them.

Two objects blend (``deblend.link``) by the rules the blend sets were drawn with:
``isolation`` (the default), when neither would pass the selection's isolation cut, their
centres nearer than ``stamps.isolation`` times the sum of their half-light radii (the paper's
galaxies are isolated by this rule, and their artificial blends put a companion within it);
``recipe``, only when they lie no farther apart than the blend recipe places a companion of
the same two sizes (:func:`link_distance`: ``min(4 min(R1, R2), 64)`` pixels for
``candels_blender``, half a stamp for ``paper``). Either way no farther than half a stamp (64
pixels). A group is a set of objects linked pair by pair (friends of friends). Its slots follow
the blend sets' order: slot 1, the central (on the stamp's centre), is the brightest member,
then the companions by decreasing brightness (ties in catalogue order); a network of K slots
takes the K brightest, and the members beyond are flagged (:mod:`blendphot.deblend.catalog`).
A member unlike the training blends' (its magnitude, size, contrast with the central or
distance from it outside their ranges: :func:`training_domain`) is flagged too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from blendphot.blends.pairing import CANDELS_BLENDER, MAX_SIZE_RATIO
from blendphot.errors import InputError


def link_distance(
    r1: np.ndarray, r2: np.ndarray, recipe: str, half_size: int, isolation: float | None = None
) -> np.ndarray:
    """The farthest apart two objects of half-light radii ``r1``, ``r2`` (pixels) blend: with
    ``isolation`` (a factor), that factor times the sum of the radii; else the upper bound of
    the ``recipe``'s companion distance; never more than ``half_size``."""
    r1, r2 = np.asarray(r1, float), np.asarray(r2, float)
    if isolation is not None:
        return np.minimum(isolation * (r1 + r2), float(half_size))
    if recipe in CANDELS_BLENDER:
        return np.minimum(MAX_SIZE_RATIO * np.minimum(r1, r2), float(half_size))
    if recipe == "paper":
        return np.full(np.broadcast(r1, r2).shape, float(half_size))
    raise ValueError(f"unknown blends recipe {recipe!r}: candels_blender, released or paper")


def linked_pairs(
    x: np.ndarray,
    y: np.ndarray,
    radius: np.ndarray,
    recipe: str,
    half_size: int,
    isolation: float | None = None,
) -> np.ndarray:
    """(P, 2) index pairs i < j of the objects that blend (:func:`link_distance`)."""
    points = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    if len(points) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = cKDTree(points).query_pairs(float(half_size), output_type="ndarray")
    if not len(pairs):
        return np.zeros((0, 2), dtype=np.int64)
    i, j = pairs[:, 0], pairs[:, 1]
    distance = np.hypot(points[i, 0] - points[j, 0], points[i, 1] - points[j, 1])
    keep = distance <= link_distance(radius[i], radius[j], recipe, half_size, isolation)
    return pairs[keep].astype(np.int64)


def group_labels(n: int, pairs: np.ndarray) -> np.ndarray:
    """Label (0..G-1) of each of ``n`` objects: the connected components of ``pairs``."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def assign_groups(
    catalog: pd.DataFrame,
    recipe: str,
    half_size: int,
    isolation: float | None = None,
    brightness: str = "mag",
) -> pd.DataFrame:
    """Per object of ``catalog`` (needs id, x, y, radius and ``brightness``, a magnitude):
    ``group_id`` (the id of the group's central), ``group_size``, ``rank`` (0 the central, then
    the companions by decreasing brightness), ``centre_x``, ``centre_y`` (the central's
    position);
    linked by ``isolation`` (a factor) if given, else by the ``recipe``."""
    missing = [c for c in ("id", "x", "y", "radius", brightness) if c not in catalog.columns]
    if missing:
        raise InputError(None, f"catalogue to group lacks column(s): {', '.join(missing)}")
    x = catalog["x"].to_numpy(float)
    y = catalog["y"].to_numpy(float)
    labels = group_labels(
        len(catalog),
        linked_pairs(x, y, catalog["radius"].to_numpy(float), recipe, half_size, isolation),
    )
    order = np.lexsort((np.arange(len(catalog)), catalog[brightness].to_numpy(float), labels))
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.empty(len(catalog), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(starts, sizes)
    central_of_label = np.empty(labels.max() + 1 if len(labels) else 0, dtype=np.int64)
    central_of_label[sorted_labels[starts]] = order[starts]
    central = central_of_label[labels]
    size_of_label = np.zeros_like(central_of_label)
    size_of_label[sorted_labels[starts]] = sizes
    return pd.DataFrame(
        {
            "group_id": catalog["id"].to_numpy()[central],
            "group_size": size_of_label[labels],
            "rank": rank,
            "centre_x": x[central],
            "centre_y": y[central],
        },
        index=catalog.index,
    )


def training_domain(table: Mapping[str, np.ndarray], n_slots: int) -> dict[str, list[float]]:
    """What a network learnt, from its training blend set's table (``g{k}_mag``, ``g{k}_rad``,
    the companions' distances ``distance``, ``g{k}_distance``; absent slots NaN): the
    ``[min, max]`` of the galaxies' magnitudes and half-light radii (pixels), of a companion's
    magnitude minus the central's (``contrast``) and of its distance from the central in units
    of the smaller of the two radii (``distance``)."""

    def column(name: str) -> np.ndarray:
        return np.asarray(table[name], float)

    mags = np.concatenate([column(f"g{k + 1}_mag") for k in range(n_slots)])
    radii = np.concatenate([column(f"g{k + 1}_rad") for k in range(n_slots)])
    contrast, distance = [], []
    for k in range(1, n_slots):
        g = f"g{k + 1}"
        contrast.append(column(f"{g}_mag") - column("g1_mag"))
        dist = column("distance" if k == 1 else f"{g}_distance")
        distance.append(dist / np.minimum(column(f"{g}_rad"), column("g1_rad")))

    def bounds(values) -> list[float]:
        values = np.concatenate(values) if isinstance(values, list) else values
        values = values[np.isfinite(values)]
        return [float(values.min()), float(values.max())]

    return {
        "mag": bounds(mags),
        "radius": bounds(radii),
        "contrast": bounds(contrast),
        "distance": bounds(distance),
    }


def companion_geometry(members: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per member of one group (rows ordered by rank, the central first): its magnitude minus
    the central's and its distance from the central in units of the smaller of their two
    radii (NaN for the central)."""
    mag = members["mag"].to_numpy(float)
    x, y = members["x"].to_numpy(float), members["y"].to_numpy(float)
    radius = members["radius"].to_numpy(float)
    contrast = mag - mag[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.hypot(x - x[0], y - y[0]) / np.minimum(radius, radius[0])
    contrast[0] = distance[0] = np.nan
    return contrast, distance


def outside(values: np.ndarray, bounds: list[float]) -> np.ndarray:
    """Where ``values`` lie outside ``[low, high]`` (a NaN value counts as outside)."""
    values = np.asarray(values, float)
    with np.errstate(invalid="ignore"):
        return ~((values >= bounds[0]) & (values <= bounds[1]))
