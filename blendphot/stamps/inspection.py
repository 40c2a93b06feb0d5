"""When the automatic inspection runs (:func:`inspection_on`), and how it does on shapes whose
truth is known, drawn with GalSim (its rules: :mod:`blendphot.stamps.exclusion`).

Single galaxies that real skies hold and a sep-based rule can mistake for blends (clumpy
discs, grand-design spirals, edge-on thick discs, mergers that are one galaxy) must be kept;
true blends (two such galaxies whose light overlaps at the detection isophote) must be
rejected. :func:`inspection_check` draws ``n`` stamps of each kind with the configured PSF,
pixel scale and noise, runs them through :func:`blendphot.stamps.process.process_stamp` with
the configured stamps settings and returns the keep rate per kind (for blends: the rejection
rate).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import galsim
import numpy as np
import pandas as pd

from blendphot import STAMP_SIZE
from blendphot.sky import shapes
from blendphot.sky.priors import sample_properties
from blendphot.sky.synthetic import make_psf
from blendphot.stamps.process import process_stamp
from blendphot.stamps.settings import StampSettings

log = logging.getLogger(__name__)
INSPECTED_BY_EYE = ("candels_blender",)
"""Sky sources whose galaxies were already inspected by eye: ``inspect: auto`` is off."""

SINGLE_KINDS = ("clumpy_disc", "spiral", "edge_on", "merger")
"""Single galaxies the inspection must keep."""
BLEND_KIND = "blend"
"""Two single galaxies overlapping at the isophote: the inspection must reject them."""
CHECK_KINDS = (*SINGLE_KINDS, BLEND_KIND)
CATALOG_TYPE = {"clumpy_disc": "disk", "spiral": "sphd", "edge_on": "disk", "merger": "irr"}
"""The morphological type a catalogue would give each kind (drives the 'split' rule)."""
BLEND_SEPARATION = (0.75, 1.5)
"""A blend's companion lies this many times the sum of the two half-light radii away."""
BLEND_DMAG = 1.5
"""A blend's companion is up to this many magnitudes fainter than the central."""
CHECK_STREAM = 9


def single_profile(kind: str, flux: float, hlr: float, rng: np.random.Generator):
    """The GalSim profile of one single galaxy of a check kind (before the PSF)."""
    beta = float(rng.uniform(0.0, 180.0))
    if kind == "clumpy_disc":
        q = float(rng.uniform(0.5, 1.0))
        frac, n = float(rng.uniform(0.2, 0.4)), int(rng.integers(8, 25))
        return shapes.clumpy_disc(flux, hlr, q, beta, frac, n, int(rng.integers(1, 2**31 - 1)))
    if kind == "spiral":
        q = float(rng.uniform(0.6, 1.0))
        bulge, arms = float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.2, 0.35))
        return shapes.spiral(flux, hlr, bulge, arms, q, beta, rng)
    if kind == "edge_on":
        inclination = float(rng.uniform(80.0, 90.0))
        thickness = float(rng.uniform(0.1, 0.25))
        n = 1.0 if rng.uniform() < 0.5 else float(rng.uniform(0.8, 1.5))
        return shapes.edge_on_disc(flux, hlr, inclination, thickness, beta, n)
    if kind == "merger":
        ratio, separation = float(rng.uniform(0.3, 1.0)), float(rng.uniform(0.4, 0.9))
        return shapes.merger(flux, hlr, ratio, separation, beta, rng)
    raise ValueError(f"unknown check kind {kind!r}: {', '.join(CHECK_KINDS)}")


