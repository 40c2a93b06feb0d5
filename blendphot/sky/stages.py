"""Stages of section 2.1's parent sample: the synthetic sky, and the candels-blender download."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import stage

DRAWN_SOURCES = ("synthetic", "cosmos")
"""Sky sources this workflow draws itself (mosaic, catalogue and noiseless truth)."""


@stage(outputs=("mosaic", "catalog"), settings=("sky", "seed"))
def synthetic_sky(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Draw the synthetic CANDELS-like sky (or its COSMOS twin): FITS mosaic and catalogue."""
    from blendphot.errors import ConfigError
    from blendphot.sky.settings import SkySettings
    from blendphot.sky.synthetic import make_synthetic_sky

    sky = SkySettings.of(settings["sky"])
    if sky.source not in DRAWN_SOURCES:
        raise ConfigError(None, f"sky.source is '{sky.source}': no sky to draw")
    make_synthetic_sky(sky, settings["seed"], Path(outputs["mosaic"]), Path(outputs["catalog"]))


@stage(outputs=("images", "segmaps", "catalog"))
def download_candels_blender(
    settings: dict, inputs: dict, outputs: dict, params: dict, threads: int
):
    """Download the candels-blender data set (Zenodo 2604740; needs internet)."""
    from blendphot.sky.download import download_candels_blender as download

    download({k: Path(outputs[k]) for k in ("images", "segmaps", "catalog")})
