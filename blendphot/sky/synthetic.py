"""A synthetic CANDELS-like F160W sky drawn with GalSim.

Bright "primary" galaxies of the paper's four morphological types sit on a jittered grid, each
with a few faint neighbours around it (so that the stamp cleaning has real work to do). The
mosaic carries a TAN WCS, the zero point and the noise level in its header; the catalogue keeps
the truth of every object.
"""

from __future__ import annotations

import logging
from pathlib import Path

import galsim
import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from blendphot.errors import InputError
from blendphot.io import atomic_path

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

# Radius (semi-major axis, pixels) per type: median and log-normal width, from the quartiles of
# the paper's released test catalogue (../shared/reference/simulation.md).
RADIUS_MEDIAN = {"sph": 2.3, "disk": 8.6, "sphd": 5.9, "irr": 8.0}
RADIUS_LOG_SIGMA = {"sph": 0.45, "disk": 0.36, "sphd": 0.47, "irr": 0.45}
# Intrinsic thickness C/A used to turn a random inclination into an axis ratio.
THICKNESS = {"sph": 0.45, "disk": 0.25, "sphd": 0.35, "irr": 0.3}
STAGE_STREAM = 1  # this stage's branch of the master seed


def _probabilities(galaxy_type: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """Morphology probabilities (P_SPH, P_DISK, P_IRR) consistent with a type."""
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


def _magnitudes(n: int, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitudes drawn from counts rising as 10**(0.3 m) between ``low`` and ``high``."""
    slope = 0.3 * np.log(10.0)
    u = rng.uniform(size=n)
    a, b = np.exp(slope * low), np.exp(slope * high)
    return np.log(a + u * (b - a)) / slope


def draw_galaxy_catalog(params: dict, seed: int) -> pd.DataFrame:
    """Draw the catalogue of primaries and neighbours (truth, before any measurement)."""
    rng = np.random.default_rng([seed, STAGE_STREAM])
    n = params["n_galaxies"]
    cell = params["cell_size"]
    side = int(np.ceil(np.sqrt(n)))
    fractions = np.array([params["type_fractions"][t] for t in GALAXY_TYPES], dtype=float)
    if fractions.sum() <= 0:
        raise InputError(None, "sky.type_fractions must not all be zero")
    types = rng.choice(GALAXY_TYPES, size=n, p=fractions / fractions.sum())
    mags = _magnitudes(n, *params["mag_range"], rng)
    jitter = rng.uniform(-0.1 * cell, 0.1 * cell, size=(n, 2))
    cells = np.arange(n)
    xs = (cells % side + 0.5) * cell + jitter[:, 0]
    ys = (cells // side + 0.5) * cell + jitter[:, 1]
    rows = []
    for i in range(n):
        t = str(types[i])
        rows.append(_row(i + 1, xs[i], ys[i], mags[i], t, True, rng))
    next_id = n + 1
    n_neighbours = rng.poisson(params["neighbours_per_galaxy"], size=n)
    for i in range(n):
        for _ in range(n_neighbours[i]):
            dist = rng.uniform(22.0, 0.45 * cell)
            angle = rng.uniform(0, 2 * np.pi)
            mag = float(_magnitudes(1, *params["neighbour_mag_range"], rng)[0])
            t = str(rng.choice(GALAXY_TYPES))
            x, y = xs[i] + dist * np.cos(angle), ys[i] + dist * np.sin(angle)
            rows.append(_row(next_id, x, y, mag, t, False, rng, radius_scale=0.5))
            next_id += 1
    catalog = pd.DataFrame(rows)
    catalog["flux"] = 10.0 ** (-0.4 * (catalog["mag"] - params["zeropoint"]))
    return catalog


def _row(
    ident: int,
    x: float,
    y: float,
    mag: float,
    galaxy_type: str,
    primary: bool,
    rng: np.random.Generator,
    radius_scale: float = 1.0,
) -> dict:
    """One catalogue row with the shape parameters needed to draw it."""
    radius = RADIUS_MEDIAN[galaxy_type] * np.exp(RADIUS_LOG_SIGMA[galaxy_type] * rng.normal())
    radius = float(np.clip(radius * radius_scale, 1.0, 25.0))
    p_sph, p_disk, p_irr = _probabilities(galaxy_type, rng)
    if not primary:  # neighbours get ambiguous morphologies
        p_sph, p_disk, p_irr = rng.uniform(0.0, 0.7, size=3)
    return {
        "id": ident,
        "x": float(x),
        "y": float(y),
        "mag": float(mag),
        "radius": radius,
        "z": float(rng.uniform(0.03, 1.5)),
        "type": galaxy_type,
        "p_sph": float(p_sph),
        "p_disk": float(p_disk),
        "p_irr": float(p_irr),
        "primary": primary,
        "q": _axis_ratio(galaxy_type, rng),
        "beta": float(rng.uniform(0, 180)),
        "bulge_fraction": float(rng.uniform(0.2, 0.6)),
        "n_knots": int(rng.integers(10, 30)),
    }


def galaxy_profile(row: pd.Series, pixel_scale: float, flux: float, seed: int) -> galsim.GSObject:
    """GalSim profile of one catalogue galaxy (before the PSF)."""
    # GalSim's shear preserves area: a circular hlr of R*sqrt(q) gives a semi-major axis of R.
    hlr = row["radius"] * pixel_scale * np.sqrt(row["q"])
    kind = row["type"]
    if kind == "sph":
        gal = galsim.DeVaucouleurs(half_light_radius=hlr, flux=flux)
    elif kind == "disk":
        gal = galsim.Exponential(half_light_radius=hlr, flux=flux)
    elif kind == "sphd":
        bt = row["bulge_fraction"]
        bulge = galsim.DeVaucouleurs(half_light_radius=0.5 * hlr, flux=bt * flux)
        gal = bulge + galsim.Exponential(half_light_radius=hlr, flux=(1 - bt) * flux)
    else:
        knots = galsim.RandomKnots(
            npoints=int(row["n_knots"]),
            half_light_radius=hlr,
            flux=0.4 * flux,
            rng=galsim.BaseDeviate(seed),
        )
        gal = galsim.Exponential(half_light_radius=hlr, flux=0.6 * flux) + knots
    return gal.shear(q=row["q"], beta=row["beta"] * galsim.degrees)


def render_mosaic(catalog: pd.DataFrame, params: dict, seed: int) -> np.ndarray:
    """Draw every catalogue object, convolved with the PSF, plus white noise, into one image."""
    cell = params["cell_size"]
    side = int(np.ceil(np.sqrt(params["n_galaxies"])))
    shape = (side * cell, side * cell)
    scale = params["pixel_scale"]
    image = galsim.ImageF(shape[1], shape[0], scale=scale)
    psf = galsim.Gaussian(fwhm=params["psf_fwhm"])
    for i, (_, row) in enumerate(catalog.iterrows()):
        gal = galsim.Convolve(galaxy_profile(row, scale, row["flux"], seed * 100003 + i), psf)
        size = int(min(256, max(64, 2 * round(12 * row["radius"] / 2))))
        # GalSim images are 1-based: catalogue pixel (x, y) is GalSim position (x + 1, y + 1).
        centre = galsim.PositionD(row["x"] + 1.0, row["y"] + 1.0)
        stamp = gal.drawImage(nx=size, ny=size, scale=scale, center=centre, method="no_pixel")
        overlap = stamp.bounds & image.bounds
        if overlap.isDefined():
            image[overlap] += stamp[overlap]
    pixels = image.array.astype(np.float32)
    rng = np.random.default_rng([seed, STAGE_STREAM, 1])
    pixels += rng.normal(0.0, params["noise_sigma"], size=pixels.shape).astype(np.float32)
    return pixels


def mosaic_wcs(shape: tuple[int, int], pixel_scale: float) -> WCS:
    """A TAN WCS centred on GOODS-South with the given pixel scale (arcsec)."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [53.12, -27.81]
    wcs.wcs.crpix = [shape[1] / 2 + 0.5, shape[0] / 2 + 0.5]
    wcs.wcs.cdelt = [-pixel_scale / 3600.0, pixel_scale / 3600.0]
    return wcs


def make_synthetic_sky(params: dict, seed: int, mosaic_path: Path, catalog_path: Path) -> dict:
    """Draw a catalogue and a mosaic and write them (FITS image, FITS table). Returns counts."""
    catalog = draw_galaxy_catalog(params, seed)
    pixels = render_mosaic(catalog, params, seed)
    wcs = mosaic_wcs(pixels.shape, params["pixel_scale"])
    ra, dec = wcs.all_pix2world(catalog["x"], catalog["y"], 0)
    catalog["ra"], catalog["dec"] = ra, dec
    header = wcs.to_header()
    header["BUNIT"] = ("ELECTRONS/S", "count rate")
    header["FILTER"] = ("F160W", "HST WFC3/IR filter emulated")
    header["MAGZERO"] = (params["zeropoint"], "AB zero point")
    header["NOISE"] = (params["noise_sigma"], "white noise sigma per pixel")
    header["PSFFWHM"] = (params["psf_fwhm"], "PSF FWHM, arcsec")
    header["SEED"] = (seed, "master seed")
    with atomic_path(mosaic_path) as tmp:
        fits.PrimaryHDU(data=pixels, header=header).writeto(tmp, overwrite=True)
    table = Table.from_pandas(catalog[list(CATALOG_COLUMNS)])
    table.meta["MAGZERO"] = params["zeropoint"]
    with atomic_path(catalog_path) as tmp:
        table.write(tmp, format="fits", overwrite=True)
    counts = {
        "primaries": int(catalog["primary"].sum()),
        "neighbours": int((~catalog["primary"]).sum()),
        "shape": pixels.shape,
    }
    log.info("synthetic sky: %s", counts)
    return counts


def read_mosaic(path: str | Path) -> tuple[np.ndarray, fits.Header]:
    """Read a FITS mosaic (first HDU holding a 2-D image) as native-endian float32."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "mosaic does not exist")
    try:
        with fits.open(path) as hdul:
            for hdu in hdul:
                if hdu.data is not None and hdu.data.ndim == 2:
                    return np.ascontiguousarray(hdu.data, dtype=np.float32), hdu.header
    except OSError as exc:
        raise InputError(path, f"not a readable FITS file ({exc})") from exc
    raise InputError(path, "no 2-D image HDU found")


def read_catalog(path: str | Path) -> pd.DataFrame:
    """Read a catalogue (FITS or CSV) and check the contract: columns, unique ids, finite mags."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "catalogue does not exist")
    try:
        if path.suffix.lower() == ".csv":
            catalog = pd.read_csv(path)
        else:
            catalog = Table.read(path).to_pandas()
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file
        raise InputError(path, f"cannot read catalogue ({exc})") from exc
    required = ["id", "x", "y", "mag", "flux", "radius", "z", "type", "p_sph", "p_disk", "p_irr"]
    missing = [c for c in required if c not in catalog.columns]
    if missing:
        raise InputError(path, f"catalogue is missing column(s): {', '.join(missing)}")
    if catalog["id"].duplicated().any():
        dup = catalog.loc[catalog["id"].duplicated(), "id"].iloc[0]
        raise InputError(path, f"duplicate id {dup} in catalogue")
    bad = ~np.isfinite(catalog["mag"].to_numpy(dtype=float))
    if bad.any():
        raise InputError(
            path, f"{bad.sum()} NaN/infinite magnitude(s), first id {catalog['id'][bad].iloc[0]}"
        )
    if catalog["type"].dtype.kind in "SO":
        catalog["type"] = catalog["type"].map(
            lambda v: v.decode() if isinstance(v, bytes) else str(v)
        )
    return catalog
