"""Which galaxies go together, and how far apart (paper 2.2), on galaxy-disjoint splits (2.3)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from blendphot.blends.settings import BlendSettings, Pairing
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
    pairing: Pairing | BlendSettings | Mapping,
    half_size: int,
    rng: np.random.Generator,
    galaxies: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``n_blends`` (central, companion, dx, dy) rows from the galaxies in ``pool``.

    The companion's magnitude lies strictly within ``pairing.mag_window`` of the central's,
    its shift drawn by :func:`draw_shift` under ``pairing.recipe`` (``pairing``: a
    :class:`~blendphot.blends.settings.Pairing`, or what :meth:`Pairing.of` takes); with
    ``galaxies`` (each stamp's galaxy key), a pair of two stamps of one galaxy is drawn again.
    """
    pairing = Pairing.of(pairing)
    window = pairing.mag_window
    order, lo, hi, n_candidates = window_candidates(mags, pool, window)
    usable = np.flatnonzero(n_candidates > 0)
    if usable.size == 0:
        raise InputError(
            None,
            f"no pair can be made among {len(pool)} galaxies: no companion lies within "
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
            pairing.recipe,
            pairing.min_distance_factor,
            rng,
        )
        if shift is None:
            continue
        rows[made] = (cen, comp, *shift)
        made += 1
    return rows


MAX_COMPANION_TRIES = 25  # draws of one extra companion before the whole blend is redrawn


def min_separation(r_i: float, r_j: float, half_size: int, recipe: str, min_factor: float) -> float:
    """The closest two galaxies of radii ``r_i``, ``r_j`` may sit under the recipe: the lower
    bound of :func:`draw_shift` (``candels_blender``: r_min of :func:`candels_blender_bounds`;
    ``paper``: ``min_factor * max(r_i, r_j)``)."""
    if recipe in CANDELS_BLENDER:
        return candels_blender_bounds(r_i, r_j, half_size)[0]
    if recipe == "paper":
        return min_factor * max(r_i, r_j)
    raise ValueError(f"unknown blends recipe {recipe!r}: candels_blender, released or paper")


def blend_counts(shares: dict[int, float], n_blends: int, rng: np.random.Generator) -> np.ndarray:
    """The number of galaxies of each of ``n_blends`` blends: ``shares`` (count -> share,
    summing to 1) times ``n_blends``, rounded by largest remainder (ties: the smaller count),
    in an order shuffled by ``rng``."""
    counts = sorted(shares)
    quota = np.array([shares[c] * n_blends for c in counts])
    whole = np.floor(quota).astype(np.int64)
    extra = n_blends - int(whole.sum())
    by_remainder = np.argsort(-(quota - whole), kind="stable")
    whole[by_remainder[:extra]] += 1
    return rng.permutation(np.repeat(counts, whole))


