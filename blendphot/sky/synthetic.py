"""A synthetic CANDELS-like F160W sky drawn with GalSim.

Bright "primary" galaxies of the paper's four morphological types sit on a jittered grid, each
with a few fainter neighbours around it (so that the stamp cleaning has real work to do).
Primary magnitudes, radii and redshifts follow priors calibrated on the paper's published
galaxies (:mod:`blendphot.sky.priors`). Profiles: bulge de Vaucouleurs, disc exponential seen
at a random inclination, bulge+disc both, irregular exponential + GalSim RandomKnots; with
``realistic_shapes``, discs are inclined thick discs (edge-on included), some with clumps or
knotty arms, and irregulars lopsided (:mod:`blendphot.sky.shapes`). The PSF
is HST-like (Airy of the 2.4 m pupil convolved with the native WFC3/IR pixel and the drizzle
drop, about 0.19 arcsec FWHM on the 0.06 arcsec grid) or a Gaussian/Moffat of given FWHM.

Every object is drawn into its own postage stamp and scaled so that its pixels sum exactly to
the catalogue's ``flux``: the catalogue is the truth of what was injected, and
:func:`render_truth_stamp` redraws one object on any grid, identically.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import galsim
import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from scipy import optimize, special

from blendphot.errors import InputError
from blendphot.io import atomic_path
from blendphot.isolation import Crowd
from blendphot.sky import shapes
from blendphot.sky.priors import sample_properties
from blendphot.sky.settings import PsfSettings, SkySettings, SyntheticSettings, TypeFractions

log = logging.getLogger(__name__)

GALAXY_TYPES = ("sph", "disk", "sphd", "irr")
"""Morphological types: pure bulge, pure disc, bulge+disc, irregular (paper 2.1)."""

CATALOG_COLUMNS = (
    "id",
    "ra",
    "dec",
    "x",
    "y",
    "mag",
    "flux",
    "radius",
    "z",
    "type",
    "p_sph",
    "p_disk",
    "p_irr",
    "primary",
)
"""Catalogue contract: the same columns whatever the sky source (x, y are 0-based pixels)."""

SHAPE_COLUMNS = (
    "q",
    "beta",
    "bulge_fraction",
    "knot_fraction",
    "n_knots",
    "knot_seed",
    "arm_fraction",
    "knot_offset",
    "realistic",
)
"""Synthetic sky only: what, with the contract columns, redraws an object exactly."""

# What CANDELS galaxies at z ~ 1 show beyond smooth profiles (sky.realistic_shapes): discs
# (alone or under a bulge) are thick discs seen at their inclination, edge-on included, and
# some carry star-forming clumps or (bulge+disc) knotty arms; irregulars put their clumps on
# one side. Drawn from their own branch of the seed, so that the catalogue's other columns are
# those of the smooth sky.
# Shares and strengths from the detection-class study (docs/studies/detection-classes.md):
# twice as many and brighter clumps and arms made sep split our galaxies (more than two
# detections in a blend) more often than it split the real CANDELS galaxies in F160W, and
# find both galaxies of a blend less often; these keep sep's classes near the paper's.
SHAPES_STREAM = 2
DISC_CLUMPY = {"disk": 0.2, "sphd": 0.1}  # share of discs with clumps
DISC_KNOT_FRACTION = (0.03, 0.1)  # their light in clumps
DISC_KNOTS = (5, 25)
SPIRAL_SHARE = 0.1  # share of bulge+disc galaxies with knotty arms
SPIRAL_ARM_FRACTION = (0.05, 0.12)
IRREGULAR_OFFSET = (0.05, 0.3)  # the clumps' centre, in half-light radii off the body's

# Intrinsic thickness C/A used to turn a random inclination into an axis ratio.
THICKNESS = {"sph": 0.45, "disk": 0.25, "sphd": 0.35, "irr": 0.3}
BULGE_TO_DISC_SIZE = 0.4  # bulge half-light radius / disc half-light radius (bulge+disc)
PLACEMENT_TRIES = 50  # draws of a neighbour's position before the last one is kept
MAX_POSTAGE_STAMP = 1024  # pixels: the side of the largest object drawing
DEVAUC_TRUNCATION = 8.0  # de Vaucouleurs profiles are truncated at this many half-light radii
STAGE_STREAM = 1  # this stage's branch of the master seed
NOISE_STREAM = 1  # sub-branch of the noise field
FIELD_STREAM = 3  # sub-branch of the positions of a field (placement: field)

# The WFC3/IR optics and pixels: HST primary 2.4 m, central obscuration 0.33, F160W pivot
# 1539 nm; the native IR pixel and the drizzle drop convolve the optical PSF.
AIRY = {"lam": 1539.0, "diam": 2.4, "obscuration": 0.33}
NATIVE_PIXEL = 0.13  # arcsec
DRIZZLE_DROP = 0.1024  # arcsec


def make_psf(settings: PsfSettings | SkySettings | Mapping) -> tuple[galsim.GSObject, str]:
    """The PSF (``settings``: :class:`PsfSettings`, or the sky's) and the GalSim drawing method
    that goes with it.

    ``airy``: Airy (1539 nm, 2.4 m, obscuration 0.33) x native pixel x drizzle drop, drawn by
    FFT, which adds the 0.06 arcsec output pixel. ``gaussian``/``moffat`` (beta 3.5): an
    effective PSF of FWHM ``psf_fwhm``, pixel included, drawn with ``no_pixel``.
    """
    spec = PsfSettings.of(settings)
    model = spec.psf_model
    if model == "airy":
        optics = galsim.Airy(**AIRY, scale_unit=galsim.arcsec)
        psf = galsim.Convolve(optics, galsim.Pixel(NATIVE_PIXEL), galsim.Pixel(DRIZZLE_DROP))
        return psf, "fft"
    if model == "gaussian":
        return galsim.Gaussian(fwhm=spec.psf_fwhm), "no_pixel"
    if model == "moffat":
        return galsim.Moffat(beta=3.5, fwhm=spec.psf_fwhm), "no_pixel"
    raise InputError(None, f"unknown sky.psf_model '{model}'")


def psf_fwhm(settings: PsfSettings | SkySettings | Mapping) -> float:
    """FWHM (arcsec) of the effective PSF (output pixel included), measured on a fine grid."""
    settings = PsfSettings.of(settings)
    psf, method = make_psf(settings)
    if method != "no_pixel":
        psf = galsim.Convolve(psf, galsim.Pixel(settings.pixel_scale))
    image = psf.drawImage(nx=200, ny=200, scale=0.005, method="no_pixel")
    return float(image.calculateFWHM())


def psf_image(settings: PsfSettings | SkySettings | Mapping, size: int) -> np.ndarray:
    """The effective PSF on the stamps' pixel grid (``size`` odd), drawn as the sky's
    galaxies are (same model, same drawing method), normalised to 1."""
    settings = PsfSettings.of(settings)
    psf, method = make_psf(settings)
    image = psf.drawImage(nx=size, ny=size, scale=settings.pixel_scale, method=method)
    return image.array / image.array.sum()


def _probabilities(galaxy_type: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """Morphology probabilities (P_SPH, P_DISK, P_IRR) that select a galaxy as its type."""
    high = rng.uniform(0.81, 1.0, size=2)
    low = rng.uniform(0.0, 0.5, size=2)
    if galaxy_type == "sph":
        return high[0], low[0], low[1] * 0.4
    if galaxy_type == "disk":
        return low[0], high[0], low[1] * 0.4
    if galaxy_type == "sphd":
        return high[0], high[1], low[1] * 0.4
    return low[0], low[1], high[0]


def _axis_ratio(galaxy_type: str, rng: np.random.Generator) -> float:
    """Projected axis ratio of an oblate body seen at a random inclination."""
    cos_i = rng.uniform(0.0, 1.0)
    c = THICKNESS[galaxy_type]
    return float(np.sqrt(cos_i**2 + c**2 * (1.0 - cos_i**2)))


def _power_law_magnitudes(n: int, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitudes drawn from counts rising as 10**(0.3 m) between ``low`` and ``high``."""
    slope = 0.3 * np.log(10.0)
    u = rng.uniform(size=n)
    a, b = np.exp(slope * low), np.exp(slope * high)
    return np.log(a + u * (b - a)) / slope


def _draw_types(n: int, fractions: TypeFractions, rng: np.random.Generator) -> np.ndarray:
    """``n`` galaxy types drawn with the configured fractions."""
    weights = np.array([fractions.share(t) for t in GALAXY_TYPES], dtype=float)
    if weights.sum() <= 0:
        raise InputError(None, "sky.type_fractions must not all be zero")
    return rng.choice(np.array(GALAXY_TYPES), size=n, p=weights / weights.sum())


def _draw_properties(types: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """(mag, radius, z) for each type from the calibrated priors, in the order of ``types``."""
    out = pd.DataFrame(index=np.arange(len(types)), columns=["mag", "radius", "z"], dtype=float)
    for kind in GALAXY_TYPES:
        rows = np.flatnonzero(types == kind)
        if rows.size:
            out.iloc[rows] = sample_properties(kind, rows.size, rng).to_numpy()
    return out


def _shape_row(galaxy_type: str, rng: np.random.Generator) -> dict:
    """Shape parameters of one object: axis ratio, angle, bulge and knot fractions."""
    return {
        "q": _axis_ratio(galaxy_type, rng),
        "beta": float(rng.uniform(0, 180)),
        "bulge_fraction": float(rng.uniform(0.2, 0.5)) if galaxy_type == "sphd" else 0.0,
        "knot_fraction": float(rng.uniform(0.15, 0.3)) if galaxy_type == "irr" else 0.0,
        "n_knots": int(rng.integers(20, 50)) if galaxy_type == "irr" else 0,
        "knot_seed": int(rng.integers(1, 2**31 - 1)),
    }


def realistic_shape_columns(types: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Per object: clumps in discs (``knot_fraction``, ``n_knots``), knotty arms of bulge+disc
    galaxies (``arm_fraction``), the offset of an irregular's clumps (``knot_offset``).

    Columns for the types that do not have them are NaN (the smooth sky's values stand)."""
    n = len(types)
    u = rng.uniform(size=(n, 4))
    out = pd.DataFrame(
        {
            "knot_fraction": np.nan,
            "n_knots": np.nan,
            "arm_fraction": 0.0,
            "knot_offset": 0.0,
        },
        index=np.arange(n),
    )
    for kind, share in DISC_CLUMPY.items():
        clumpy = (types == kind) & (u[:, 0] < share)
        low, high = DISC_KNOT_FRACTION
        out.loc[clumpy, "knot_fraction"] = low + u[clumpy, 1] * (high - low)
        out.loc[clumpy, "n_knots"] = np.floor(DISC_KNOTS[0] + u[clumpy, 2] * np.diff(DISC_KNOTS))
    spiral = (types == "sphd") & (u[:, 3] < SPIRAL_SHARE)
    low, high = SPIRAL_ARM_FRACTION
    out.loc[spiral, "arm_fraction"] = low + u[spiral, 1] * (high - low)
    irr = types == "irr"
    low, high = IRREGULAR_OFFSET
    out.loc[irr, "knot_offset"] = low + u[irr, 1] * (high - low)
    return out


def _add_realistic_shapes(catalog: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The catalogue with the realistic-shape columns drawn (their own seed branch)."""
    rng = np.random.default_rng([seed, STAGE_STREAM, SHAPES_STREAM])
    extra = realistic_shape_columns(catalog["type"].to_numpy(), rng)
    for column in ("knot_fraction", "n_knots"):
        drawn = extra[column].notna().to_numpy()
        catalog.loc[drawn, column] = extra.loc[drawn, column].to_numpy()
    catalog["n_knots"] = catalog["n_knots"].astype(int)
    catalog["arm_fraction"] = extra["arm_fraction"].to_numpy()
    catalog["knot_offset"] = extra["knot_offset"].to_numpy()
    return catalog


def draw_galaxy_catalog(settings: SkySettings | Mapping, seed: int) -> pd.DataFrame:
    """Draw the catalogue of primaries and neighbours (truth, before any measurement), with
    the sky's synthetic settings and zero point.

    With ``realistic_shapes`` the discs are inclined thick discs (edge-on included), some with
    clumps or knotty arms, and the irregulars asymmetric (:func:`realistic_shape_columns`);
    without, smooth profiles and symmetric knots. The other columns are the same either way.
    """
    sky = SkySettings.of(settings)
    synthetic = sky.synthetic
    rng = np.random.default_rng([seed, STAGE_STREAM])
    n = synthetic.n_galaxies
    cell = synthetic.cell_size
    side = int(np.ceil(np.sqrt(n)))
    types = _draw_types(n, synthetic.type_fractions, rng)
    props = _draw_properties(types, rng)
    jitter = rng.uniform(-0.1 * cell, 0.1 * cell, size=(n, 2))
    cells = np.arange(n)
    xs = (cells % side + 0.5) * cell + jitter[:, 0]
    ys = (cells // side + 0.5) * cell + jitter[:, 1]
    rows = []
    for i in range(n):
        kind = str(types[i])
        p_sph, p_disk, p_irr = _probabilities(kind, rng)
        rows.append(
            {
                "id": i + 1,
                "x": float(xs[i]),
                "y": float(ys[i]),
                **{k: float(props.at[i, k]) for k in ("mag", "radius", "z")},
                "type": kind,
                "p_sph": float(p_sph),
                "p_disk": float(p_disk),
                "p_irr": float(p_irr),
                "primary": True,
                **_shape_row(kind, rng),
            }
        )
    radii = props["radius"].to_numpy(dtype=float)
    rows += _neighbour_rows(synthetic, xs, ys, radii, n + 1, rng)
    catalog = pd.DataFrame(rows)
    if synthetic.placement == "field":
        catalog["x"], catalog["y"] = field_positions(len(catalog), synthetic, seed)
    catalog["flux"] = 10.0 ** (-0.4 * (catalog["mag"] - sky.zeropoint))
    catalog["ra"] = np.nan
    catalog["dec"] = np.nan
    catalog["arm_fraction"] = 0.0
    catalog["knot_offset"] = 0.0
    catalog["realistic"] = synthetic.realistic_shapes
    if catalog["realistic"].any():
        catalog = _add_realistic_shapes(catalog, seed)
    return catalog[[*CATALOG_COLUMNS, *SHAPE_COLUMNS]]


def _neighbour_rows(
    synthetic: SyntheticSettings,
    xs: np.ndarray,
    ys: np.ndarray,
    radii: np.ndarray,
    first_id: int,
    rng: np.random.Generator,
) -> list[dict]:
    """Fainter neighbours scattered around each primary, with ambiguous morphologies.

    The primaries stand for the paper's isolated galaxies: a neighbour is drawn again (up to
    ``PLACEMENT_TRIES`` times) while it lies closer to any primary than
    ``neighbour_min_separation`` x the sum of the two radii.
    """
    counts = rng.poisson(synthetic.neighbours_per_galaxy, size=len(xs))
    total = int(counts.sum())
    types = _draw_types(total, synthetic.type_fractions, rng)
    props = _draw_properties(types, rng)
    mags = _power_law_magnitudes(total, *synthetic.neighbour_mag_range, rng)
    d_min, d_max = synthetic.neighbour_distance
    separation = synthetic.neighbour_min_separation
    tries = rng.uniform(size=(total, PLACEMENT_TRIES, 2))
    primaries = Crowd(xs, ys, radii)
    hosts = np.repeat(np.arange(len(xs)), counts)
    rows = []
    for k in range(total):
        kind = str(types[k])
        radius = float(props.at[k, "radius"] * synthetic.neighbour_size_scale)
        for u, w in tries[k]:
            dist, angle = d_min + u * (d_max - d_min), 2.0 * np.pi * w
            x = float(xs[hosts[k]] + dist * np.cos(angle))
            y = float(ys[hosts[k]] + dist * np.sin(angle))
            if not primaries.crowding(x, y, radius, separation).size:
                break
        p_sph, p_disk, p_irr = rng.uniform(0.0, 0.7, size=3)
        rows.append(
            {
                "id": first_id + k,
                "x": x,
                "y": y,
                "mag": float(mags[k]),
                "radius": radius,
                "z": float(props.at[k, "z"]),
                "type": kind,
                "p_sph": float(p_sph),
                "p_disk": float(p_disk),
                "p_irr": float(p_irr),
                "primary": False,
                **_shape_row(kind, rng),
            }
        )
    return rows


def _enclosed_exponential(x: np.ndarray) -> np.ndarray:
    """Flux fraction of a circular exponential within x half-light radii."""
    t = 1.678347 * x
    return 1.0 - (1.0 + t) * np.exp(-t)


def _enclosed_devaucouleurs(x: np.ndarray) -> np.ndarray:
    """Flux fraction of a circular de Vaucouleurs within x half-light radii (truncated)."""
    b = 7.669249

    def untruncated(v: np.ndarray) -> np.ndarray:
        return special.gammainc(8.0, b * np.power(v, 0.25))

    return np.minimum(untruncated(x), untruncated(DEVAUC_TRUNCATION)) / untruncated(
        DEVAUC_TRUNCATION
    )


@lru_cache(maxsize=4096)
def bulge_disc_hlr(bulge_fraction: float) -> float:
    """Half-light radius of a bulge+disc whose disc has half-light radius 1."""

    def excess(r: float) -> float:
        bulge = _enclosed_devaucouleurs(np.asarray(r / BULGE_TO_DISC_SIZE))
        return float(bulge_fraction * bulge + (1 - bulge_fraction) * _enclosed_exponential(r))

    return float(optimize.brentq(lambda r: excess(r) - 0.5, 1e-3, 10.0))


def inclination(q: float, thickness: float) -> float:
    """Inclination (degrees, 90 edge-on) at which an oblate body of intrinsic thickness C/A
    ``thickness`` shows the axis ratio ``q`` (the inverse of the sky's axis-ratio draw)."""
    cos2 = (q**2 - thickness**2) / (1.0 - thickness**2)
    return float(np.degrees(np.arccos(np.sqrt(np.clip(cos2, 0.0, 1.0)))))


def _clumps(row: pd.Series | dict, hlr: float, flux: float) -> galsim.GSObject | None:
    """The clumps of a disc (``knot_fraction`` of ``flux``) and its knotty arms
    (``arm_fraction``), face-on; None if it has neither."""
    parts = []
    rng = np.random.default_rng(int(row["knot_seed"]))
    f_knots, f_arms = float(row.get("knot_fraction", 0.0)), float(row.get("arm_fraction", 0.0))
    if f_knots > 0 and int(row.get("n_knots", 0)) > 0:
        parts.append(shapes.knots(int(row["n_knots"]), hlr, f_knots * flux, int(row["knot_seed"])))
    if f_arms > 0:
        points = shapes.spiral_arm_points(2, 12, 20.0, 0.4 * hlr, 2.2 * hlr, rng)
        clump = galsim.Gaussian(sigma=shapes.KNOT_SIGMA, flux=f_arms * flux / len(points))
        parts += [clump.shift(float(x), float(y)) for x, y in points]
    return galsim.Add(parts) if parts else None


def _realistic_disc(
    row: pd.Series | dict, hlr: float, flux: float, thickness: float
) -> galsim.GSObject:
    """An inclined thick exponential disc (semi-major half-light radius ``hlr``) with its
    clumps and arms projected on it, before the position angle."""
    q = float(row["q"])
    f_clumps = float(row.get("knot_fraction", 0.0)) + float(row.get("arm_fraction", 0.0))
    angle = inclination(q, thickness) * galsim.degrees
    disc = galsim.InclinedExponential(
        angle, half_light_radius=hlr, scale_h_over_r=thickness, flux=(1.0 - f_clumps) * flux
    )
    clumps = _clumps(row, hlr, flux)
    if clumps is None:
        return disc
    return disc + clumps.shear(q=max(q, 0.05), beta=0.0 * galsim.degrees)


def galaxy_profile(row: pd.Series | dict, pixel_scale: float) -> galsim.GSObject:
    """GalSim profile of one catalogue object (before the PSF), of total flux ``row['flux']``.

    ``radius`` is the half-light semi-major axis in pixels (GalSim's shear preserves area, so a
    circular half-light radius of R sqrt(q) sheared to q has semi-major axis R; an inclined
    disc keeps its face-on half-light radius R along its major axis).
    """
    hlr = float(row["radius"]) * pixel_scale * np.sqrt(float(row["q"]))
    flux = float(row["flux"])
    kind = row["type"]
    trunc = DEVAUC_TRUNCATION
    beta = float(row["beta"]) * galsim.degrees
    if row.get("realistic") and kind in ("disk", "sphd"):
        major = float(row["radius"]) * pixel_scale
        if kind == "disk":
            return _realistic_disc(row, major, flux, THICKNESS["disk"]).rotate(beta)
        bt = round(float(row["bulge_fraction"]), 3)
        disc_hlr = major / bulge_disc_hlr(bt)
        bulge_hlr = BULGE_TO_DISC_SIZE * disc_hlr * np.sqrt(float(row["q"]))
        bulge = galsim.DeVaucouleurs(
            half_light_radius=bulge_hlr, flux=bt * flux, trunc=trunc * bulge_hlr
        )
        disc = _realistic_disc(row, disc_hlr, (1 - bt) * flux, THICKNESS["disk"])
        return (bulge.shear(q=float(row["q"]), beta=0.0 * galsim.degrees) + disc).rotate(beta)
    if row.get("realistic") and kind == "irr" and float(row.get("knot_offset", 0.0)) > 0:
        rng = np.random.default_rng(int(row["knot_seed"]))
        gal = shapes.asymmetric_irregular(
            flux, hlr, 1.0, 0.0, float(row["knot_fraction"]), int(row["n_knots"]),
            float(row["knot_offset"]), rng,
        )  # fmt: skip
        return gal.shear(q=float(row["q"]), beta=beta)
    if kind == "sph":
        gal = galsim.DeVaucouleurs(half_light_radius=hlr, flux=flux, trunc=trunc * hlr)
    elif kind == "disk":
        gal = galsim.Exponential(half_light_radius=hlr, flux=flux)
    elif kind == "sphd":
        bt = round(float(row["bulge_fraction"]), 3)
        disc_hlr = hlr / bulge_disc_hlr(bt)
        bulge_hlr = BULGE_TO_DISC_SIZE * disc_hlr
        bulge = galsim.DeVaucouleurs(
            half_light_radius=bulge_hlr, flux=bt * flux, trunc=trunc * bulge_hlr
        )
        gal = bulge + galsim.Exponential(half_light_radius=disc_hlr, flux=(1 - bt) * flux)
    elif kind == "irr":
        f_knots = float(row["knot_fraction"])
        knots = galsim.RandomKnots(
            npoints=int(row["n_knots"]),
            half_light_radius=hlr,
            flux=f_knots * flux,
            rng=galsim.BaseDeviate(int(row["knot_seed"])),
        )
        gal = galsim.Exponential(half_light_radius=hlr, flux=(1 - f_knots) * flux) + knots
    else:
        raise InputError(None, f"unknown galaxy type '{kind}' (id {row['id']})")
    return gal.shear(q=float(row["q"]), beta=float(row["beta"]) * galsim.degrees)


def postage_stamp_size(row: pd.Series | dict) -> int:
    """Side (pixels, even) of the postage stamp an object is drawn into: out to the
    truncation of a de Vaucouleurs profile (types with a bulge) or 6 half-light radii of an
    exponential (99.97% of its light), plus a PSF margin, so that no wing ends at a cut."""
    bulgy = row["type"] in ("sph", "sphd")
    reach = (DEVAUC_TRUNCATION if bulgy else 6.0) * float(row["radius"])
    return int(np.clip(2 * (int(np.ceil(reach)) + 16), 48, MAX_POSTAGE_STAMP))


def draw_object(
    row: pd.Series | dict,
    psf: galsim.GSObject,
    method: str,
    scale: float,
    sky: SkySettings | Mapping | None = None,
):
    """One object convolved with the PSF in its postage stamp, summing exactly to its flux.

    A row with a ``cosmos_index`` (``sky`` given, its source ``cosmos``) is its real COSMOS
    galaxy (:func:`blendphot.sky.cosmos.cosmos_profile`). Returns (pixels float64, x0, y0):
    the stamp and the 0-based mosaic pixel of its corner.
    """
    size = postage_stamp_size(row)
    sky = None if sky is None else SkySettings.of(sky)
    if sky is not None and sky.is_cosmos and "cosmos_index" in row:
        from blendphot.sky.cosmos import cosmos_profile

        profile = cosmos_profile(row, sky)
    else:
        profile = galaxy_profile(row, scale)
    gal = galsim.Convolve(profile, psf)
    # GalSim images are 1-based: catalogue pixel (x, y) is GalSim position (x + 1, y + 1).
    centre = galsim.PositionD(float(row["x"]) + 1.0, float(row["y"]) + 1.0)
    image = gal.drawImage(
        nx=size, ny=size, scale=scale, center=centre, method=method, dtype=np.float64
    )
    pixels = image.array * (float(row["flux"]) / image.array.sum())
    return pixels, image.bounds.xmin - 1, image.bounds.ymin - 1


def add_stamp(canvas: np.ndarray, x0: int, y0: int, pixels: np.ndarray, cx: int, cy: int) -> None:
    """Add ``pixels`` (corner at mosaic pixel x0, y0) into ``canvas`` (corner at cx, cy)."""
    ny, nx = pixels.shape
    ax0, ay0 = max(x0, cx), max(y0, cy)
    ax1 = min(x0 + nx, cx + canvas.shape[1])
    ay1 = min(y0 + ny, cy + canvas.shape[0])
    if ax1 <= ax0 or ay1 <= ay0:
        return
    canvas[ay0 - cy : ay1 - cy, ax0 - cx : ax1 - cx] += pixels[
        ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0
    ]


def expected_objects(settings: SyntheticSettings | SkySettings | Mapping) -> float:
    """The expected number of objects of the synthetic sky: its galaxies and their
    neighbours (a Poisson mean per galaxy)."""
    synthetic = SyntheticSettings.of(settings)
    return synthetic.n_galaxies * (1.0 + synthetic.neighbours_per_galaxy)


def mosaic_shape(settings: SyntheticSettings | SkySettings | Mapping) -> tuple[int, int]:
    """(ny, nx) of the mosaic: a square grid of cells, one primary each; with ``placement:
    field``, the square that holds :func:`expected_objects` at ``field_density`` per
    arcmin^2."""
    synthetic = SyntheticSettings.of(settings)
    if synthetic.placement == "field":
        area = expected_objects(synthetic) / synthetic.field_density  # arcmin^2
        side = int(np.ceil(np.sqrt(area) * 60.0 / synthetic.pixel_scale))
        return side, side
    side = int(np.ceil(np.sqrt(synthetic.n_galaxies))) * synthetic.cell_size
    return side, side


def field_positions(
    n: int, settings: SyntheticSettings | SkySettings | Mapping, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of ``n`` objects placed uniformly at random over the field mosaic
    (:func:`mosaic_shape`), from their own branch of the seed (the other columns of the
    catalogue are those the isolated placement draws)."""
    ny, nx = mosaic_shape(settings)
    rng = np.random.default_rng([seed, STAGE_STREAM, FIELD_STREAM])
    return rng.uniform(0.0, nx - 1.0, size=n), rng.uniform(0.0, ny - 1.0, size=n)


def mosaic_noise(shape: tuple[int, int], sigma: float, seed: int) -> np.ndarray:
    """The white-noise field added to the mosaic (float32), reproducible from the seed."""
    rng = np.random.default_rng([seed, STAGE_STREAM, NOISE_STREAM])
    return rng.normal(0.0, sigma, size=shape).astype(np.float32)


def render_noiseless(catalog: pd.DataFrame, settings: SkySettings | Mapping) -> np.ndarray:
    """Every catalogue object, convolved with the sky's PSF, summed into one float64 image."""
    sky = SkySettings.of(settings)
    psf, method = make_psf(sky.psf)
    canvas = np.zeros(mosaic_shape(sky.synthetic), dtype=np.float64)
    for row in catalog.to_dict("records"):
        pixels, x0, y0 = draw_object(row, psf, method, sky.pixel_scale, sky)
        add_stamp(canvas, x0, y0, pixels, 0, 0)
    return canvas


def render_mosaic(catalog: pd.DataFrame, settings: SkySettings | Mapping, seed: int) -> np.ndarray:
    """The noiseless sky plus white noise of ``noise_sigma``, as float32."""
    sky = SkySettings.of(settings)
    pixels = render_noiseless(catalog, sky).astype(np.float32)
    return pixels + mosaic_noise(pixels.shape, sky.synthetic.noise_sigma, seed)


def render_truth_stamp(
    row: pd.Series | dict, settings: SkySettings | Mapping, x0: int, y0: int, size: int
) -> np.ndarray:
    """The noiseless image of one object alone on the size x size grid whose corner is (x0, y0).

    The pixels are those that went into the mosaic for this object (same drawing, same grid).
    """
    sky = SkySettings.of(settings)
    psf, method = make_psf(sky.psf)
    pixels, sx, sy = draw_object(row, psf, method, sky.pixel_scale, sky)
    canvas = np.zeros((size, size), dtype=np.float64)
    add_stamp(canvas, sx, sy, pixels, x0, y0)
    return canvas.astype(np.float32)


def mosaic_wcs(shape: tuple[int, int], pixel_scale: float) -> WCS:
    """A TAN WCS centred on GOODS-South with the given pixel scale (arcsec)."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [53.12, -27.81]
    wcs.wcs.crpix = [shape[1] / 2 + 0.5, shape[0] / 2 + 0.5]
    wcs.wcs.cdelt = [-pixel_scale / 3600.0, pixel_scale / 3600.0]
    return wcs


def make_synthetic_sky(
    settings: SkySettings | Mapping, seed: int, mosaic_path: Path, catalog_path: Path
) -> dict:
    """Draw a catalogue and a mosaic and write them (FITS image, FITS table). Returns counts."""
    sky = SkySettings.of(settings)
    catalog = draw_galaxy_catalog(sky, seed)
    if sky.is_cosmos:
        from blendphot.sky.cosmos import add_cosmos_columns

        catalog = add_cosmos_columns(catalog, sky.cosmos, seed)
    pixels = render_mosaic(catalog, sky, seed)
    wcs = mosaic_wcs(pixels.shape, sky.pixel_scale)
    ra, dec = wcs.all_pix2world(catalog["x"], catalog["y"], 0)
    catalog["ra"], catalog["dec"] = ra, dec
    header = wcs.to_header()
    header["BUNIT"] = ("ELECTRONS/S", "count rate")
    header["FILTER"] = ("F160W", "HST WFC3/IR filter emulated")
    header["MAGZERO"] = (sky.zeropoint, "AB zero point")
    header["NOISE"] = (sky.synthetic.noise_sigma, "white noise sigma per pixel")
    header["PSFMODEL"] = (sky.psf.psf_model, "PSF recipe (blendphot.sky.synthetic)")
    header["PSFFWHM"] = (round(psf_fwhm(sky.psf), 4), "PSF FWHM on this grid, arcsec")
    header["SEED"] = (seed, "master seed")
    header["SKYSRC"] = (sky.source, "blendphot sky: synthetic or cosmos")
    with atomic_path(mosaic_path) as tmp:
        fits.PrimaryHDU(data=pixels, header=header).writeto(tmp, overwrite=True)
    table = Table.from_pandas(catalog)
    table.meta["MAGZERO"] = sky.zeropoint
    with atomic_path(catalog_path) as tmp:
        table.write(tmp, format="fits", overwrite=True)
    counts = {
        "primaries": int(catalog["primary"].sum()),
        "neighbours": int((~catalog["primary"]).sum()),
        "shape": pixels.shape,
        "psf_fwhm_arcsec": header["PSFFWHM"],
    }
    log.info("synthetic sky: %s", counts)
    return counts
