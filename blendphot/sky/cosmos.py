"""A sky of real HST galaxies: GalSim's COSMOS training sample re-rendered as F160W-like.

``sky.source: cosmos`` draws the same catalogue as the synthetic sky (positions, calibrated
magnitudes, radii, redshifts and types, neighbours), then gives each object a real galaxy of
the COSMOS sample (``galsim.COSMOSCatalog``, the 23.5 or 25.2 sample that
``galsim_download_cosmos -s 25.2 -d DIR`` downloads): the HST F814W image deconvolved from its
PSF (``gal_type='real'``), rotated by the object's angle, dilated so that its half-light radius
(the sample's Sersic fit) is the catalogue's, scaled to the catalogue's flux, convolved with the
configured PSF and drawn on the 0.06"/px grid with the configured noise. Which COSMOS galaxy
an object gets is drawn by type from the Sersic index of its fit (bulges n >= 2.5,
bulge+discs 1.5 <= n < 2.5, discs and irregulars n < 1.5), reproducibly from the seed.

The COSMOS galaxies carry their own (small, now smoothed) HST noise; the configured white noise
is added on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from blendphot.errors import ConfigError
from blendphot.sky.settings import CosmosSettings, SkySettings

if TYPE_CHECKING:
    import galsim

COSMOS_STREAM = 3  # branch of the sky's seed that picks the COSMOS galaxies
SERSIC_POOLS = {"sph": (2.5, np.inf), "sphd": (1.5, 2.5), "disk": (0.0, 1.5), "irr": (0.0, 1.5)}
"""Type -> range of the COSMOS Sersic index its galaxies are drawn from."""
DOWNLOAD_HINT = (
    "download the sample with GalSim's own downloader: `galsim_download_cosmos -s {sample} "
    "-d {parent}` (about 6 GB for 25.2), then set sky.cosmos.dir to {parent}/COSMOS_{sample}"
    "_training_sample"
)


def catalog_files(directory: Path, sample: str) -> dict[str, Path]:
    """The three catalogue files GalSim reads from a COSMOS sample directory."""
    stem = f"real_galaxy_catalog_{sample}"
    return {
        "catalog": directory / f"{stem}.fits",
        "fits": directory / f"{stem}_fits.fits",
        "selection": directory / f"{stem}_selection.fits",
    }


def check_cosmos_dir(settings: CosmosSettings | Mapping) -> None:
    """Fail (ConfigError) unless ``sky.cosmos.dir`` holds a complete COSMOS sample: the three
    catalogue files and every image file the catalogue names. Runs at config time
    (``settings``: the ``sky.cosmos`` section, or its :class:`CosmosSettings`)."""
    from astropy.io import fits

    cosmos = CosmosSettings.of(settings)
    directory, sample = Path(cosmos.dir), cosmos.sample
    hint = DOWNLOAD_HINT.format(sample=sample, parent=directory.parent)
    where = f"sky.cosmos.dir ({directory})"
    if not directory.is_dir():
        raise ConfigError(None, f"{where} does not exist: {hint}")
    files = catalog_files(directory, sample)
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        raise ConfigError(None, f"{where} lacks {', '.join(missing)}: {hint}")
    try:
        with fits.open(files["catalog"]) as hdul:
            table = hdul[1].data
            names = {str(n) for c in ("gal_filename", "PSF_filename") for n in table[c]}
    except (OSError, KeyError, IndexError) as exc:
        problem = f"{files['catalog']} is not a COSMOS catalogue ({exc}): {hint}"
        raise ConfigError(None, problem) from exc
    absent = sorted(n for n in names if not (directory / n.strip()).is_file())
    if absent:
        shown = ", ".join(absent[:3]) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
        raise ConfigError(None, f"{where} is incomplete: image file(s) {shown} missing: {hint}")


@lru_cache(maxsize=2)
def open_cosmos(directory: str, sample: str, exclusion_level: str) -> galsim.COSMOSCatalog:
    """The COSMOS catalogue (cached: the sky and the stamps stage redraw galaxies from it)."""
    import galsim

    name = catalog_files(Path(directory), sample)["catalog"].name
    return galsim.COSMOSCatalog(
        file_name=name, dir=directory, exclusion_level=exclusion_level, use_real=True
    )


def cosmos_of(settings: CosmosSettings | SkySettings | Mapping) -> galsim.COSMOSCatalog:
    """The configured COSMOS catalogue (``settings``: the sky's, or its ``cosmos`` part)."""
    cosmos = CosmosSettings.of(settings)
    return open_cosmos(cosmos.dir, cosmos.sample, cosmos.exclusion_level)


def sersic_index(cosmos: galsim.COSMOSCatalog) -> np.ndarray:
    """Sersic index of each usable galaxy (in the catalogue's own order of usable objects)."""
    return np.array([cosmos.getValue("sersicfit", i)[2] for i in range(cosmos.nobjects)])


def assign_cosmos(types: np.ndarray, cosmos: galsim.COSMOSCatalog, seed: int) -> np.ndarray:
    """For each object, the index of a usable COSMOS galaxy of its type (by Sersic index;
    the whole sample where a type's range holds none)."""
    rng = np.random.default_rng([seed, COSMOS_STREAM])
    n = sersic_index(cosmos)
    out = np.empty(len(types), dtype=np.int64)
    for kind, (low, high) in SERSIC_POOLS.items():
        rows = np.flatnonzero(types == kind)
        pool = np.flatnonzero((n >= low) & (n < high))
        pool = pool if pool.size else np.arange(len(n))
        out[rows] = pool[rng.integers(0, pool.size, rows.size)]
    return out


def add_cosmos_columns(
    catalog: pd.DataFrame, settings: CosmosSettings | SkySettings | Mapping, seed: int
) -> pd.DataFrame:
    """The catalogue with ``cosmos_index`` (usable-object index) and ``cosmos_ident``."""
    cosmos = cosmos_of(settings)
    index = assign_cosmos(catalog["type"].to_numpy(), cosmos, seed)
    catalog["cosmos_index"] = index
    idents = cosmos.real_cat.ident
    catalog["cosmos_ident"] = [str(idents[cosmos.getOrigIndex(int(i))]) for i in index]
    return catalog


def cosmos_profile(row: pd.Series | dict, settings: SkySettings | Mapping) -> galsim.GSObject:
    """The row's COSMOS galaxy (deconvolved from the HST PSF), rotated by ``beta``, dilated to
    the catalogue's half-light radius (on the sky's pixel scale) and scaled to its flux
    (before the PSF)."""
    import galsim

    sky = SkySettings.of(settings)
    cosmos = cosmos_of(sky.cosmos)
    index = int(row["cosmos_index"])
    gal = cosmos.makeGalaxy(index, gal_type="real", noise_pad_size=0)
    hlr = float(cosmos.getValue("hlr", index)[0])
    target = float(row["radius"]) * sky.pixel_scale
    gal = gal.rotate(float(row["beta"]) * galsim.degrees).dilate(target / max(hlr, 1e-3))
    return gal.withFlux(float(row["flux"]))


HST_SCALE = 0.03  # arcsec: the COSMOS images' pixels


def write_cosmos_sample(directory: Path, n: int = 12, seed: int = 4) -> Path:
    """A COSMOS-format sample of ``n`` galaxies (Sersic n from 0.8 to 4, 96 x 96 pixels of
    0.03") drawn with GalSim, in the files and columns ``galsim_download_cosmos`` unpacks and
    ``galsim.COSMOSCatalog`` reads (tests and benchmarks; no real galaxy in it)."""
    import galsim
    from astropy.io import fits
    from astropy.table import Table

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    psf = galsim.Airy(lam=814.0, diam=2.4, obscuration=0.33, scale_unit=galsim.arcsec)
    psf_image = psf.drawImage(nx=41, ny=41, scale=HST_SCALE).array.astype(np.float32)
    indices = np.resize([0.8, 1.0, 1.2, 1.0, 1.8, 2.0, 2.6, 3.0, 3.5, 4.0, 3.0, 4.0], n)
    gal_hdus, psf_hdus, hlrs = [fits.PrimaryHDU()], [fits.PrimaryHDU()], []
    for k in range(n):
        hlr = float(rng.uniform(0.2, 0.5))
        gal = galsim.Sersic(n=float(indices[k]), half_light_radius=hlr, flux=50.0)
        gal = gal.shear(
            q=float(rng.uniform(0.4, 1.0)), beta=float(rng.uniform(0, 180)) * galsim.degrees
        )
        image = galsim.Convolve(gal, psf).drawImage(nx=96, ny=96, scale=HST_SCALE).array
        image = image + rng.normal(0.0, 1e-3, image.shape)
        gal_hdus.append(fits.ImageHDU(image.astype(np.float32)))
        psf_hdus.append(fits.ImageHDU(psf_image))
        hlrs.append(hlr)
    fits.HDUList(gal_hdus).writeto(directory / "real_galaxy_images_25.2_n1.fits")
    fits.HDUList(psf_hdus).writeto(directory / "real_galaxy_PSF_images_25.2_n1.fits")
    rows = np.arange(n)
    Table(
        {
            "ident": 100000 + rows,
            "RA": np.full(n, 150.1),
            "DEC": np.full(n, 2.2),
            "mag": np.full(n, 22.0),
            "band": np.array(["F814W"] * n),
            "weight": np.ones(n),
            "gal_filename": np.array(["real_galaxy_images_25.2_n1.fits"] * n),
            "PSF_filename": np.array(["real_galaxy_PSF_images_25.2_n1.fits"] * n),
            "gal_hdu": rows + 1,
            "PSF_hdu": rows + 1,
            "pixel_scale": np.full(n, HST_SCALE),
            "noise_mean": np.zeros(n),
            "noise_variance": np.full(n, 1e-6),
            "stamp_flux": np.full(n, 50.0),
        }
    ).write(directory / "real_galaxy_catalog_25.2.fits")
    sersic = np.zeros((n, 8))
    sersic[:, 1], sersic[:, 2], sersic[:, 3] = hlrs, indices, 0.8
    hlr = np.column_stack([hlrs, hlrs, hlrs])
    Table(
        {
            "IDENT": 100000 + rows,
            "mag_auto": np.full(n, 22.0),
            "flux_radius": np.full(n, 10.0),
            "zphot": np.full(n, 0.8),
            "sersicfit": sersic,
            "bulgefit": np.zeros((n, 16)),
            "fit_status": np.ones((n, 5), dtype=np.int32),
            "fit_mad_s": np.zeros(n),
            "fit_mad_b": np.zeros(n),
            "fit_dvc_btt": np.zeros(n),
            "use_bulgefit": np.zeros(n, dtype=np.int32),
            "viable_sersic": np.ones(n, dtype=np.int32),
            "hlr": hlr,
            "flux": np.full((n, 3), 50.0),
        }
    ).write(directory / "real_galaxy_catalog_25.2_fits.fits")
    Table(
        {
            "IDENT": 100000 + rows,
            "dmag": np.zeros(n),
            "sn_ellip_gauss": np.full(n, 100.0),
            "min_mask_dist_pixels": np.full(n, 50.0),
            "average_mask_adjacent_pixel_count": np.zeros(n),
            "peak_image_pixel_count": np.ones(n),
        }
    ).write(directory / "real_galaxy_catalog_25.2_selection.fits")
    return directory
