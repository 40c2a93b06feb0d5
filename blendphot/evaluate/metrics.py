"""Photometric metrics of the paper (section 4.1): bias, scatter, outliers, MAPE."""

from __future__ import annotations

import numpy as np
import pandas as pd

ROLES = {"central": "g1", "companion": "g2"}
"""The roles of a pair and their catalogue prefixes. A blend of more galaxies adds a role per
further slot (:func:`slot_role`: ``companion_2`` is ``g3``, the second-brightest companion)."""
COUNT_COLUMN = "n_galaxies"
SKIPPED_COLUMN = "nonfinite_pixels"
"""Catalogue column: 1 for a blend with non-finite pixels, which no method measures."""
FOUND_COLUMN = "sep_found"
"""Catalogue column of sep's found members (bit k: slot k), in catalogues of K > 2 sets."""


def slot_role(slot: int) -> str:
    """The role of a 0-based slot: central, companion, companion_2, companion_3, ..."""
    return ("central", "companion")[slot] if slot < 2 else f"companion_{slot}"


def catalog_roles(catalog: pd.DataFrame) -> dict[str, str]:
    """Role -> prefix of every slot with true fluxes in ``catalog`` (g1, g2, then g3... of
    the blends of more than two galaxies)."""
    roles = dict(ROLES)
    slot = 2
    while f"g{slot + 1}_flux" in catalog.columns:
        roles[slot_role(slot)] = f"g{slot + 1}"
        slot += 1
    return roles


def other_prefix(role: str) -> str:
    """The galaxy a role is compared with (magnitude difference): the central's brightest
    companion for the central, the central for every companion."""
    return "g2" if role == "central" else "g1"


def galaxy_counts(catalog: pd.DataFrame) -> np.ndarray:
    """Galaxies per blend: the catalogue's ``n_galaxies``, or 2 (a catalogue of pairs)."""
    if COUNT_COLUMN in catalog.columns:
        return catalog[COUNT_COLUMN].to_numpy(dtype=np.int64)
    return np.full(len(catalog), 2, dtype=np.int64)


def magnitudes(flux: np.ndarray, zeropoint: float) -> np.ndarray:
    """AB magnitudes; NaN where the flux is missing or not positive."""
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, zeropoint - 2.5 * np.log10(flux), np.nan)


def photometry_summary(
    mag_pred: np.ndarray,
    mag_true: np.ndarray,
    flux_pred: np.ndarray,
    flux_true: np.ndarray,
    outlier_threshold: float = 0.75,
    skipped: np.ndarray | None = None,
) -> dict[str, float]:
    """Bias (mean dmag), sigma_mag (std of dmag), outlier fraction |dmag| > threshold,
    MAPE on flux and on magnitude (per cent), over the entries with a finite dmag.

    dmag = mag_pred - mag_true (mag_blend - mag_isolated). ``n_skipped`` counts the entries
    of ``skipped`` blends (non-finite pixels: no method measures them), ``n_invalid`` the
    other entries dropped because the prediction was missing or not positive.
    """
    dmag = np.asarray(mag_pred, float) - np.asarray(mag_true, float)
    skipped = np.zeros(dmag.shape, bool) if skipped is None else np.asarray(skipped, bool)
    ok = np.isfinite(dmag) & ~skipped
    counts = {"n_skipped": int(skipped.sum()), "n_invalid": int((~ok & ~skipped).sum())}
    d = dmag[ok]
    mt = np.asarray(mag_true, float)[ok]
    fp, ft = np.asarray(flux_pred, float)[ok], np.asarray(flux_true, float)[ok]
    if d.size == 0:
        nan = float("nan")
        return {
            "n": 0,
            **counts,
            "bias": nan,
            "sigma_mag": nan,
            "outlier_fraction": nan,
            "mape_flux": nan,
            "mape_mag": nan,
        }
    return {
        "n": int(d.size),
        **counts,
        "bias": float(np.mean(d)),
        "sigma_mag": float(np.std(d)),
        "outlier_fraction": float(np.mean(np.abs(d) > outlier_threshold)),
        "mape_flux": float(100.0 * np.mean(np.abs((ft - fp) / ft))),
        "mape_mag": float(100.0 * np.mean(np.abs(d / mt))),
    }