def draw_check_stamp(
    kind: str, sky: dict, rng: np.random.Generator, size: int = STAMP_SIZE
) -> tuple[np.ndarray, float, str]:
    """One noisy stamp of a check kind: (pixels, central radius in pixels, catalogue type).

    Magnitude and radius come from the calibrated disc priors (magnitudes to 23.5); a blend
    pairs two single kinds, the companion up to ``BLEND_DMAG`` fainter and
    ``BLEND_SEPARATION`` x (sum of the radii) away.
    """
    scale, zeropoint = sky["pixel_scale"], sky["zeropoint"]
    props = sample_properties("disk", 2, rng)
    mag, radius = float(props.at[0, "mag"]), float(props.at[0, "radius"])
    central_kind = kind if kind != BLEND_KIND else str(rng.choice(SINGLE_KINDS))
    flux = 10.0 ** (-0.4 * (mag - zeropoint))
    gal = single_profile(central_kind, flux, radius * scale, rng)
    if kind == BLEND_KIND:
        other = str(rng.choice(SINGLE_KINDS))
        r2 = float(props.at[1, "radius"])
        flux2 = flux * 10.0 ** (-0.4 * rng.uniform(0.0, BLEND_DMAG))
        dist = rng.uniform(*BLEND_SEPARATION) * (radius + r2) * scale
        angle = rng.uniform(0.0, 2.0 * np.pi)
        companion = single_profile(other, flux2, r2 * scale, rng)
        gal = gal + companion.shift(dist * np.cos(angle), dist * np.sin(angle))
    psf, method = make_psf(sky)
    image = galsim.Convolve(gal, psf).drawImage(nx=size, ny=size, scale=scale, method=method)
    noise = rng.normal(0.0, sky["noise_sigma"], (size, size))
    return (image.array + noise).astype(np.float32), radius, CATALOG_TYPE[central_kind]


def inspection_check(stamps: StampSettings | Mapping, sky: dict, n: int, seed: int) -> pd.DataFrame:
    """Keep rate per single kind and rejection rate of blends, ``n`` stamps each, drawn with
    the ``sky`` section's PSF, pixel scale, zeropoint and noise.

    Columns: kind, n, kept, rejected, rate (kept/n for single galaxies, rejected/n for
    blends), reasons (count of each exclusion reason).
    """
    stamps = StampSettings.of(stamps)
    rows = []
    for k, kind in enumerate(CHECK_KINDS):
        rng = np.random.default_rng([seed, CHECK_STREAM, k])
        fill = np.random.default_rng([seed, CHECK_STREAM, k, 1])  # the same stamps whatever
        kept, reasons = 0, {}  # the settings: the refill draws from its own stream
        for _ in range(n):
            stamp, radius, kind_type = draw_check_stamp(kind, sky, rng)
            result = process_stamp(
                stamp, stamps, sky["noise_sigma"], fill, radius=radius, galaxy_type=kind_type
            )
            if result is None:
                reasons["no_detection"] = reasons.get("no_detection", 0) + 1
                continue
            kept += not result["excluded"]
            for reason in result["reasons"]:
                reasons[reason] = reasons.get(reason, 0) + 1
        rate = kept / n if kind != BLEND_KIND else (n - kept) / n
        rows.append(
            {
                "kind": kind,
                "n": n,
                "kept": kept,
                "rejected": n - kept,
                "rate": rate,
                "reasons": " ".join(f"{r}:{c}" for r, c in sorted(reasons.items())),
            }
        )
    return pd.DataFrame(rows)


def inspection_on(
    settings: StampSettings | Mapping, source: str, sky: dict | None, seed: int
) -> bool:
    """Whether the automatic inspection runs: ``settings.inspect`` on/off, or ``auto``: off for
    an input already inspected by eye (the candels-blender stamps), on otherwise. Where it
    runs and ``settings.inspect_check`` > 0, its keep and rejection rates on GalSim shapes
    drawn with the ``sky`` section are logged (:func:`inspection_check`)."""
    settings = StampSettings.of(settings)
    mode = settings.inspect
    on = mode == "on" or (mode == "auto" and source not in INSPECTED_BY_EYE)
    log.info("automatic inspection: %s (stamps.inspect: %s, source %s)", on, mode, source)
    if on and sky and settings.inspect_check > 0:
        log_inspection_check(settings, sky, seed)
    return on


def log_inspection_check(settings: StampSettings, sky: dict, seed: int) -> pd.DataFrame:
    """Run the inspection on ``settings.inspect_check`` GalSim stamps of each kind; log the
    rates."""
    table = inspection_check(settings, sky, settings.inspect_check, seed)
    for row in table.itertuples():
        what = "rejected" if row.kind == "blend" else "kept"
        count = row.rejected if row.kind == "blend" else row.kept
        log.info(
            "inspection check: %s %s %d/%d (%.0f%%) [%s]",
            row.kind, what, count, row.n, 100 * row.rate, row.reasons or "no exclusion",
        )  # fmt: skip
    return table
