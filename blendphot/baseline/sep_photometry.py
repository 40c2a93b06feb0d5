"""Cold/hot sep photometry of one blend (paper 3.3, Table 3) and of its isolated galaxies.

The paper's procedure, as the config states it:

- a cold pass on every blend; a hot pass only where the cold one found fewer than two
  objects, whose result then replaces the cold one (as in the paper's released code);
- association: with two or more detections, the central is the one nearest the stamp centre
  and the companion the brightest (isophotal flux) of the others, the rest ignored; with one
  detection, it is the central if it lies within ``central_radius_factor * R_cen`` of the
  centre, else the companion;
- detection code: 0 only the central found, 1 only the companion, 2 both, 3 more than two,
  and -1 (ours) nothing found;
- flux: isophotal, the sum of the segment's pixels (sep's ``flux``), as the paper did.

Blends of n = 2..K galaxies (a set drawn with K > 2 slots; every row of such a set, its pairs
too, so that one rule holds in a set): the hot pass runs where the cold one found fewer than
n objects; each member's true position (the central on the stamp centre, each companion at
the centre plus its shift) is matched to one detection by greedy nearest pairs (the closest
member-detection pair first, then the closest among the rest, ...), a detection farther than
the member's gate, max(:data:`MIN_GATE` px, its radius ``g{k}_rad``), never matching it
(:func:`match_members`); detections matched to no member are spurious; the detection code
is that of :data:`MULTI_DETECTION_CODES`.

Beyond the paper: a Kron flux of each associated galaxy (:mod:`blendphot.baseline.kron`), and
the isolated reference: the same estimators on each galaxy's own unblended stamp, where the
galaxy is the detection nearest its own position (cold pass; hot only where cold found
nothing).

Nothing here raises on bad pixels: non-native, non-contiguous or non-float32 arrays are
converted, non-finite pixels set to 0, blank stamps skipped, sep buffer overflows retried
once with larger limits; each case sets a bit of the ``problems`` mask (:data:`PROBLEMS`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import sep

from blendphot.baseline.kron import kron_fluxes, kron_photometry
from blendphot.baseline.settings import BaselineSettings, DetectionSettings, KronSettings
from blendphot.sepcall import (  # noqa: F401 - re-exported: the baseline's problem bits
    BLANK,
    CONVERTED,
    NONFINITE,
    OVERFLOW_RETRIED,
    SEP_FAILED,
    Limits,
    _empty_objects,
    prepare_image,
    sep_limits,
    sep_pass,
)

log = logging.getLogger(__name__)

DETECTION_CODES = {
    -1: "nothing detected",
    0: "only the central found",
    1: "only the companion found",
    2: "both found",
    3: "more than two found",
}

MULTI_DETECTION_CODES = {
    -1: "nothing detected",
    0: "the central found, not every companion",
    1: "the central missed, a companion found",
    2: "every member found",
    3: "spurious detections present",
}
"""Detection codes of blends of a K > 2 set (:func:`member_detection_code`)."""

MIN_GATE = 3.0
"""Smallest association gate, pixels: a detection farther than max(MIN_GATE, the member's
radius) from a member's true position does not match it."""

# Bits of the per-blend ``problems`` mask (OR over the blend and its two isolated stamps).
NOISE_FALLBACK = 32  # noise estimate unusable (0, NaN): fell back to the known level
PROBLEMS = {
    CONVERTED: "converted",
    NONFINITE: "nonfinite",
    BLANK: "blank",
    OVERFLOW_RETRIED: "overflow_retried",
    SEP_FAILED: "sep_failed",
    NOISE_FALLBACK: "noise_fallback",
}

PIXSTACK_FACTOR = 2  # pixel stack = this x stamp pixels: room for a stamp wholly detected


class BlendMeasure(NamedTuple):
    """One blend's sep measurement (NaN fluxes for a galaxy not found)."""

    flux_central: float
    flux_companion: float
    detection: int
    pass_used: str
    n_detected: int
    kron_central: float
    kron_companion: float
    problems: int
    err_central: float = np.nan  # 1-sigma errors of the fluxes above, from the pixel noise
    err_companion: float = np.nan
    kron_err_central: float = np.nan
    kron_err_companion: float = np.nan
    separation: float = np.nan  # detections' distance / sum of semi-major axes (both found)


def detection_separation(objects: np.ndarray, central: int, companion: int) -> float:
    """Distance between the central's and the companion's detections in units of the sum of
    their semi-major axes (sep's second-moment ``a``): an observable of how much the two
    overlap; NaN unless both were found."""
    if central < 0 or companion < 0:
        return np.nan
    pair = objects[[central, companion]]
    distance = np.hypot(*(np.diff(np.asarray(pair[k], float))[0] for k in ("x", "y")))
    size = float(np.sum(np.asarray(pair["a"], float)))
    return float(distance / size) if size > 0 else np.nan