def selections(
    detection: np.ndarray,
    found: np.ndarray | None = None,
    counts: np.ndarray | None = None,
    roles: dict[str, str] = ROLES,
) -> dict[str, dict[str, np.ndarray]]:
    """Row selections by role, as in the paper's figures.

    all: every blend holding the role's galaxy; figure5: each galaxy where sep found it (a
    pair's central where the detection code is 0 or 2, its companion where it is 1 or 2; in a
    set of more galaxies, bit k of ``found`` for slot k); figure6_top: every galaxy where sep
    found exactly the blend's members (code 2); figure6_bottom: every galaxy where sep under-
    or over-deblended (0, 1, 3). ``counts`` (galaxies per blend, default 2) leaves out the
    absent slots of ``roles``.
    """
    det = np.asarray(detection)
    counts = np.full(det.shape, 2) if counts is None else np.asarray(counts)
    if found is None:  # a pair: the paper's detection codes say which one was found
        found = np.where(np.isin(det, (0, 2)), 1, 0) | np.where(np.isin(det, (1, 2)), 2, 0)
    found = np.nan_to_num(np.asarray(found, dtype=float), nan=0).astype(np.int64)
    out: dict[str, dict[str, np.ndarray]] = {
        "all": {},
        "figure5": {},
        "figure6_top": {},
        "figure6_bottom": {},
    }
    for slot, role in enumerate(roles):
        present = slot < counts
        out["all"][role] = present
        out["figure5"][role] = present & ((found >> slot) & 1).astype(bool)
        out["figure6_top"][role] = present & (det == 2)
        out["figure6_bottom"][role] = present & np.isin(det, (0, 1, 3))
    return out