def window_candidates(
    mags: np.ndarray, pool: np.ndarray, window: float, galaxies: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pool sorted by magnitude (``order``), each central's window [lo, hi) in that order
    (magnitudes strictly within ``window``), and how many distinct other galaxies it holds
    (with ``galaxies``, stamps of one galaxy, the central's own included, count once)."""
    pool = np.asarray(pool)
    order = pool[np.argsort(mags[pool], kind="stable")]
    sorted_mags = mags[order]
    lo = np.searchsorted(sorted_mags, sorted_mags - window, side="right")
    hi = np.searchsorted(sorted_mags, sorted_mags + window, side="left")
    if galaxies is None:
        return order, lo, hi, hi - lo - 1
    codes = pd.factorize(pd.Series(galaxies[order]), sort=False)[0]
    distinct = np.array([np.unique(codes[a:b]).size - 1 for a, b in zip(lo, hi, strict=True)])
    return order, lo, hi, distinct


def check_fillable(
    mags: np.ndarray,
    pool: np.ndarray,
    counts: np.ndarray,
    window: float,
    split: str,
    galaxies: np.ndarray | None = None,
) -> None:
    """Fail (InputError) unless, for every count in ``counts``, some central of ``pool`` has
    count - 1 distinct companions within its magnitude window."""
    most = int(window_candidates(mags, pool, window, galaxies)[3].max(initial=0))
    for count in sorted(set(np.asarray(counts).tolist())):
        if count - 1 > most:
            raise InputError(
                None,
                f"cannot make blends of {count} galaxies in the {split} split: no central has "
                f"{count - 1} companions within mag_window={window} (most: {most})",
            )


def _companion(
    cen: int,
    placed: list[tuple[int, int, int]],
    candidates: np.ndarray,
    radii: np.ndarray,
    pairing: Pairing,
    half_size: int,
    rng: np.random.Generator,
    galaxies: np.ndarray | None,
    tries: int,
) -> tuple[int, int, int] | None:
    """A companion (index, dx, dy) of ``cen`` among ``candidates``: another galaxy, shifted
    by :func:`draw_shift`, no closer to any ``placed`` companion than :func:`min_separation`
    allows; None after ``tries`` failed draws."""
    taken = {cen, *(p[0] for p in placed)}
    keys = {galaxies[i] for i in taken} if galaxies is not None else set()
    recipe, factor = pairing.recipe, pairing.min_distance_factor
    for _ in range(tries):
        comp = int(candidates[rng.integers(candidates.size)])
        if comp in taken or (galaxies is not None and galaxies[comp] in keys):
            continue
        shift = draw_shift(radii[cen], radii[comp], half_size, recipe, factor, rng)
        if shift is None:
            continue
        if all(
            np.hypot(shift[0] - dx, shift[1] - dy)
            >= min_separation(radii[comp], radii[other], half_size, recipe, factor)
            for other, dx, dy in placed
        ):
            return comp, *shift
    return None


def draw_blends(
    mags: np.ndarray,
    radii: np.ndarray,
    pool: np.ndarray,
    counts: np.ndarray,
    pairing: Pairing | BlendSettings | Mapping,
    half_size: int,
    rng: np.random.Generator,
    galaxies: np.ndarray | None = None,
    n_slots: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw blends of ``counts[i]`` galaxies from ``pool``: (members (N, K), -1 in absent
    slots; shifts (N, K, 2), zero for the central and absent slots), K = ``n_slots``
    (default: the largest count); ``pairing`` as :func:`draw_pairs` takes it.

    The central and its first companion as :func:`draw_pairs` draws a pair (a failed draw
    redraws the blend); each further companion the same way around the same central (another
    galaxy within ``mag_window`` of it, shifted by :func:`draw_shift`) and no closer to a
    companion already placed than :func:`min_separation`, with up to
    :data:`MAX_COMPANION_TRIES` draws before the blend is redrawn. The
    companions are then sorted by brightness, the brightest (smallest magnitude) first (ties
    keep the drawing order): an order the networks learn far better than the distance
    (docs/studies/slot-order.md).
    """
    pairing = Pairing.of(pairing)
    counts = np.asarray(counts, dtype=np.int64)
    n_slots = n_slots or int(counts.max(initial=2))
    order, lo, hi, n_candidates = window_candidates(mags, pool, pairing.mag_window, galaxies)
    members = np.full((len(counts), n_slots), -1, dtype=np.int64)
    shifts = np.zeros((len(counts), n_slots, 2), dtype=np.int64)
    attempts = 0
    usable_for = {c: np.flatnonzero(n_candidates >= c - 1) for c in set(counts.tolist())}
    for i, count in enumerate(counts):
        usable = usable_for[count]
        if usable.size == 0:
            raise InputError(
                None,
                f"cannot make blends of {count} galaxies: no central has {count - 1} "
                f"companions within mag_window={pairing.mag_window}",
            )
        while True:
            attempts += 1
            if attempts > 50 * len(counts) + 1000:
                raise InputError(
                    None,
                    f"could not draw enough blends of {count} galaxies: companions keep "
                    "failing to fit around their central",
                )
            k = usable[rng.integers(usable.size)]
            cen = int(order[k])
            candidates = np.concatenate([order[lo[k] : k], order[k + 1 : hi[k]]])
            placed: list[tuple[int, int, int]] = []
            while len(placed) < count - 1:
                tries = MAX_COMPANION_TRIES if placed else 1  # the first: as draw_pairs does
                found = _companion(
                    cen, placed, candidates, radii, pairing, half_size, rng, galaxies, tries
                )
                if found is None:
                    break
                placed.append(found)
            if len(placed) == count - 1:
                break
        placed.sort(key=lambda p: mags[p[0]])  # brightest first; stable: ties keep the draw order
        members[i, :count] = [cen, *(p[0] for p in placed)]
        shifts[i, 1:count] = [(dx, dy) for _, dx, dy in placed]
    return members, shifts
