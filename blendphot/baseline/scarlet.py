"""A model-based deblender beside sep: scarlet2 (JAX) fits of every test blend.

Each source is a scarlet2 ``Source`` with a Sersic morphology (amplitude, centre, size,
index, ellipticity free) seen through the blend's PSF, fitted to the blend with inverse
variance weights from the stamp noise. The sources start where sep found the galaxies (the
baseline's cold/hot passes and its association, :func:`detect_blend`), so a galaxy sep misses
is missing here too; ``oracle_positions`` starts both at their true centres instead.

scarlet2's ``Scene.fit`` builds its optimiser inside every call, so JAX compiles its step
anew for each blend (about 2 s on a CPU); the loop here is the same Adam descent on
scarlet2's own model and likelihood, written as one ``jax.lax.while_loop`` that compiles once
per number of sources and is reused for every blend of a shard.

Convergence: the fit stops when -log L has not improved by ``tolerance`` for ``patience``
steps (it keeps the best parameters); a fit still improving at ``max_iter`` has not converged.
Flux of a source: the amplitude of its fitted, PSF-convolved model as a unit-flux template
over the stamp (as the truth is summed), solved by weighted least squares for all sources
together at the fitted shapes (scarlet2's forced photometry).
scarlet2's fit gives no uncertainty; ``err_*`` is the amplitude-only Fisher error of that
flux with the fitted shapes held fixed (a lower bound).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.baseline.run import (
    ESTIMATORS,
    TABLE_NEEDS,
    _known_noise,
    flux_errors,
    join_shards,
    set_shard_rows,
)
from blendphot.baseline.sep_photometry import detect_blend, run_limits, sep_limits, stamp_noise
from blendphot.baseline.settings import ScarletSettings
from blendphot.blends import open_blend_set
from blendphot.blends.layout import slot_count
from blendphot.errors import InputError
from blendphot.io import read_table, write_csv

log = logging.getLogger(__name__)

COLUMNS = (
    "id",
    "flux_central",
    "flux_companion",
    "err_central",
    "err_companion",
    "converged",
    "iterations",
    "n_sources",
    "detection",
    "pass",
    "status",
)
"""``scarlet.csv``: fluxes (NaN: not found or failed), their amplitude-only errors, whether
the fit converged before ``max_iter``, its iterations, the sources modelled, sep's
detection code and pass, and ``status`` (ok, not_converged, failed, not_found). A blend that
failed or did not converge keeps NaN fluxes (never 0)."""
STATUSES = ("ok", "not_converged", "failed", "not_found")

# Adam steps in the unconstrained parameters: log amplitude, centre (pixels), log size,
# Sersic index (through its interval's bijection), ellipticity components.
STEPS = {"amplitude": 0.03, "center": 0.1, "size": 0.03, "n": 0.05, "ellipticity": 0.02}
SERSIC_N = (0.4, 6.0)  # the index's interval
ELLIPTICITY_MAX = 0.9
START = {"size": 2.0, "n": 1.0}  # pixels, index of the starting profile
PSF_SIZE = 41  # pixels, side of the PSF image (2.5 arcsec at 0.06 arcsec per pixel)


def configure_jax(threads: int = 1) -> None:
    """JAX on the CPU (single precision, its default), its XLA thread pool at ``threads`` (a
    shard is one core). Takes effect only before jax is first imported."""
    import os

    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_cpu_multi_thread_eigen=false "
            f"intra_op_parallelism_threads={int(threads)}"
        ).strip()


def gaussian_psf(fwhm_pixels: float, size: int = 41) -> np.ndarray:
    """A normalised circular Gaussian PSF image (odd ``size``) of this FWHM in pixels."""
    sigma = fwhm_pixels / (2 * math.sqrt(2 * math.log(2)))
    r = np.arange(size) - size // 2
    image = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return image / image.sum()


def check_psf(psf: np.ndarray, path: str | Path | None = None) -> np.ndarray:
    """A PSF image checked (2-D, odd square, finite, positive sum) and normalised to 1."""
    psf = np.asarray(psf, dtype=np.float64)
    if psf.ndim != 2 or psf.shape[0] != psf.shape[1] or psf.shape[0] % 2 == 0:
        raise InputError(path, f"PSF image must be an odd square 2-D array, got {psf.shape}")
    if not np.isfinite(psf).all() or psf.sum() <= 0:
        raise InputError(path, "PSF image has non-finite pixels or a non-positive sum")
    return psf / psf.sum()


@dataclass(frozen=True)
class FitResult:
    """One blend's scarlet fit: per-source fluxes and errors, convergence, iterations."""

    flux: np.ndarray
    error: np.ndarray
    converged: bool
    iterations: int
    failed: bool


