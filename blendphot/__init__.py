"""blendphot: photometry of blended galaxies with deep learning (Boucaud et al. 2019)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("blendphot")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

STAMP_SIZE = 128
"""Side of every stamp, in pixels (paper section 2.1)."""
