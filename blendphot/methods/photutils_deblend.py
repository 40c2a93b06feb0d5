"""A classical deblender as a method of one's own: photutils' segmentation deblending.

photutils (the astropy-affiliated photometry package) answers SExtractor's deblending with
``detect_sources`` (pixels above a threshold on the smoothed image, connected), then
``deblend_sources`` (multi-thresholding plus watershed, SExtractor's contrast criterion) and
``SourceCatalog`` (each segment's flux and its error from the pixel noise). Here each
segment found is associated with the blend's galaxies at their true positions (the rule of
the sep baseline's association of 2 to K galaxies: one-to-one, nearest first, within
max(3 px, the galaxy's radius)); a galaxy with no segment is not found (NaN flux).

It is the shipped example of a method as an extra rule (docs/extending.md): it reads a
blend set, writes a predictions file in the layout of :mod:`blendphot.contracts`, and is run
by its own rule file (``workflow/methods/photutils.smk``) in its own env
(``envs/photutils.yaml``)::

    python -m blendphot.methods.photutils_deblend results/demo/blends/test.h5 \\
        results/demo/predictions/photutils.h5 --name photutils
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

NOISE_MODES = ("known", "background")


@dataclass(frozen=True)
class PhotutilsSettings:
    """The deblender's settings (``methods.photutils.settings`` in the config).

    ``thresh``: detection threshold in units of the blend's pixel noise; ``n_pixels``: the
    least connected pixels of a source (detection and deblended segments); ``kernel_fwhm``:
    FWHM (pixels) of the Gaussian the image is smoothed with before detection (0: none);
    ``n_levels`` and ``contrast``: the multi-thresholding deblending (SExtractor's
    DEBLEND_NTHRESH and DEBLEND_MINCONT); ``mode``: spacing of its levels; ``noise``:
    ``known`` (the set's noise attribute, sqrt(n) times for a blend of n stamps) or
    ``background`` (the sigma-clipped standard deviation of each blend)."""

    thresh: float = 1.5
    n_pixels: int = 10
    kernel_fwhm: float = 3.0
    n_levels: int = 32
    contrast: float = 0.001
    mode: str = "exponential"
    noise: str = "known"

    def __post_init__(self):
        if self.noise not in NOISE_MODES:
            raise ValueError(f"noise '{self.noise}' is not one of {', '.join(NOISE_MODES)}")


def smoothing_kernel(fwhm: float):
    """The Gaussian detection kernel of FWHM ``fwhm`` pixels (None for 0: no smoothing)."""
    from photutils.segmentation import make_2dgaussian_kernel

    if fwhm <= 0:
        return None
    size = 2 * math.ceil(2 * fwhm) + 1
    return make_2dgaussian_kernel(fwhm, size=size)


def segments(image: np.ndarray, noise: float, settings: PhotutilsSettings, kernel=None):
    """The deblended segments of one blend: a DataFrame of x, y (centroids), flux and
    flux_err (the segment's sum and its error from the pixel noise), one row per segment."""
    from astropy.convolution import convolve
    from photutils.segmentation import SourceCatalog, deblend_sources, detect_sources

    empty = pd.DataFrame({c: np.zeros(0) for c in ("x", "y", "flux", "flux_err")})
    smoothed = image if kernel is None else convolve(image, kernel)
    segm = detect_sources(smoothed, settings.thresh * noise, settings.n_pixels)
    if segm is None:
        return empty
    segm = deblend_sources(
        smoothed,
        segm,
        settings.n_pixels,
        n_levels=settings.n_levels,
        contrast=settings.contrast,
        mode=settings.mode,
        progress_bar=False,
    )
    cat = SourceCatalog(
        image, segm, convolved_data=smoothed, error=np.full(image.shape, float(noise))
    )
    return pd.DataFrame(
        {
            "x": np.asarray(cat.x_centroid, float),
            "y": np.asarray(cat.y_centroid, float),
            "flux": np.asarray(cat.segment_flux, float),
            "flux_err": np.asarray(cat.segment_flux_err, float),
        }
    )


def blend_noise(image: np.ndarray, known: float | None, n: int, mode: str) -> float:
    """The pixel noise of a blend of ``n`` stamps: sqrt(n) x the set's ``known`` level, or
    the sigma-clipped standard deviation of the blend (``background``, or no known level)."""
    from astropy.stats import sigma_clipped_stats

    if mode == "known" and known is not None and math.isfinite(known) and known > 0:
        return float(known) * math.sqrt(n)
    return float(sigma_clipped_stats(image, sigma=3.0, maxiters=5)[2])


def measure_blend(
    image: np.ndarray,
    noise: float,
    positions: np.ndarray,
    radii: np.ndarray,
    settings: PhotutilsSettings,
    kernel=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flux, flux_err, found) of the ``n`` galaxies at ``positions`` (n, 2: x, y) of radii
    ``radii`` (n,) on one blend: each one's associated segment, NaN where none was found."""
    from blendphot.baseline.sep_photometry import match_members, member_gates

    found = segments(image, noise, settings, kernel)
    match = match_members(found, positions, member_gates(radii))
    hit = match >= 0
    flux = np.full(len(match), np.nan)
    err = np.full(len(match), np.nan)
    flux[hit] = found["flux"].to_numpy()[match[hit]]
    err[hit] = found["flux_err"].to_numpy()[match[hit]]
    return flux, err, hit


def measure_set(blend_path: Path, settings: PhotutilsSettings) -> dict[str, np.ndarray]:
    """Every blend of a set: ``id`` (N,), ``flux``, ``flux_err`` (N, K; NaN in absent slots
    and for galaxies not found), ``found`` (N, K) and ``skipped`` (N,: blends with
    non-finite pixels, not measured)."""
    from blendphot.baseline.run import member_positions
    from blendphot.blends import open_blend_set
    from blendphot.blends.layout import galaxy_counts, slot_count, slot_prefix
    from blendphot.io import read_table

    kernel = smoothing_kernel(settings.kernel_fwhm)
    with open_blend_set(blend_path) as h5:
        n, size = h5["blend"].shape[0], h5["blend"].shape[-1]
        k = slot_count(h5)
        table = read_table(h5["table"])
        counts = galaxy_counts(h5, slice(0, n))
        known = h5.attrs.get("noise")
        known = None if known is None else float(known)
        positions = member_positions(table, k, size // 2)
        radii = table[[f"{slot_prefix(s)}_rad" for s in range(k)]].to_numpy(float)
        flux, err = np.full((n, k), np.nan), np.full((n, k), np.nan)
        found = np.zeros((n, k), dtype=bool)
        skipped = np.zeros(n, dtype=bool)
        for first in range(0, n, 256):
            blends = h5["blend"][first : first + 256].astype(np.float64)
            for i, image in enumerate(blends):
                row, c = first + i, int(counts[first + i])
                if not np.isfinite(image).all():
                    skipped[row] = True
                    continue
                noise = blend_noise(image, known, c, settings.noise)
                f, e, hit = measure_blend(
                    image, noise, positions[row, :c], radii[row, :c], settings, kernel
                )
                flux[row, :c], err[row, :c], found[row, :c] = f, e, hit
    return {
        "id": table["id"].to_numpy(),
        "flux": flux,
        "flux_err": err,
        "found": found,
        "skipped": skipped,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: the blend set, the predictions file, the method's name, settings."""
    default = PhotutilsSettings()
    parser = argparse.ArgumentParser(
        prog="python -m blendphot.methods.photutils_deblend",
        description="photutils segmentation deblending of a blend set, written as a "
        "predictions file (blendphot.contracts).",
    )
    parser.add_argument(
        "blends", type=Path, help="blend set (HDF5), e.g. results/demo/blends/test.h5"
    )
    parser.add_argument("predictions", type=Path, help="predictions file to write (HDF5)")
    parser.add_argument("--name", default="photutils", help="the method's configured name")
    parser.add_argument("--thresh", type=float, default=default.thresh)
    parser.add_argument("--n-pixels", type=int, default=default.n_pixels)
    parser.add_argument("--kernel-fwhm", type=float, default=default.kernel_fwhm)
    parser.add_argument("--n-levels", type=int, default=default.n_levels)
    parser.add_argument("--contrast", type=float, default=default.contrast)
    parser.add_argument("--mode", default=default.mode, choices=("exponential", "linear", "sinh"))
    parser.add_argument("--noise", default=default.noise, choices=NOISE_MODES)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure a blend set and write its predictions; one line on stderr for bad input."""
    from blendphot.contracts import write_prediction_file
    from blendphot.errors import InputError

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = PhotutilsSettings(
        args.thresh, args.n_pixels, args.kernel_fwhm, args.n_levels, args.contrast, args.mode,
        args.noise,
    )  # fmt: skip
    try:
        result = measure_set(args.blends, settings)
        write_prediction_file(
            args.predictions,
            result["id"],
            args.name,
            flux=result["flux"],
            flux_err=result["flux_err"],
            found=result["found"],
            skipped=result["skipped"],
        )
    except InputError as exc:
        print(f"{parser_name()}: error: {exc}", file=sys.stderr)
        return 1
    found = result["found"]
    log.info(
        "%s: %d blends, %d skipped; galaxies found per slot: %s",
        args.name, len(found), int(result["skipped"].sum()),
        ", ".join(f"{100 * found[:, k].mean():.1f}%" for k in range(found.shape[1])),
    )  # fmt: skip
    return 0


def parser_name() -> str:
    """How the command names itself in an error line."""
    return "blendphot.methods.photutils_deblend"


if __name__ == "__main__":
    sys.exit(main())