def run_limits(size: int) -> Limits:
    """Limits for stamps of ``size`` pixels: a pixel stack sized to the stamp, not sep's 300000.

    sep allocates the whole stack on every extract call, so its default costs about 0.15 ms
    per call on a 128x128 stamp; twice the stamp's pixels can hold a wholly detected stamp.
    """
    return Limits(PIXSTACK_FACTOR * size, sep.get_sub_object_limit())


def usable_noise(noise: float | None) -> bool:
    """Whether a noise level can scale sep's threshold (finite and positive)."""
    return noise is not None and bool(np.isfinite(noise)) and noise > 0


def associate_indices(
    objects: np.ndarray, centre: float, r_cen: float, radius_factor: float
) -> tuple[int, int, int]:
    """(central index, companion index, detection code); index -1 for a galaxy not found."""
    n = len(objects)
    if n == 0:
        return -1, -1, -1
    dist = np.hypot(objects["x"] - centre, objects["y"] - centre)
    if n == 1:
        return (0, -1, 0) if dist[0] <= radius_factor * r_cen else (-1, 0, 1)
    central = int(np.argmin(dist))
    flux = np.array(objects["flux"], dtype=float)
    flux[central] = -np.inf
    return central, int(np.argmax(flux)), 2 if n == 2 else 3


def associate(
    objects: np.ndarray, centre: float, r_cen: float, radius_factor: float
) -> tuple[float, float, int]:
    """(central flux, companion flux, detection code); NaN for a galaxy not found."""
    i_cen, i_comp, code = associate_indices(objects, centre, r_cen, radius_factor)
    fluxes = objects["flux"]
    return (
        float(fluxes[i_cen]) if i_cen >= 0 else np.nan,
        float(fluxes[i_comp]) if i_comp >= 0 else np.nan,
        code,
    )


class Detection(NamedTuple):
    """The detections of one blend and their association with the central and companion."""

    data: np.ndarray  # the prepared image (prepare_image)
    objects: np.ndarray  # sep objects of the pass used (empty when not run)
    segmap: np.ndarray | None
    pass_used: str  # cold, hot, or none (stamp not run)
    problems: int
    central: int  # index into objects, -1: not found
    companion: int
    detection: int  # DETECTION_CODES


def cold_hot_pass(
    data: np.ndarray,
    noise: float,
    settings: DetectionSettings | BaselineSettings | Mapping,
    min_objects: int,
    segmentation: bool = False,
    limits: Limits | None = None,
) -> tuple[np.ndarray, np.ndarray | None, str, int]:
    """(objects, segmap, pass used, problem bits): the cold pass, replaced by the hot one
    where it found fewer than ``min_objects`` objects, on a prepared image (``settings``:
    the passes, :meth:`DetectionSettings.of`)."""
    passes = DetectionSettings.of(settings)
    objects, segmap, flags = sep_pass(data, noise, passes.cold.as_config(), segmentation, limits)
    if len(objects) >= min_objects:
        return objects, segmap, "cold", flags
    objects, segmap, bits = sep_pass(data, noise, passes.hot.as_config(), segmentation, limits)
    return objects, segmap, "hot", flags | bits


