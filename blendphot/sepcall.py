"""One robust sep.extract call, shared by the stamps segmentation and the baseline.

Nothing here raises on bad pixels or full buffers: non-native, non-contiguous or non-float32
arrays are converted, non-finite pixels set to 0, an overflow of sep's pixel stack or
sub-object limit retried once with larger limits; each case sets a problem bit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import sep

log = logging.getLogger(__name__)

# Problem bits (the baseline ORs them into its per-blend ``problems`` mask).
CONVERTED = 1  # not native float32 C-contiguous: converted (big-endian, strided, float64...)
NONFINITE = 2  # NaN/inf pixels set to 0
BLANK = 4  # constant (or all non-finite) stamp: sep not run, nothing detected
OVERFLOW_RETRIED = 8  # sep buffer/object limit hit; retried once with larger limits
SEP_FAILED = 16  # sep failed (after the retry, if any): counted as nothing detected
RETRY_FACTOR = 8  # the one retry after an overflow: pixel stack and sub-object limit x this


class Limits(NamedTuple):
    """sep's global buffers for a run: pixel stack and sub-object limit."""

    pixstack: int
    sub_objects: int


@contextlib.contextmanager
def sep_limits(limits: Limits) -> Iterator[None]:
    """Set sep's global pixel stack and sub-object limit for the block, then restore them."""
    saved = sep.get_extract_pixstack(), sep.get_sub_object_limit()
    sep.set_extract_pixstack(int(limits.pixstack))
    sep.set_sub_object_limit(int(limits.sub_objects))
    try:
        yield
    finally:
        sep.set_extract_pixstack(saved[0])
        sep.set_sub_object_limit(saved[1])


def _empty_objects() -> np.ndarray:
    """No detections: an empty array with the sep.extract fields used here."""
    return np.empty(0, dtype=[(k, np.float64) for k in ("x", "y", "flux", "a", "b", "theta")])


def prepare_image(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Native float32, C-contiguous, finite pixels; returns (data, problem bits)."""
    flags = 0
    data = np.asarray(image)
    if data.dtype != np.float32 or not data.dtype.isnative or not data.flags.c_contiguous:
        data = np.ascontiguousarray(data, dtype=np.float32)
        flags |= CONVERTED
    if not np.isfinite(data.sum(dtype=np.float64)):
        finite = np.isfinite(data)
        if not finite.all():
            data = np.where(finite, data, np.float32(0.0))
            flags |= NONFINITE
    if data.size == 0 or data.min() == data.max():
        flags |= BLANK
    return data, flags


def _is_overflow(exc: Exception) -> bool:
    text = str(exc).lower()
    return "overflow" in text or "buffer full" in text or "limit" in text


def sep_pass(
    data: np.ndarray,
    noise: float,
    settings: dict,
    segmentation: bool = False,
    limits: Limits | None = None,
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """One sep.extract pass with Table 3 settings: (objects, segmap or None, problem bits).

    ``data`` must come from :func:`prepare_image`; ``settings`` may hold ``filter_kernel``
    (None: detect on the pixels as they are, e.g. an image already smoothed). A sep failure
    never raises: an overflow of
    the pixel stack or the sub-object limit is retried once with ``RETRY_FACTOR`` times
    larger limits; what still fails gives no objects and the SEP_FAILED bit.
    """

    def extract() -> tuple[np.ndarray, np.ndarray | None]:
        out = sep.extract(
            data,
            settings["thresh"],
            err=noise,
            minarea=settings["minarea"],
            deblend_cont=settings["deblend_cont"],
            deblend_nthresh=settings["deblend_nthresh"],
            segmentation_map=segmentation,
            **({"filter_kernel": settings["filter_kernel"]} if "filter_kernel" in settings else {}),
        )
        return out if segmentation else (out, None)

    try:
        return (*extract(), 0)
    except Exception as exc:  # noqa: BLE001 - sep raises plain Exception
        if not _is_overflow(exc):
            log.warning("sep failed on a stamp: %s", exc)
            return _empty_objects(), None, SEP_FAILED
    current = limits or Limits(sep.get_extract_pixstack(), sep.get_sub_object_limit())
    bigger = Limits(
        max(current.pixstack, data.size) * RETRY_FACTOR, current.sub_objects * RETRY_FACTOR
    )
    with sep_limits(bigger):
        try:
            return (*extract(), OVERFLOW_RETRIED)
        except Exception as exc:  # noqa: BLE001
            log.warning("sep failed on a stamp after a retry: %s", exc)
            return _empty_objects(), None, OVERFLOW_RETRIED | SEP_FAILED
