"""Evaluation (paper section 4): the output catalogue, metrics, segmentation, tables."""

from blendphot.evaluate.catalog import (
    PAPER_COLUMNS,
    PAPER_LABELS,
    Method,
    build_output_catalog,
    methods_in,
)
from blendphot.evaluate.metrics import (
    binned_stats,
    binned_table,
    magnitudes,
    metrics_table,
    photometry_summary,
    selections,
)

__all__ = [
    "PAPER_COLUMNS",
    "PAPER_LABELS",
    "Method",
    "binned_stats",
    "binned_table",
    "build_output_catalog",
    "magnitudes",
    "methods_in",
    "metrics_table",
    "photometry_summary",
    "selections",
]