def catalog_selections(catalog: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """:func:`selections` of a catalogue, over all its roles."""
    found = catalog[FOUND_COLUMN].to_numpy() if FOUND_COLUMN in catalog.columns else None
    return selections(
        catalog["detection"].to_numpy(), found, galaxy_counts(catalog), catalog_roles(catalog)
    )


def method_arrays(catalog: pd.DataFrame, method, role: str) -> tuple[np.ndarray, ...]:
    """(mag_pred, mag_true, flux_pred, flux_true) of one method for one role."""
    g = catalog_roles(catalog)[role]
    flux_pred = catalog[f"{g}_flux_{method.column}"].to_numpy(dtype=float)
    flux_true = catalog[f"{g}_flux"].to_numpy(dtype=float)
    mag_true = catalog[f"{g}_mag"].to_numpy(dtype=float)
    return magnitudes(flux_pred, method.zeropoint), mag_true, flux_pred, flux_true


def skipped_rows(catalog: pd.DataFrame) -> np.ndarray:
    """The catalogue's blends with non-finite pixels (``nonfinite_pixels``; none in a
    catalogue without the column)."""
    if SKIPPED_COLUMN not in catalog.columns:
        return np.zeros(len(catalog), dtype=bool)
    return catalog[SKIPPED_COLUMN].fillna(0).to_numpy(dtype=bool)


def metrics_table(catalog: pd.DataFrame, methods: list, outlier_threshold: float) -> pd.DataFrame:
    """One row per (selection, method, role), plus role 'both' pooling every galaxy (the
    two of a pair; all the members of larger blends)."""
    rows = []
    roles = catalog_roles(catalog)
    skipped = skipped_rows(catalog)
    for sel_name, masks in catalog_selections(catalog).items():
        for method in methods:
            pooled = []
            for role in roles:
                arrays = [a[masks[role]] for a in method_arrays(catalog, method, role)]
                arrays.append(skipped[masks[role]])
                pooled.append(arrays)
                summary = photometry_summary(*arrays[:4], outlier_threshold, arrays[4])
                rows.append(
                    {"selection": sel_name, "method": method.label, "role": role, **summary}
                )
            both = [np.concatenate(parts) for parts in zip(*pooled, strict=True)]
            rows.append(
                {
                    "selection": sel_name,
                    "method": method.label,
                    "role": "both",
                    **photometry_summary(*both[:4], outlier_threshold, both[4]),
                }
            )
    return pd.DataFrame(rows)


def blends_of(catalog: pd.DataFrame, n: int) -> pd.DataFrame:
    """The catalogue rows of the blends of ``n`` galaxies, without the truth of the slots they
    lack (so that :func:`catalog_roles` gives their ``n`` roles)."""
    part = catalog[galaxy_counts(catalog) == n].reset_index(drop=True)
    lacking = [f"{g}_flux" for g in list(catalog_roles(catalog).values())[n:]]
    return part.drop(columns=lacking)


def count_metrics_table(
    catalog: pd.DataFrame, methods: list, outlier_threshold: float
) -> pd.DataFrame:
    """:func:`metrics_table` per number of galaxies in the blend (selections all and
    figure5; the roles those blends have), with an ``n_galaxies`` column first."""
    counts = galaxy_counts(catalog)
    pieces = []
    for n in np.unique(counts):
        table = metrics_table(blends_of(catalog, int(n)), methods, outlier_threshold)
        table = table[table["selection"].isin(("all", "figure5"))]
        pieces.append(table.assign(n_galaxies=int(n)))
    table = pd.concat(pieces, ignore_index=True)
    return table[["n_galaxies", *[c for c in table.columns if c != "n_galaxies"]]]


SEPARATION_COLUMN = "sep_separation"
"""Catalogue column: sep's distance between its two detections in units of their sizes (NaN
where it did not find both)."""


def role_quantities(catalog: pd.DataFrame, role: str) -> dict[str, np.ndarray]:
    """Per-galaxy quantities for the binned figures, seen from ``role``'s galaxy:

    mag_difference = own magnitude - the other galaxy's (:func:`other_prefix`; positive:
    fainter than the other); distance_over_radius = the distance between the two / own radius;
    type = own morphology; true_magnitude = own true magnitude; sep_separation = what sep
    measured of the blend's overlap (:data:`SEPARATION_COLUMN`; NaN without it).
    """
    own, other = catalog_roles(catalog)[role], other_prefix(role)
    distance = catalog["distance"] if own in ("g1", "g2") else catalog[f"{own}_distance"]
    separation = (
        catalog[SEPARATION_COLUMN].to_numpy(float)
        if SEPARATION_COLUMN in catalog.columns
        else np.full(len(catalog), np.nan)
    )
    return {
        "mag_difference": (catalog[f"{own}_mag"] - catalog[f"{other}_mag"]).to_numpy(float),
        "distance_over_radius": (distance / catalog[f"{own}_rad"]).to_numpy(float),
        "type": catalog[f"{own}_type"].astype(str).to_numpy(),
        "true_magnitude": catalog[f"{own}_mag"].to_numpy(float),
        "sep_separation": separation,
    }


def method_quantities(catalog: pd.DataFrame, method, role: str) -> dict[str, np.ndarray]:
    """:func:`role_quantities` and the galaxy's magnitude as ``method`` measured it
    (``own_magnitude``: what a user of the method's catalogue bins by)."""
    g = catalog_roles(catalog)[role]
    own = magnitudes(catalog[f"{g}_flux_{method.column}"].to_numpy(float), method.zeropoint)
    return {**role_quantities(catalog, role), "own_magnitude": own}


def binned_stats(x: np.ndarray, dmag: np.ndarray, edges: np.ndarray) -> pd.DataFrame:
    """Median and scatter (standard deviation) of dmag in bins of x (finite values only)."""
    x, dmag = np.asarray(x, float), np.asarray(dmag, float)
    ok = np.isfinite(x) & np.isfinite(dmag)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        last = hi == edges[-1]
        inside = ok & (x >= lo) & ((x <= hi) if last else (x < hi))
        d = dmag[inside]
        rows.append(
            {
                "bin_low": lo,
                "bin_high": hi,
                "bin_centre": 0.5 * (lo + hi),
                "n": int(d.size),
                "median": float(np.median(d)) if d.size else np.nan,
                "scatter": float(np.std(d)) if d.size > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows)


BINNED_AXES = {
    "mag_difference": np.linspace(-2.0, 2.0, 7),  # figure 7 (and 9): 6 bins
    "distance_over_radius": None,  # figure 8: 6 bins between the 2nd and 98th percentiles
    "own_magnitude": None,  # observables: the method's own magnitude, sep's separation
    "sep_separation": None,
}
"""The binned axes: the truth's (the paper's Figures 7-9) and what a user measures (the
method's own magnitude, sep's separation). Without fixed edges: 6 bins between the 2nd and
98th percentiles of the values :data:`EDGES_FROM` names."""
EDGES_FROM = {"own_magnitude": "true_magnitude"}
"""Axes whose bin edges come from another quantity: the true magnitudes for the measured
ones, so that every method of a role shares the same magnitude bins."""


def axis_edges(name: str, values: np.ndarray, n_bins: int = 6) -> np.ndarray:
    """Bin edges for one of the binned-figure axes."""
    fixed = BINNED_AXES.get(name)
    if fixed is not None:
        return fixed
    finite = values[np.isfinite(values)]
    lo, hi = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
    return np.linspace(lo, hi, n_bins + 1)


def binned_edges(axis: str, quantities: dict[str, np.ndarray]) -> np.ndarray:
    """Bin edges of ``axis`` from the quantities of the galaxies binned
    (:data:`EDGES_FROM`)."""
    return axis_edges(axis, quantities[EDGES_FROM.get(axis, axis)])


def _selected_role_arrays(catalog: pd.DataFrame, method, role: str) -> dict[str, np.ndarray]:
    """dmag and the binned quantities of one role, over the blends where sep found it;
    role 'both' pools the central and the companion."""
    if role == "both":
        parts = [_selected_role_arrays(catalog, method, r) for r in catalog_roles(catalog)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    mask = catalog_selections(catalog)["figure5"][role]
    mag_pred, mag_true, _, _ = method_arrays(catalog, method, role)
    out = {k: v[mask] for k, v in method_quantities(catalog, method, role).items()}
    out["dmag"] = (mag_pred - mag_true)[mask]
    return out


def binned_table(catalog: pd.DataFrame, methods: list) -> pd.DataFrame:
    """Figures 7-9 data: binned median and scatter of dmag per method, role and axis (the
    truth's and the observables', :data:`BINNED_AXES`), and per morphological type against
    the magnitude difference.

    Each role uses the blends where sep found that galaxy (the figure-5 selection); role
    'both' pools the two galaxies. Bin edges are shared by all methods of a role and axis.
    """
    pieces = []
    for role in (*catalog_roles(catalog), "both"):
        for axis in BINNED_AXES:
            edges = None
            for method in methods:
                arrays = _selected_role_arrays(catalog, method, role)
                if edges is None:
                    edges = binned_edges(axis, arrays)
                groups = [("all", np.ones(arrays["dmag"].shape, bool))]
                if axis == "mag_difference":
                    groups += [(t, arrays["type"] == t) for t in ("sph", "disk", "sphd", "irr")]
                for group, inside in groups:
                    table = binned_stats(arrays[axis][inside], arrays["dmag"][inside], edges)
                    table.insert(0, "type", group)
                    table.insert(0, "axis", axis)
                    table.insert(0, "role", role)
                    table.insert(0, "method", method.label)
                    pieces.append(table)
    return pd.concat(pieces, ignore_index=True)
