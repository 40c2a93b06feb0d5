"""The automatic inspection's rules: why a cleaned stamp is excluded (the paper's visual
inspection, made automatic).

:func:`~blendphot.stamps.process.process_stamp` measures each stamp (the central's light the
cleaning replaced, the share of its family's flux in outer pieces, what touches it, its
asymmetry) and asks :func:`inspection_reasons`; when the inspection runs at all is
:func:`blendphot.stamps.inspection.inspection_on`'s choice.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from blendphot.stamps.settings import InspectionRules, StampSettings

CORE_RADII = 1.0
"""Pieces of the central galaxy centred within this many catalogue radii are its core."""


def own_peaks(
    image: np.ndarray, segmap: np.ndarray, labels: list[int], smoothing: float
) -> np.ndarray:
    """For each label (in order): whether the image smoothed by a Gaussian of ``smoothing``
    pixels (sigma) has a local maximum inside the segment, off its edge. Another galaxy keeps
    its own peak at the galaxy map's scale; a chunk of a clumpy disc or spiral, whose light
    rises towards the galaxy's centre, does not."""
    smooth = ndimage.gaussian_filter(np.asarray(image, dtype=np.float64), smoothing)
    local = smooth == ndimage.maximum_filter(smooth, size=3)
    inner = [ndimage.binary_erosion(segmap == label) for label in labels]
    return np.asarray([bool((local & pixels).any()) for pixels in inner], dtype=bool)


def outer_pieces(props: dict, family: list[int], central: int, radius: float, centre: int):
    """Which pieces of the family (in its order) can be another galaxy: not the central
    segment, and centred beyond ``CORE_RADII`` x ``radius`` from the stamp's centre (the
    nuclei of a merger lie within);
    ``radius`` 0 or NaN: every piece but the central segment."""
    index = np.searchsorted(props["label"], family)
    dist = np.hypot(props["x"][index] - centre, props["y"][index] - centre)
    far = dist > CORE_RADII * radius if np.isfinite(radius) and radius > 0 else True
    return (np.asarray(family) != central) & far


def inspection_reasons(
    rules: InspectionRules | StampSettings | Mapping,
    loss: float,
    share: float,
    touching: int,
    split: bool,
    asymmetry: float = 0.0,
) -> list[str]:
    """Why the automatic inspection (the paper's visual one) excludes a stamp; [] keeps it.

    ``loss``: cleaning replaced more of the central's light than ``rules.max_loss``
    (with the galaxy map: counted inside the central galaxy's extent there);
    ``component``: a piece of the central's family centred beyond ``CORE_RADII`` catalogue
    radii holds more than ``rules.max_component`` of its flux (with the galaxy map: only a
    piece with its own peak at the map's scale, :func:`own_peaks`); ``blended``
    (``rules.blended``): an originally blended system, i.e. another galaxy of the galaxy map
    touches the central's (without the galaxy map: another segment touches the central's at
    the detection isophote, or a smooth galaxy came out of sep in several pieces);
    ``asymmetric``: the galaxy map's central galaxy, smoothed at the map's scale, is more
    asymmetric under a half-turn about the centre than ``rules.max_asymmetry``
    (:func:`~blendphot.stamps.cleaning.smooth_asymmetry`): a companion too close to have a peak
    or a segment of its own. Each limit None: that rule off. ``rules`` may be a ``stamps``
    mapping (:meth:`InspectionRules.of`).
    """
    rules = InspectionRules.of(rules)
    reasons = []
    if rules.max_loss is not None and loss > rules.max_loss:
        reasons.append("loss")
    if rules.max_component is not None and share > rules.max_component:
        reasons.append("component")
    if rules.blended and (touching > 0 or split):
        reasons.append("blended")
    if rules.max_asymmetry is not None and asymmetry > rules.max_asymmetry:
        reasons.append("asymmetric")
    return reasons
