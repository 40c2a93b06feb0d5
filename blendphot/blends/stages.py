"""The blend-set stage (paper 2.2-2.3): galaxy-disjoint train/val/test blends (pairs, or
2 to 4 galaxies with ``blends.n_galaxies``)."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import stage


@stage(inputs=("stamps",), outputs=("train", "val", "test"), settings=("blends", "seed"))
def blend_sets(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Blend galaxies (pairs, or 2 to 4 each) into galaxy-disjoint train/val/test sets."""
    from blendphot.blends.build import build_blend_sets
    from blendphot.blends.settings import BlendSettings

    blends = BlendSettings.of(settings["blends"])
    paths = {split: Path(outputs[split]) for split in ("train", "val", "test")}
    build_blend_sets(Path(inputs["stamps"]), blends, settings["seed"], paths)
