"""Sphinx configuration of the blendphot documentation (MyST Markdown pages, autodoc API).

Build: sphinx-build -W -b html docs docs/_build/html (tests/test_docs.py builds it so)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package of this checkout, for autodoc

project = "blendphot"
author = "the blendphot developers"
copyright = "the blendphot developers, BSD-3-Clause"

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "studies/tables"]  # tables the studies include
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True}

html_theme = "alabaster"
html_title = "blendphot"
html_theme_options = {"description": "Photometry of blended galaxies with deep learning"}
