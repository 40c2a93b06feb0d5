"""Evaluation (paper section 4): the output catalogue and photometric metrics."""

from blendphot.evaluate.catalog import PAPER_COLUMNS, Method, build_output_catalog, methods_for
from blendphot.evaluate.metrics import (
    magnitudes,
    metrics_table,
    photometry_summary,
    selections,
)

__all__ = [
    "PAPER_COLUMNS",
    "Method",
    "build_output_catalog",
    "magnitudes",
    "methods_for",
    "metrics_table",
    "photometry_summary",
    "selections",
]
