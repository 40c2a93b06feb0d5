"""Data shipped with blendphot: the paper's published per-blend table (see PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

PAPER_TABLE = Path(__file__).with_name("paper_output_catalog.csv")
"""The paper's per-blend results (aboucaud/coindeblend, paper_plots/output_catalog.csv)."""


def paper_table_path(configured: str | Path | None = None) -> Path:
    """The paper's per-blend table: ``configured`` when given, else the shipped copy.

    The shipped copy sits inside the package, so the CLI, the workflow, the calibration and the
    tests find the same file wherever the repository or the installed package lives.
    """
    return Path(configured).expanduser() if configured else PAPER_TABLE