@dataclass
class Fitter:
    """Compiled scarlet2 fits for stamps of one shape and PSF, one per number of sources."""

    shape: int
    psf: np.ndarray
    max_iter: int = 500
    tolerance: float = 1.0
    patience: int = 20
    model_psf_sigma: float = 0.7
    _solvers: dict = field(default_factory=dict, repr=False)
    compile_seconds: float = 0.0

    def _build(self, n: int):
        import equinox as eqx
        import jax
        import jax.numpy as jnp
        import optax
        import scarlet2 as s2
        from numpyro.distributions import constraints
        from numpyro.distributions.transforms import biject_to

        s2.set_validation(False)
        size, centre = self.shape, self.shape // 2
        psf = jnp.asarray(self.psf[None], dtype=float)
        blank = np.zeros((size, size))
        obs = s2.Observation(blank, blank + 1.0, psf=s2.ArrayPSF(psf))
        frame = s2.Frame(s2.Box((1, size, size)), psf=s2.GaussianPSF(self.model_psf_sigma))
        box = 2 * (size // 2) + 1  # every source's box is the stamp's: one compiled model
        with s2.Scene(frame) as scene:
            for _ in range(n):
                morph = s2.SersicMorphology(
                    jnp.array(START["n"]),
                    jnp.array(START["size"]),
                    jnp.zeros(2),
                    shape=(box, box),
                )
                s2.Source(jnp.array([centre, centre], dtype=float), jnp.ones(1), morph)
        kinds = {}
        with s2.Parameters(scene):
            for k, src in enumerate(scene.sources):
                for kind, node, constraint in (
                    ("amplitude", src.spectrum, constraints.positive),
                    ("center", src.center, None),
                    ("size", src.morphology.size, constraints.positive),
                    ("n", src.morphology.n, constraints.interval(*SERSIC_N)),
                    (
                        "ellipticity",
                        src.morphology.ellipticity,
                        constraints.interval(-ELLIPTICITY_MAX, ELLIPTICITY_MAX),
                    ),
                ):
                    name = f"{kind}_{k}"
                    s2.Parameter(node, name=name, constraint=constraint, stepsize=STEPS[kind])
                    kinds[name] = constraint
        obs.match(frame)
        names = list(kinds)
        forward = {k: (biject_to(c) if c is not None else None) for k, c in kinds.items()}
        steps = {k: STEPS[k.rsplit("_", 1)[0]] for k in names}

        def to_values(u):
            return {k: (forward[k](v) if forward[k] else v) for k, v in u.items()}

        def to_free(values):
            return {k: (forward[k].inv(v) if forward[k] else v) for k, v in values.items()}

        def rendered(values, data, weights):
            obs_ = eqx.tree_at(lambda o: (o.data, o.weights), obs, (data, weights))
            scene_ = scene.set(values)
            models = jnp.stack([obs_.render(scene_.evaluate_source(s))[0] for s in scene_.sources])
            return obs_, scene_, models

        def loss(u, data, weights):
            obs_, scene_, _ = rendered(to_values(u), data, weights)
            return -obs_.log_likelihood(scene_())

        adam = optax.scale_by_adam()
        grad = jax.value_and_grad(loss)

        def solve(values, data, weights, max_iter, tolerance, patience):
            u0 = to_free(values)

            def step(state):
                u, opt, it, best_u, best, stall, value = state
                value, g = grad(u, data, weights)
                better = value < best - tolerance
                best_u = jax.tree.map(lambda a, b: jnp.where(better, a, b), u, best_u)
                best = jnp.where(value < best, value, best)
                stall = jnp.where(better, 0, stall + 1)
                upd, opt = adam.update(g, opt, u)
                u = {k: u[k] - steps[k] * upd[k] for k in names}
                return u, opt, it + 1, best_u, best, stall, value

            def going(state):
                _, _, it, _, _, stall, value = state
                return (it < max_iter) & (stall < patience) & jnp.isfinite(value)

            state = (u0, adam.init(u0), 0, u0, jnp.inf, 0, 0.0)
            _, _, it, u, best, stall, value = jax.lax.while_loop(going, step, state)
            _, _, models = rendered(to_values(u), data, weights)
            # the fitted shapes as unit-flux templates; their amplitudes solved linearly
            # (weighted least squares), as scarlet2's forced photometry does
            templates = models.reshape(n, -1) / models.sum(axis=(1, 2))[:, None]
            weighted = templates * weights.reshape(1, -1)
            cov = jnp.linalg.inv(weighted @ templates.T)
            flux = cov @ (weighted @ data.reshape(-1))
            error = jnp.sqrt(jnp.diag(cov))
            converged = stall >= patience
            return flux, error, it, converged, jnp.isfinite(value) & jnp.isfinite(best)

        return jax.jit(solve)

    def solver(self, n: int):
        """The compiled fit for ``n`` sources (built, and compiled on first use)."""
        if n not in self._solvers:
            self._solvers[n] = self._build(n)
        return self._solvers[n]

    def fit(
        self,
        image: np.ndarray,
        noise: float,
        positions: list[tuple[float, float]],
        sizes: list[float] | None = None,
    ) -> FitResult:
        """Fit sources starting at ``positions`` ((x, y) pixels) to ``image`` of white
        ``noise`` (non-finite pixels weigh 0); a failure (an exception, a non-finite loss or
        flux) gives NaN fluxes."""
        import jax.numpy as jnp

        n = len(positions)
        nan = np.full(n, np.nan)
        try:
            values = start_values(image, noise, positions, sizes)
            finite = np.isfinite(image)  # bad pixels get no weight
            data = jnp.asarray(np.where(finite, image, 0.0), dtype=float)[None]
            weights = jnp.asarray(np.where(finite, 1.0 / noise**2, 0.0), dtype=float)[None]
            first = n not in self._solvers
            began = time.perf_counter()
            solve = self.solver(n)
            flux, error, it, converged, finite = solve(
                values, data, weights, self.max_iter, self.tolerance, self.patience
            )
            flux = np.asarray(flux, dtype=float)
            if first:
                self.compile_seconds += time.perf_counter() - began
        except Exception as exc:  # noqa: BLE001 - any scarlet2/JAX failure: NaN, counted
            log.warning("scarlet fit failed (%d sources): %s", n, exc)
            return FitResult(nan, nan, False, 0, True)
        if not (bool(finite) and np.isfinite(flux).all()):
            return FitResult(nan, nan, False, int(it), True)
        return FitResult(flux, np.asarray(error, dtype=float), bool(converged), int(it), False)


def start_values(
    image: np.ndarray,
    noise: float,
    positions: list[tuple[float, float]],
    sizes: list[float] | None = None,
) -> dict:
    """Starting parameters: each source at its position, a Sersic (index 1, ``sizes`` or 2
    pixels) whose peak matches the stamp's pixel there (at least the noise)."""
    import jax.numpy as jnp

    n_start = START["n"]
    peak_factor = math.exp(2 * n_start - 1 / 3)  # the Sersic profile's centre over r_e
    values = {}
    ny, nx = image.shape
    for k, (x, y) in enumerate(positions):
        j, i = int(np.clip(round(x), 0, nx - 1)), int(np.clip(round(y), 0, ny - 1))
        peak = max(float(image[i, j]), float(noise))
        size = START["size"] if sizes is None else float(np.clip(sizes[k], 1.0, 20.0))
        values[f"amplitude_{k}"] = jnp.array([peak / peak_factor])
        values[f"center_{k}"] = jnp.array([y, x], dtype=float)
        values[f"size_{k}"] = jnp.array(size)
        values[f"n_{k}"] = jnp.array(n_start)
        values[f"ellipticity_{k}"] = jnp.zeros(2)
    return values


def blend_sources(
    image: np.ndarray,
    noise: float,
    r_cen: float,
    shift: tuple[float, float],
    settings: ScarletSettings | Mapping,
) -> tuple[list[tuple[float, float]], list[float] | None, list[int], int, str]:
    """Where the sources start: (positions (x, y), sizes or None, the slot of the central and
    of the companion among them (-1: not modelled), sep's detection code, its pass).

    Detected: the central and companion that the sep baseline associates (cold/hot passes,
    :func:`detect_blend`), started at sep's positions and semi-major axes. ``oracle_positions``:
    both at their true centres, whatever sep found. ``settings``: :meth:`ScarletSettings.of`.
    """
    settings = ScarletSettings.of(settings)
    det = detect_blend(image, noise, r_cen, settings.detection)
    if settings.oracle_positions:
        centre = image.shape[-1] // 2
        truth = [(centre, centre), (centre + shift[0], centre + shift[1])]
        return [(float(x), float(y)) for x, y in truth], None, [0, 1], det.detection, det.pass_used
    positions, sizes, slots = [], [], []
    for index in (det.central, det.companion):
        if index < 0:
            slots.append(-1)
            continue
        slots.append(len(positions))
        obj = det.objects[index]
        positions.append((float(obj["x"]), float(obj["y"])))
        sizes.append(float(obj["a"]))
    return positions, sizes, slots, det.detection, det.pass_used


def status_of(result: FitResult | None) -> str:
    """``status`` of a blend: not_found (nothing to fit), failed, not_converged or ok."""
    if result is None:
        return "not_found"
    if result.failed:
        return "failed"
    return "ok" if result.converged else "not_converged"


def fit_row(
    fitter: Fitter,
    image: np.ndarray,
    noise: float,
    r_cen: float,
    shift: tuple[float, float],
    settings: ScarletSettings | Mapping,
) -> tuple:
    """One blend's row of scarlet.csv (without its id); NaN fluxes where a galaxy is not
    found, or the fit failed or did not converge (its status says which). ``settings``:
    :meth:`ScarletSettings.of` (the fit's own limits are the ``fitter``'s)."""
    positions, sizes, slots, code, used = blend_sources(image, noise, r_cen, shift, settings)
    result = fitter.fit(image, noise, positions, sizes) if positions else None
    flux, error = np.full(2, np.nan), np.full(2, np.nan)
    if status_of(result) == "ok":
        for role, slot in enumerate(slots):
            if slot >= 0:
                flux[role], error[role] = result.flux[slot], result.error[slot]
    return (
        *flux,
        *error,
        bool(result is not None and result.converged),
        0 if result is None else result.iterations,
        len(positions),
        code,
        used,
        status_of(result),
    )


def check_pairs(h5, path: Path) -> None:
    """Raise InputError unless the open set ``h5`` holds pairs (K = 2): the scarlet fits
    model a central and one companion."""
    if slot_count(h5) > 2:
        raise InputError(
            path,
            f"a set of up to {slot_count(h5)} galaxies per blend: scarlet supports pairs only; "
            "set scarlet.enabled: false for multi-galaxy sets",
        )


def scarlet_set(
    blend_path: Path,
    psf: np.ndarray,
    settings: ScarletSettings | Mapping,
    rows: slice | None = None,
) -> tuple[pd.DataFrame, Fitter]:
    """scarlet2 fits of the blends ``rows`` of a set (all by default), one row per blend.

    ``settings``: :meth:`ScarletSettings.of`: the fit's ``max_iter``, ``tolerance``,
    ``patience`` and ``oracle_positions``, and the sep detection they start from
    (``detection``: the cold and hot passes, ``central_radius_factor``, ``noise``).
    """
    settings = ScarletSettings.of(settings)
    with open_blend_set(blend_path) as h5:
        check_pairs(h5, blend_path)
        n, size = h5["blend"].shape[0], h5["blend"].shape[-1]
        rows = rows or slice(0, n)
        start, stop, _ = rows.indices(n)
        table = read_table(h5["table"], slice(start, stop))[TABLE_NEEDS]
        known = _known_noise(h5)
        blends = h5["blend"][start:stop]
    fitter = Fitter(
        size,
        psf,
        max_iter=settings.max_iter,
        tolerance=settings.tolerance,
        patience=settings.patience,
    )
    blend_known = None if known is None else known * math.sqrt(2.0)
    out = []
    with sep_limits(run_limits(size * size)):
        for image, row in zip(blends, table.itertuples(), strict=True):
            noise, _ = stamp_noise(image, blend_known, settings.detection.noise)
            shift = (float(row.shift_x), float(row.shift_y))
            out.append(fit_row(fitter, image, noise, float(row.g1_rad), shift, settings))
    result = pd.DataFrame(out, columns=list(COLUMNS[1:]))
    result.insert(0, "id", table["id"].to_numpy())
    return result, fitter


def status_counts(result: pd.DataFrame) -> dict[str, int]:
    """Blends per status (ok, not_converged, failed, not_found)."""
    counts = result["status"].value_counts()
    return {name: int(counts.get(name, 0)) for name in STATUSES}


def run_scarlet(
    blend_path: Path,
    psf: np.ndarray,
    settings: ScarletSettings | Mapping,
    out_path: Path,
    shard: int = 0,
    n_shards: int = 1,
) -> pd.DataFrame:
    """scarlet2 fits of one shard of a blend set -> CSV; counts per status in the log
    (``settings``: :meth:`ScarletSettings.of`)."""
    rows = set_shard_rows(blend_path, shard, n_shards)
    began = time.perf_counter()
    result, fitter = scarlet_set(blend_path, psf, settings, rows)
    seconds = time.perf_counter() - began
    write_csv(result, out_path)
    fitted = max(int((result["status"] != "not_found").sum()), 1)
    log.info(
        "scarlet shard %d/%d rows %d:%d: %s; JAX compilation %.1f s, then %.0f ms per fit",
        shard,
        n_shards,
        rows.start,
        rows.stop,
        status_counts(result),
        fitter.compile_seconds,
        1000 * (seconds - fitter.compile_seconds) / fitted,
    )
    return result


def gather_scarlet(shard_paths: list[Path], blend_path: Path, out_path: Path) -> pd.DataFrame:
    """Join the scarlet shards in order (every blend of the set once); counts and flux
    errors per role in the log."""
    result, true_flux = join_shards(shard_paths, blend_path, COLUMNS)
    write_csv(result, out_path)
    log.info("scarlet: %d blends, per status %s", len(result), status_counts(result))
    errors = flux_errors(result, true_flux, [("scarlet", *ESTIMATORS[0][1:])])
    log.info(
        "flux errors (per cent; NaN rows left out):\n%s", errors.round(2).to_string(index=False)
    )
    return result


def read_psf(path: Path) -> np.ndarray:
    """The PSF image of a FITS file (first HDU with data), checked and normalised."""
    from astropy.io import fits

    try:
        with fits.open(path) as hdul:
            data = next((h.data for h in hdul if h.data is not None), None)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read the PSF image: {exc}") from exc
    if data is None:
        raise InputError(path, "no image in the PSF file")
    return check_psf(data, path)


def write_psf(psf: np.ndarray, path: Path) -> None:
    """The PSF image as a FITS file, written atomically."""
    from astropy.io import fits

    from blendphot.io import atomic_path

    with atomic_path(path) as tmp:
        fits.PrimaryHDU(np.asarray(psf, dtype=np.float64)).writeto(tmp, overwrite=True)


def stage_psf(sky: dict, psf: dict, size: int = PSF_SIZE) -> np.ndarray:
    """The PSF the scarlet fits use: the synthetic sky's own (``sky.psf_model``), else the
    configured image (``scarlet.psf.image``), else a Gaussian of ``scarlet.psf.fwhm`` arcsec."""
    if sky["source"] == "synthetic":
        from blendphot.sky.synthetic import psf_image

        return check_psf(psf_image(sky, size))
    if psf.get("image"):
        return read_psf(Path(psf["image"]))
    if psf.get("fwhm"):
        return gaussian_psf(float(psf["fwhm"]) / float(sky["pixel_scale"]), size)
    raise InputError(None, f"sky.source {sky['source']}: set scarlet.psf.image or scarlet.psf.fwhm")
