"""The paper's claims (Boucaud et al. 2019, sections 4.1-4.3), each checked on a run's metrics:
whether it holds here, and the numbers it rests on. A claim that fails says so; it never fails
the run."""

from __future__ import annotations

import numpy as np
import pandas as pd

SELECTION = "figure5"
"""The selection the claims are checked on: each galaxy where sep found it (the paper's
Figure 5)."""
ROLES = ("central", "companion")
SEP_ISOPHOTAL = "sep isophotal"
MAPE_RATIO = 3.0
"""The networks' flux MAPE is at least this many times smaller than SExtractor's."""
MAX_BIAS = 0.05
"""Magnitudes: the largest |bias| of a network."""
MAX_OUTLIERS = 0.01
"""The largest fraction of a network's galaxies off by more than the outlier threshold."""
BOTH_FOUND = (74.0, 5.0)
"""Per cent of the pairs in which sep finds both galaxies (the paper: 74.3), and the
tolerance."""
UNET_IOU = (0.82, 0.1)
"""The U-Net's mean IoU on the test blends in the paper (section 4.4), and the tolerance."""
COLUMNS = ("claim", "holds", "numbers")


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "no")


def _values(metrics: pd.DataFrame, method: str, column: str) -> list[float] | None:
    """The central's and the companion's ``column`` of one method (figure-5 selection)."""
    part = metrics[(metrics["selection"] == SELECTION) & (metrics["method"] == method)]
    part = part.set_index("role")
    if not set(ROLES) <= set(part.index):
        return None
    return [float(part.loc[role, column]) for role in ROLES]


def _pair(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in values)


def check_claims(
    metrics: pd.DataFrame,
    networks: dict[str, str],
    detection: np.ndarray | None = None,
    iou: dict[str, float] | None = None,
) -> pd.DataFrame:
    """One row per claim: the claim, whether it holds on this run (``yes``, ``no``, or
    ``n/a`` where the run lacks what it needs), and its numbers (central / companion).

    ``metrics``: the run's metrics.csv; ``networks``: each flux network's method label ->
    its architecture; ``detection``: sep's detection class of every test pair (2: both found),
    None for blends of more galaxies; ``iou``: each U-Net's mean IoU on the test blends (the
    segmentation table), None or empty without one."""
    rows = []
    sep = _values(metrics, SEP_ISOPHOTAL, "mape_flux")
    found = {label: _values(metrics, label, "mape_flux") for label in networks}
    found = {label: v for label, v in found.items() if v is not None}
    numbers, ok = [], None
    for label, mape in found.items():
        if sep is None:
            break
        ratios = [s / m if m > 0 else np.inf for s, m in zip(sep, mape, strict=True)]
        ok = (ok is not False) and all(r >= MAPE_RATIO for r in ratios)
        shown = f"{_pair(mape, '.1f')} % against {_pair(sep, '.1f')} %"
        numbers.append(f"{label} {shown} ({_pair(ratios, '.1f')}x)")
    rows.append(
        (
            f"The networks beat SExtractor (sep isophotal) by at least {MAPE_RATIO:g}x in flux "
            "MAPE",
            _verdict(ok if numbers else None),
            "; ".join(numbers),
        )
    )
    masks = [label for label in found if networks[label] == "blend2mask2flux"]
    fluxes = [label for label in found if networks[label] == "blend2flux"]
    numbers, ok = [], None
    for b2m2f in masks:
        for b2f in fluxes:
            better = all(a < b for a, b in zip(found[b2m2f], found[b2f], strict=True))
            ok = (ok is not False) and better
            numbers.append(
                f"{b2m2f} {_pair(found[b2m2f], '.1f')} % against {b2f} {_pair(found[b2f], '.1f')} %"
            )
    rows.append(("blend2mask2flux beats blend2flux in flux MAPE", _verdict(ok), "; ".join(numbers)))
    for column, limit, claim, scale in (
        ("bias", MAX_BIAS, f"The networks' absolute bias stays below {MAX_BIAS:g} mag", 1.0),
        (
            "outlier_fraction",
            MAX_OUTLIERS,
            f"The networks' outlier fraction stays below {100 * MAX_OUTLIERS:g}%",
            100.0,
        ),
    ):
        numbers, ok = [], None
        for label in found:
            values = _values(metrics, label, column)
            ok = (ok is not False) and all(abs(v) < limit for v in values)
            shown = (
                _pair(values, "+.3f") if scale == 1.0 else _pair([scale * v for v in values], ".1f")
            )
            numbers.append(f"{label} {shown}{'' if scale == 1.0 else ' %'}")
        rows.append((claim, _verdict(ok), "; ".join(numbers)))
    target, tolerance = BOTH_FOUND
    claim = f"sep finds both galaxies in {target:g} +- {tolerance:g}% of the blends"
    if detection is None or len(detection) == 0:
        rows.append((claim, "n/a", "blends of more than two galaxies: no pair classes"))
    else:
        share = 100 * float(np.mean(np.asarray(detection) == 2))
        verdict = _verdict(abs(share - target) <= tolerance)
        rows.append((claim, verdict, f"{share:.1f}% of {len(detection)} test blends"))
    rows.append(unet_claim(iou or {}))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def unet_claim(iou: dict[str, float]) -> tuple[str, str, str]:
    """The segmentation claim: each U-Net's mean IoU within the tolerance of the paper's."""
    target, tolerance = UNET_IOU
    claim = f"The U-Net recovers each galaxy's mask: mean IoU {target:g} +- {tolerance:g}"
    if not iou:
        return claim, "n/a", "no U-Net evaluated on this run"
    ok = all(abs(value - target) <= tolerance for value in iou.values())
    numbers = "; ".join(f"{name} {value:.2f}" for name, value in iou.items())
    return claim, _verdict(ok), f"{numbers} (paper {target:g})"


def claims_markdown(claims: pd.DataFrame) -> str:
    """The claims as a Markdown table with its title."""
    from blendphot.evaluate.tables import markdown_table

    title = (
        "The paper's claims, checked on this run (flux MAPE, bias and outliers: the Figure 5 "
        "selection, central / companion):"
    )
    return f"{title}\n\n{markdown_table(claims)}"
