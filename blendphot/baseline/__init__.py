"""SExtractor-style baseline with sep (paper section 3.3, Table 3)."""

from blendphot.baseline.sep_photometry import (
    DETECTION_CODES,
    associate,
    measure_blend,
    run_baseline,
    sep_pass,
    table3,
)

__all__ = ["DETECTION_CODES", "associate", "measure_blend", "run_baseline", "sep_pass", "table3"]