def matched_fluxes(
    data: np.ndarray,
    objects: np.ndarray,
    segmap: np.ndarray | None,
    match: np.ndarray,
    noise: float,
    kron: KronSettings | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(isophotal, its error, Kron, its error) per galaxy of ``match`` (the detection index
    of each galaxy, -1 where not found: NaN); ``kron``: the Kron aperture, None: no Kron
    flux (NaN)."""
    match = np.asarray(match, dtype=int)
    iso, iso_err, auto, auto_err = (np.full(len(match), np.nan) for _ in range(4))
    slots = np.flatnonzero(match >= 0)
    found = match[slots]
    if len(found):
        iso[slots] = objects["flux"][found]
        iso_err[slots] = isophotal_errors(objects[found], noise)
        if kron is not None and segmap is not None:
            auto[slots], auto_err[slots] = kron_photometry(
                data, objects, segmap, found, kron, noise
            )
    return iso, iso_err, auto, auto_err


def detect_blend(
    image: np.ndarray,
    noise: float,
    r_cen: float,
    settings: DetectionSettings | BaselineSettings | Mapping,
    segmentation: bool = False,
    limits: Limits | None = None,
) -> Detection:
    """The paper's detection on a blend: cold pass, hot pass if fewer than two objects, then
    the association (:func:`associate_indices`). Shared by the sep and scarlet baselines
    (``settings``: :meth:`DetectionSettings.of`)."""
    settings = DetectionSettings.of(settings)
    data, flags = prepare_image(image)
    if not usable_noise(noise):
        flags |= SEP_FAILED
    if flags & (BLANK | SEP_FAILED):
        return Detection(data, _empty_objects(), None, "none", flags, -1, -1, -1)
    objects, segmap, used, bits = cold_hot_pass(data, noise, settings, 2, segmentation, limits)
    flags |= bits
    centre = data.shape[-1] // 2
    i_cen, i_comp, code = associate_indices(objects, centre, r_cen, settings.central_radius_factor)
    return Detection(data, objects, segmap, used, flags, i_cen, i_comp, code)


def measure_blend(
    image: np.ndarray,
    noise: float,
    r_cen: float,
    settings: BaselineSettings | Mapping,
    kron: bool = True,
    limits: Limits | None = None,
) -> BlendMeasure:
    """Cold pass, hot pass if fewer than two objects, association, isophotal (+ Kron) fluxes
    (``settings``: :meth:`BaselineSettings.of`)."""
    settings = BaselineSettings.of(settings)
    det = detect_blend(image, noise, r_cen, settings.detection, kron, limits)
    data, objects, segmap, used, flags = det[:5]
    if used == "none":
        return BlendMeasure(np.nan, np.nan, -1, "none", 0, np.nan, np.nan, flags)
    i_cen, i_comp, code = det.central, det.companion, det.detection
    iso, iso_err, auto, auto_err = matched_fluxes(
        data, objects, segmap, np.array([i_cen, i_comp]), noise, settings.kron if kron else None
    )
    return BlendMeasure(
        iso[0],
        iso[1],
        code,
        used,
        len(objects),
        auto[0],
        auto[1],
        flags,
        *iso_err,
        *auto_err,
        detection_separation(objects, i_cen, i_comp),
    )


def member_gates(radii: np.ndarray, min_gate: float = MIN_GATE) -> np.ndarray:
    """Association gates of members of radii ``radii`` (pixels): max(min_gate, radius); a
    radius that is not finite gets ``min_gate``."""
    radii = np.asarray(radii, dtype=float)
    return np.maximum(np.where(np.isfinite(radii), radii, 0.0), min_gate)


def match_members(objects: np.ndarray, positions: np.ndarray, gates: np.ndarray) -> np.ndarray:
    """The detection matched to each member (n,), -1 where none: one-to-one, greedy nearest
    pairs (the closest member-detection pair first, ties by member then detection order),
    a detection beyond a member's gate never matching it. ``positions`` (n, 2) are x, y."""
    positions = np.asarray(positions, dtype=float).reshape(-1, 2)
    match = np.full(len(positions), -1, dtype=int)
    if len(objects) == 0 or len(positions) == 0:
        return match
    x, y = np.asarray(objects["x"], float), np.asarray(objects["y"], float)
    dist = np.hypot(x[None, :] - positions[:, :1], y[None, :] - positions[:, 1:])
    members, dets = np.nonzero(dist <= np.asarray(gates, dtype=float)[:, None])
    taken = np.zeros(len(objects), dtype=bool)
    for i in np.argsort(dist[members, dets], kind="stable"):
        m, d = members[i], dets[i]
        if match[m] < 0 and not taken[d]:
            match[m], taken[d] = d, True
    return match


def found_mask(match: np.ndarray) -> int:
    """Bit mask of the members found: bit k set when member k (0 = the central) was matched."""
    return int(sum(1 << k for k, i in enumerate(np.asarray(match)) if i >= 0))


def member_detection_code(match: np.ndarray, n_detected: int) -> int:
    """Detection code of :data:`MULTI_DETECTION_CODES` from the members' matches: -1 nothing
    detected; 3 spurious detections (matched to no member) present; otherwise 2 every member
    found, 0 the central found but not every companion, 1 the central missed."""
    match = np.asarray(match)
    if n_detected == 0:
        return -1
    if n_detected > int((match >= 0).sum()):
        return 3
    if (match >= 0).all():
        return 2
    return 0 if match[0] >= 0 else 1


class MemberMeasure(NamedTuple):
    """One blend of n galaxies measured by sep: per member (n,) arrays, NaN where not found."""

    flux: np.ndarray  # isophotal
    kron: np.ndarray
    flux_err: np.ndarray
    kron_err: np.ndarray
    detection: int  # MULTI_DETECTION_CODES
    pass_used: str
    n_detected: int
    found: int  # found_mask
    n_spurious: int
    separation: float  # central - first companion, as detection_separation
    problems: int


def measure_members(
    image: np.ndarray,
    noise: float,
    positions: np.ndarray,
    gates: np.ndarray,
    settings: BaselineSettings | Mapping,
    kron: bool = True,
    limits: Limits | None = None,
) -> MemberMeasure:
    """Cold pass, hot pass if it found fewer objects than members, the members matched to
    detections (:func:`match_members`), isophotal (+ Kron) fluxes of those found
    (``settings``: :meth:`BaselineSettings.of`)."""
    settings = BaselineSettings.of(settings)
    n = len(positions)
    nan = np.full(n, np.nan)
    data, flags = prepare_image(image)
    if not usable_noise(noise):
        flags |= SEP_FAILED
    if flags & (BLANK | SEP_FAILED):
        return MemberMeasure(nan, nan, nan, nan, -1, "none", 0, 0, 0, np.nan, flags)
    objects, segmap, used, bits = cold_hot_pass(data, noise, settings.detection, n, kron, limits)
    flags |= bits
    match = match_members(objects, positions, gates)
    aperture = settings.kron if kron else None
    iso, iso_err, auto, auto_err = matched_fluxes(data, objects, segmap, match, noise, aperture)
    separation = detection_separation(objects, int(match[0]), int(match[1])) if n > 1 else np.nan
    return MemberMeasure(
        iso,
        auto,
        iso_err,
        auto_err,
        member_detection_code(match, len(objects)),
        used,
        len(objects),
        found_mask(match),
        len(objects) - int((match >= 0).sum()),
        separation,
        flags,
    )


def isophotal_errors(objects: np.ndarray, noise: float) -> np.ndarray:
    """1-sigma errors of sep's isophotal fluxes: white ``noise`` per pixel over each
    object's isophotal area (``npix`` pixels), sqrt(npix) * noise."""
    return np.sqrt(np.asarray(objects["npix"], dtype=float)) * float(noise)


def nearest_index(objects: np.ndarray, x: float, y: float) -> int:
    """Index of the detection nearest (x, y); -1 if there is none."""
    if len(objects) == 0:
        return -1
    return int(np.argmin(np.hypot(objects["x"] - x, objects["y"] - y)))


def measure_isolated(
    image: np.ndarray,
    noise: float,
    x: float,
    y: float,
    settings: BaselineSettings | Mapping,
    kron: bool = True,
    limits: Limits | None = None,
) -> tuple[float, float, int]:
    """(isophotal flux, Kron flux, problem bits) of the galaxy at (x, y) on its own stamp
    (``settings``: :meth:`BaselineSettings.of`).

    Same estimators as on the blend: cold pass, hot only where cold found nothing; the galaxy
    is the detection nearest (x, y). NaN fluxes when nothing is detected.
    """
    settings = BaselineSettings.of(settings)
    data, flags = prepare_image(image)
    if not usable_noise(noise):
        flags |= SEP_FAILED
    if flags & (BLANK | SEP_FAILED):
        return np.nan, np.nan, flags
    objects, segmap, _, bits = cold_hot_pass(data, noise, settings.detection, 1, kron, limits)
    flags |= bits
    i = nearest_index(objects, x, y)
    if i < 0:
        return np.nan, np.nan, flags
    auto = np.nan
    if kron and segmap is not None:
        auto = float(kron_fluxes(data, objects, segmap, np.array([i]), settings.kron)[0])
    return float(objects["flux"][i]), auto, flags


def stamp_noise(image: np.ndarray, known: float | None, mode: str) -> tuple[float, int]:
    """Noise per pixel of one stamp and problem bits: the known level, or sep's global rms.

    ``background`` mode is the paper's: sep.Background with its default 64-pixel boxes (2x2
    boxes on a 128-pixel stamp). An unusable estimate (blank stamp, zero or NaN rms) falls
    back to ``known``.
    """
    usable = usable_noise(known)
    if mode == "known" and usable:
        return float(known), 0
    data, flags = prepare_image(image)
    rms = np.nan
    if not flags & BLANK:  # sep gives a blank stamp an rms of 1
        try:
            rms = float(sep.Background(data).globalrms)
        except Exception:  # noqa: BLE001 - sep raises plain Exception
            pass
    if usable_noise(rms):
        return rms, 0
    return (float(known) if usable else np.nan), NOISE_FALLBACK


def table3(settings: DetectionSettings | BaselineSettings | Mapping):
    """The paper's Table 3 (sep settings for the hot and cold passes), from the config
    (``settings``: :meth:`DetectionSettings.of`)."""
    import pandas as pd

    passes = DetectionSettings.of(settings)
    hot, cold = passes.hot.as_config(), passes.cold.as_config()
    names = {
        "thresh": "Detection threshold",
        "minarea": "Minimum pixel area per object",
        "deblend_cont": "Minimum contrast ratio",
        "deblend_nthresh": "Number of thresholds for deblending",
    }
    rows = [{"parameter": v, "hot": hot[k], "cold": cold[k]} for k, v in names.items()]
    return pd.DataFrame(rows, dtype=object)  # integers stay integers (64, not 64.0)
