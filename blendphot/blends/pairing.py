"""Which galaxies go together, and how far apart (paper 2.2), on galaxy-disjoint splits (2.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from blendphot.errors import InputError

MAX_TRIES = 25  # the released generator's limit on shift draws for one pair
MAX_SIZE_RATIO = 4  # its r_max: this many times the smaller radius
FALLBACK_FACTOR = 0.8  # its r_min, in units of r_max, when max R >= r_max
CANDELS_BLENDER = ("candels_blender", "released")  # the recipe's name and its old alias


def split_galaxies(
    n_galaxies: int, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of (train+val galaxies, test galaxies), set aside before any pair is drawn."""
    order = rng.permutation(n_galaxies)
    n_test = int(round(test_fraction * n_galaxies))
    if n_test < 2 or n_galaxies - n_test < 2:
        raise InputError(
            None,
            f"{n_galaxies} galaxies cannot be split with test_fraction={test_fraction}: "
            "each side needs at least 2 galaxies",
        )
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def split_by_galaxy(
    keys: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of (train+val stamps, test stamps), whole galaxies set aside together.

    ``keys`` holds each stamp's galaxy (several stamps may show one galaxy: rotations, epochs,
    fields); the galaxies, in order of first appearance, are split by
    :func:`split_galaxies`, so that with one stamp per galaxy the split is that of the stamps.
    """
    codes, uniques = pd.factorize(pd.Series(keys), sort=False)
    if (codes < 0).any():
        raise InputError(None, "the galaxy key is missing (NaN) for some stamps")
    groups_tv, groups_test = split_galaxies(len(uniques), test_fraction, rng)
    return np.flatnonzero(np.isin(codes, groups_tv)), np.flatnonzero(np.isin(codes, groups_test))


def _paper_shift(
    r_cen: float, r_comp: float, half_size: int, min_factor: float, rng: np.random.Generator
) -> tuple[int, int] | None:
    r_low = min(min_factor * max(r_cen, r_comp), half_size - 1.0)
    for _ in range(1000):
        dist = rng.uniform(r_low, half_size)
        angle = rng.uniform(0.0, 2.0 * np.pi)
        dx, dy = int(round(dist * np.cos(angle))), int(round(dist * np.sin(angle)))
        if r_low <= np.hypot(dx, dy) < half_size:
            return dx, dy
    return None


def candels_blender_bounds(r_cen: float, r_comp: float, half_size: int) -> tuple[float, float]:
    """(r_min, r_max) of the released generator's shift for radii R1, R2.

    r_min = max(R1, R2), r_max = min(4 min(R1, R2), half_size); when r_min >= r_max (a pair
    of very unequal sizes) r_min falls back to 0.8 r_max.
    """
    r_max = min(MAX_SIZE_RATIO * min(r_cen, r_comp), half_size)
    r_min = max(r_cen, r_comp)
    if r_min >= r_max:
        r_min = FALLBACK_FACTOR * r_max
    return r_min, r_max


def _candels_blender_shift(
    r_cen: float, r_comp: float, half_size: int, rng: np.random.Generator
) -> tuple[int, int] | None:
    r_min, r_max = candels_blender_bounds(r_cen, r_comp, half_size)
    limit = int(r_max)  # the generator passes the float r_max to randint, which truncates it
    if limit < 1:
        return None  # only (0, 0) could be drawn, and it lies below r_min
    for _ in range(MAX_TRIES):
        dx, dy = (int(v) for v in rng.integers(-limit, limit, size=2))  # upper end excluded
        if r_min <= np.hypot(dx, dy) <= r_max:
            return dx, dy
    return None


def draw_shift(
    r_cen: float,
    r_comp: float,
    half_size: int,
    recipe: str,
    min_factor: float,
    rng: np.random.Generator,
) -> tuple[int, int] | None:
    """Integer companion shift (dx, dy); None when the ``candels_blender`` recipe gives up.

    ``candels_blender`` (alias ``released``; the recipe of the authors' generator, which made
    the paper's published test set): integer shifts, each component uniform in
    [-r_max, r_max) (numpy's randint leaves out the upper end), redrawn until
    r_min <= |shift| <= r_max, at most 25 tries; (r_min, r_max) from
    :func:`candels_blender_bounds`. So distance / min(R1, R2) lies in [1, 4], and in
    [3.2, 4] for the fallback's pairs (max R >= 4 min R), unless half_size clips r_max.
    ``paper`` (the paper's text): distance uniform in [min_factor * R, half_size) with
    R = max(R_cen, R_comp), a uniform angle, rounded to whole pixels (redrawn if rounding
    leaves the bounds).
    """
    if recipe in CANDELS_BLENDER:
        return _candels_blender_shift(r_cen, r_comp, half_size, rng)
    if recipe == "paper":
        return _paper_shift(r_cen, r_comp, half_size, min_factor, rng)
    raise ValueError(f"unknown blends recipe {recipe!r}: candels_blender, released or paper")


def draw_pairs(
    mags: np.ndarray,
    radii: np.ndarray,
    pool: np.ndarray,
    n_blends: int,
    params: dict,
    half_size: int,
    rng: np.random.Generator,
    galaxies: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``n_blends`` (central, companion, dx, dy) rows from the galaxies in ``pool``.

    The companion's magnitude lies strictly within ``mag_window`` of the central's; with
    ``galaxies`` (each stamp's galaxy key), a pair of two stamps of one galaxy is drawn again.
    """
    pool = np.asarray(pool)
    order = pool[np.argsort(mags[pool], kind="stable")]
    sorted_mags = mags[order]
    window = params["mag_window"]
    lo = np.searchsorted(sorted_mags, sorted_mags - window, side="right")
    hi = np.searchsorted(sorted_mags, sorted_mags + window, side="left")
    n_candidates = hi - lo - 1  # minus the central itself
    usable = np.flatnonzero(n_candidates > 0)
    if usable.size == 0:
        raise InputError(
            None,
            f"no pair can be made among {pool.size} galaxies: no companion lies within "
            f"mag_window={window} of any central",
        )
    rows = np.empty((n_blends, 4), dtype=np.int64)
    made, attempts = 0, 0
    while made < n_blends:
        attempts += 1
        if attempts > 50 * n_blends + 1000:
            raise InputError(None, "could not draw enough blends: shifts keep failing")
        k = usable[rng.integers(usable.size)]
        j = rng.integers(lo[k], hi[k] - 1)
        j = j + 1 if j >= k else j  # skip the central itself
        cen, comp = order[k], order[j]
        if galaxies is not None and galaxies[cen] == galaxies[comp]:
            continue
        shift = draw_shift(
            radii[cen],
            radii[comp],
            half_size,
            params["recipe"],
            params["min_distance_factor"],
            rng,
        )
        if shift is None:
            continue
        rows[made] = (cen, comp, *shift)
        made += 1
    return rows
