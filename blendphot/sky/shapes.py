"""Galaxy shapes beyond smooth profiles, drawn with GalSim: what real galaxies at z ~ 1 show.

Each function returns a GalSim profile (before the PSF) of total flux ``flux`` and half-light
radius ``hlr`` (arcsec) of its main body, at position angle ``beta`` (degrees):

- :func:`clumpy_disc`: an exponential disc plus star-forming clumps (``RandomKnots``) that
  follow the disc's light;
- :func:`edge_on_disc`: an inclined thick exponential (or Sersic) disc, 80-90 degrees being
  edge-on;
- :func:`spiral`: a de Vaucouleurs bulge, an exponential disc and knots strung along
  logarithmic arms (a grand-design spiral);
- :func:`merger`: two overlapping bodies closer than their half-light radii, one system;
- :func:`asymmetric_irregular`: an exponential body with its clumps on one side, off-centre.

The synthetic sky (:mod:`blendphot.sky.synthetic`) and the inspection check of the stamps
stage (:mod:`blendphot.stamps.inspection`) both draw from here.
"""

from __future__ import annotations

import galsim
import numpy as np

KNOT_SIGMA = 0.04  # arcsec: a star-forming clump (~300 pc at z ~ 1), before the PSF


def knots(n: int, hlr: float, flux: float, seed: int) -> galsim.GSObject:
    """``n`` point-like clumps scattered like an exponential of half-light radius ``hlr``."""
    return galsim.RandomKnots(
        npoints=n, half_light_radius=hlr, flux=flux, rng=galsim.BaseDeviate(seed)
    )


def clumpy_disc(
    flux: float,
    hlr: float,
    q: float,
    beta: float,
    knot_fraction: float,
    n_knots: int,
    seed: int,
) -> galsim.GSObject:
    """An exponential disc with ``knot_fraction`` of its light in ``n_knots`` clumps,
    sheared to axis ratio ``q``."""
    disc = galsim.Exponential(half_light_radius=hlr, flux=(1.0 - knot_fraction) * flux)
    gal = disc + knots(n_knots, hlr, knot_fraction * flux, seed)
    return gal.shear(q=q, beta=beta * galsim.degrees)


def edge_on_disc(
    flux: float, hlr: float, inclination: float, thickness: float, beta: float, n: float = 1.0
) -> galsim.GSObject:
    """A thick disc seen at ``inclination`` degrees (90: edge-on), scale height /
    scale radius ``thickness``; exponential (``n`` = 1) or Sersic of index ``n``."""
    angle = inclination * galsim.degrees
    if n == 1.0:
        gal = galsim.InclinedExponential(
            angle, half_light_radius=hlr, scale_h_over_r=thickness, flux=flux
        )
    else:
        gal = galsim.InclinedSersic(
            n, angle, half_light_radius=hlr, scale_h_over_r=thickness, flux=flux
        )
    return gal.rotate(beta * galsim.degrees)


def spiral_arm_points(
    n_arms: int, per_arm: int, pitch: float, r_min: float, r_max: float, rng: np.random.Generator
) -> np.ndarray:
    """(x, y) of clumps along ``n_arms`` logarithmic arms r = r_min exp(phi tan(pitch)),
    from r_min to r_max, with a little scatter about each arm."""
    tan = np.tan(np.radians(pitch))
    phi_max = np.log(r_max / r_min) / tan
    points = []
    for arm in range(n_arms):
        phi = np.sort(rng.uniform(0.0, phi_max, per_arm))
        r = r_min * np.exp(phi * tan) * (1.0 + rng.normal(0.0, 0.08, per_arm))
        angle = phi + 2.0 * np.pi * arm / n_arms
        points.append(np.column_stack([r * np.cos(angle), r * np.sin(angle)]))
    return np.concatenate(points)


def spiral(
    flux: float,
    hlr: float,
    bulge_fraction: float,
    arm_fraction: float,
    q: float,
    beta: float,
    rng: np.random.Generator,
    n_arms: int = 2,
    per_arm: int = 12,
    pitch: float = 20.0,
) -> galsim.GSObject:
    """Bulge + disc + arms: the arms hold ``arm_fraction`` of the light in clumps along
    logarithmic spirals between 0.4 and 2.2 disc half-light radii."""
    bulge_hlr = 0.35 * hlr
    bulge = galsim.DeVaucouleurs(
        half_light_radius=bulge_hlr, flux=bulge_fraction * flux, trunc=8.0 * bulge_hlr
    )
    disc_flux = (1.0 - bulge_fraction - arm_fraction) * flux
    disc = galsim.Exponential(half_light_radius=hlr, flux=disc_flux)
    points = spiral_arm_points(n_arms, per_arm, pitch, 0.4 * hlr, 2.2 * hlr, rng)
    weights = rng.uniform(0.5, 1.5, len(points))
    weights *= arm_fraction * flux / weights.sum()
    clump = galsim.Gaussian(sigma=KNOT_SIGMA)
    pieces = zip(points, weights, strict=True)
    arms = galsim.Add([clump.withFlux(float(w)).shift(float(x), float(y)) for (x, y), w in pieces])
    return (bulge + disc + arms).shear(q=q, beta=beta * galsim.degrees)


def merger(
    flux: float,
    hlr: float,
    ratio: float,
    separation: float,
    beta: float,
    rng: np.random.Generator,
) -> galsim.GSObject:
    """Two overlapping exponential bodies, flux ratio ``ratio`` (<= 1), ``separation`` (in
    units of ``hlr``) apart along ``beta``, with a faint tidal tail: one system."""
    main = flux / (1.0 + ratio + 0.1)
    a = galsim.Exponential(half_light_radius=hlr, flux=main)
    b = galsim.Exponential(half_light_radius=0.7 * hlr, flux=ratio * main)
    tail = galsim.Exponential(half_light_radius=1.5 * hlr, flux=0.1 * main).shear(
        q=0.3, beta=0 * galsim.degrees
    )
    angle = np.radians(beta)
    d = separation * hlr
    dx, dy = d * np.cos(angle), d * np.sin(angle)
    tail = tail.rotate(beta * galsim.degrees).shift(1.2 * dx, 1.2 * dy)
    tilt = float(rng.uniform(0, 180)) * galsim.degrees
    shape = a.shear(q=float(rng.uniform(0.5, 1.0)), beta=tilt)
    return shape.shift(-dx / 2, -dy / 2) + b.shift(dx / 2, dy / 2) + tail


def asymmetric_irregular(
    flux: float,
    hlr: float,
    q: float,
    beta: float,
    knot_fraction: float,
    n_knots: int,
    offset: float,
    rng: np.random.Generator,
) -> galsim.GSObject:
    """An irregular: an exponential body plus ``knot_fraction`` of the light in clumps that
    sit on one side, their centre ``offset`` half-light radii from the body's."""
    body = galsim.Exponential(half_light_radius=hlr, flux=(1.0 - knot_fraction) * flux)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    shift = offset * hlr * np.cos(angle), offset * hlr * np.sin(angle)
    seed = int(rng.integers(1, 2**31 - 1))
    clumps = knots(n_knots, 0.7 * hlr, knot_fraction * flux, seed).shift(*shift)
    return (body + clumps).shear(q=q, beta=beta * galsim.degrees)
