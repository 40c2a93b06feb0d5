"""sep baseline (paper 3.3, Table 3), a Kron flux and the isolated reference."""

from blendphot.baseline.kron import kron_fluxes
from blendphot.baseline.run import (
    COLUMNS,
    gather_shards,
    measure_set,
    problem_counts,
    run_baseline,
    shard_rows,
)
from blendphot.baseline.sep_photometry import (
    DETECTION_CODES,
    PROBLEMS,
    associate,
    associate_indices,
    measure_blend,
    measure_isolated,
    prepare_image,
    sep_pass,
    table3,
)

__all__ = [
    "COLUMNS",
    "DETECTION_CODES",
    "PROBLEMS",
    "associate",
    "associate_indices",
    "gather_shards",
    "kron_fluxes",
    "measure_blend",
    "measure_isolated",
    "measure_set",
    "prepare_image",
    "problem_counts",
    "run_baseline",
    "sep_pass",
    "shard_rows",
    "table3",
]
