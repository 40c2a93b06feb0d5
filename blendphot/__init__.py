"""blendphot: photometry of blended galaxies with deep learning (Boucaud et al. 2019)."""

STAMP_SIZE = 128
"""Side of every stamp, in pixels (paper section 2.1)."""


def __getattr__(name: str) -> str:
    """``__version__``, found on first use (:func:`blendphot.version.software_version`)."""
    if name == "__version__":
        from blendphot.version import software_version

        return software_version()["version"]
    raise AttributeError(f"module 'blendphot' has no attribute {name!r}")
