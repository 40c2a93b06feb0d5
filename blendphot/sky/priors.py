"""Drawing galaxy properties from the calibrated CANDELS-like priors.

Per type, magnitude, radius and redshift are drawn through a Gaussian copula: correlated
standard normals (the type's correlation matrix) become uniforms, which the tabulated
quantile functions (linear between the levels) turn into values. Each marginal follows the
tabulated distribution; the rank correlations between them are those of the real galaxies
(bright galaxies are larger, and lie at lower redshift).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from blendphot.sky.priors_data import CANDELS_PRIORS

PROPERTIES = ("mag", "radius", "z")
"""The sampled galaxy properties: F160W magnitude, radius (pixels), redshift."""


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal cumulative distribution."""
    return 0.5 * special.erfc(-x / np.sqrt(2.0))


def sample_properties(
    galaxy_type: str, n: int, rng: np.random.Generator, priors: dict = CANDELS_PRIORS
) -> pd.DataFrame:
    """Draw ``n`` (mag, radius, z) triples for one galaxy type."""
    spec = priors["types"][galaxy_type]
    corr = np.asarray(spec["correlation"], dtype=float)
    chol = np.linalg.cholesky(corr)
    uniforms = _normal_cdf(rng.standard_normal((n, len(PROPERTIES))) @ chol.T)
    levels = np.asarray(priors["levels"], dtype=float)
    return pd.DataFrame(
        {
            name: np.interp(uniforms[:, i], levels, spec["quantiles"][name])
            for i, name in enumerate(PROPERTIES)
        }
    )


def type_fractions(priors: dict = CANDELS_PRIORS) -> dict[str, float]:
    """The type fractions of the real sample."""
    return {kind: spec["fraction"] for kind, spec in priors["types"].items()}
