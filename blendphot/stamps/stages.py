"""The stamps stage (paper 2.1): selection, cut-outs and neighbour cleaning; Table 1."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import stage


@stage(
    inputs=("mosaic", "catalog", "images", "segmaps"),
    outputs=("stamps", "table1", "cleaning"),
    settings=("stamps", "sky", "seed"),
    optional_inputs=("mosaic", "images", "segmaps"),
)
def stamps(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Select galaxies, cut and clean their stamps; Table 1.

    Inputs by sky.source: mosaic and catalog (synthetic, fits), or images, segmaps and catalog
    (candels_blender).
    """
    from blendphot.stamps.build import build_stamps, build_stamps_candels
    from blendphot.stamps.settings import StampSettings

    sky, seed = settings["sky"], settings["seed"]
    stamps = StampSettings.of(settings["stamps"])
    common = {"cleaning_path": Path(outputs["cleaning"]) if outputs.get("cleaning") else None}
    written = (Path(outputs["stamps"]), Path(outputs["table1"]))
    if sky["source"] == "candels_blender":
        files = (Path(inputs[k]) for k in ("images", "segmaps", "catalog"))
        build_stamps_candels(*files, stamps, sky, seed, *written, **common)
    else:
        files = (Path(inputs[k]) for k in ("mosaic", "catalog"))
        build_stamps(*files, stamps, seed, *written, sky=sky, **common)
