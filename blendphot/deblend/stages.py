"""The stages of the deblending of a mosaic: the field, the groups, each tile, the merge and
the comparison with the truth."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from blendphot.stages import stage

log = logging.getLogger("blendphot")

FIELD_SETTINGS = ("deblend.sky", "deblend.field_seed", "sky", "seed")
"""What the drawn field reads: nothing else of the deblending reruns it."""
INPUT_SETTINGS = tuple(
    f"deblend.{key}"
    for key in ("mosaic", "catalog", "hdu", "tile_size", "tiles", "margin", "noise", "background")
)
"""Where the mosaic is, how it is read and cut into tiles."""


FIELD_SKY = {
    "placement": "field",
    "n_galaxies": 4000,
    "neighbours_per_galaxy": 4.0,
    "neighbour_mag_range": [23.6, 27.0],
}
"""The drawn field's own sky keys: a field of CANDELS depth (``sky.field_density``), 4000
galaxies like the parent sample's among four times as many fainter ones down to 27 mag."""


def field_sky(settings: dict) -> tuple[dict, int]:
    """The sky section and the seed of the field drawn for the deblending: the run's ``sky``
    with :data:`FIELD_SKY` over it and ``deblend.sky`` over both, and ``deblend.field_seed``
    (None: the run's seed + 1, so that its galaxies are not those the networks learnt)."""
    given = dict(settings["deblend"].get("sky") or {})
    sky = {**settings["sky"], **FIELD_SKY, **given}
    seed = settings["deblend"].get("field_seed")
    return sky, int(settings["seed"] + 1 if seed is None else seed)


@stage(outputs=("mosaic", "catalog"), settings=FIELD_SETTINGS)
def deblend_field(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Draw the field to deblend: the run's synthetic sky with ``deblend.sky`` over it
    (placement field: galaxies as densely as a CANDELS-depth field), its own seed."""
    from blendphot.errors import ConfigError
    from blendphot.sky.stages import DRAWN_SOURCES
    from blendphot.sky.synthetic import make_synthetic_sky

    sky, seed = field_sky(settings)
    if sky["source"] not in DRAWN_SOURCES:
        raise ConfigError(
            None,
            f"sky.source is '{sky['source']}': no field to draw; give deblend.mosaic (a FITS "
            "image) to deblend",
        )
    make_synthetic_sky(sky, seed, Path(outputs["mosaic"]), Path(outputs["catalog"]))


@stage(
    inputs=("mosaic", "catalog"),
    outputs=("groups",),
    settings=(
        *INPUT_SETTINGS,
        *(f"deblend.{key}" for key in ("columns", "pixel_origin", "link", "zeropoint")),
        "sky.zeropoint",
        "blends.recipe",
        "stamps.isolation",
        "baseline",
    ),
    optional_inputs=("catalog",),
)
def deblend_groups(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Read the mosaic's catalogue (or detect its objects with sep), group the objects that
    blend and give each group its tile."""
    from blendphot.deblend.prepare import grouped_catalog

    start = time.perf_counter()
    table = grouped_catalog(settings, inputs["mosaic"], inputs.get("catalog"))
    from blendphot.deblend.catalog import write_catalog

    write_catalog(table, Path(outputs["groups"]))
    elapsed = time.perf_counter() - start
    log.info(
        "grouped %d objects in %.1f s (%.0f objects/s): %d in groups of two or more",
        len(table), elapsed, len(table) / max(elapsed, 1e-9), int((table["group_size"] > 1).sum()),
    )  # fmt: skip


@stage(
    inputs=("mosaic", "groups", "models", "calibration", "train"),
    outputs=("tile",),
    params=("tile", "model_names"),
    settings=(
        *INPUT_SETTINGS,
        *(f"deblend.{key}" for key in ("batch_size", "max_group_size", "match_noise")),
        "models",
        "uncertainty",
        "baseline",
        "training.deterministic",
        "seed",
    ),
    list_inputs=("models",),
    optional_inputs=("models", "calibration", "train"),
)
def deblend_tile(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Deblend the groups of one tile: their stamps, each network's fluxes with calibrated
    errors, sep's photometry of the same objects, the flags (params: tile, model_names: the
    models of the files in ``models``, in order; on the command line, separated by commas)."""
    from blendphot.deblend.prepare import run_tile

    names = params["model_names"]
    if isinstance(names, str):  # the command line's
        names = [name for name in names.replace(",", " ").split() if name]
    run_tile(settings, inputs, Path(outputs["tile"]), int(params["tile"]), list(names), threads)


@stage(inputs=("tiles",), outputs=("fits", "csv"), list_inputs=("tiles",))
def deblend_merge(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Merge the tiles' catalogues into deblended.fits and deblended.csv, each object once."""
    from blendphot.deblend.catalog import merge_tiles, write_catalog

    table = merge_tiles(inputs["tiles"])
    write_catalog(table, Path(outputs["fits"]), Path(outputs["csv"]))
    log.info("deblended catalogue: %d objects from %d tiles", len(table), len(inputs["tiles"]))


@stage(
    inputs=("deblended", "truth", "mosaic", "test_catalog"),
    outputs=("csv", "md", "figure"),
    params=("dataset",),
    settings=("models", "baseline"),
    optional_inputs=("test_catalog",),
)
def deblend_truth(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The deblended catalogue of a drawn field against its truth, per group size, beside
    sep's photometry of the same objects and the artificial test blends; one figure of a
    deblended region."""
    from blendphot.deblend.truth import write_truth_report

    write_truth_report(settings, inputs, outputs, params["dataset"])
