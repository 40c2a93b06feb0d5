"""What the workflow plans before any job of the deblend target: the models it applies and the
mosaic's shape (hence its tiles). Nothing heavy is imported until a function needs it."""

from __future__ import annotations

from collections.abc import Mapping

from blendphot.errors import ConfigError


def check_deblend_models(deblend: Mapping, flux_models: list[str]) -> list[str]:
    """The trained flux models the deblending applies (``deblend.models``, else every flux
    model of the run); ConfigError naming one that is not a flux model of the run."""
    names = deblend.get("models")
    if names is None:
        return list(flux_models)
    unknown = [n for n in names if n not in flux_models]
    if unknown:
        raise ConfigError(
            None,
            f"deblend.models: {', '.join(unknown)} is not a flux model of this run "
            f"(flux models: {', '.join(flux_models) or 'none'})",
        )
    return list(names)


def deblend_mosaic_shape(config: Mapping, drawn: bool) -> tuple[int, int]:
    """(ny, nx) of the mosaic to deblend: the drawn field's (from its settings) or the given
    FITS image's (from its header); ConfigError when a field is to be drawn from a sky source
    that the workflow does not draw."""
    if drawn:
        from blendphot.deblend.stages import field_sky
        from blendphot.sky.stages import DRAWN_SOURCES
        from blendphot.sky.synthetic import mosaic_shape

        sky = field_sky(config)[0]
        if sky["source"] not in DRAWN_SOURCES:
            raise ConfigError(
                None,
                f"deblend.mosaic is not set and sky.source is '{sky['source']}': there is no "
                "field to draw; set deblend.mosaic to the FITS image to deblend",
            )
        return mosaic_shape(sky)
    from blendphot.deblend.prepare import mosaic_header

    deblend = config["deblend"]
    return mosaic_header(deblend["mosaic"], deblend.get("hdu"))[1]


def deblend_tile_count(config: Mapping, drawn: bool) -> int:
    """How many tiles (jobs) the deblending cuts its mosaic into; ConfigError when
    ``deblend.tiles`` would make them narrower than a stamp."""
    from blendphot.deblend.settings import DeblendSettings
    from blendphot.deblend.tiles import tile_layout

    deblend = DeblendSettings.of(config["deblend"])
    shape = deblend_mosaic_shape(config, drawn)
    deblend.check_tiles(shape)
    rows, cols, _, _ = tile_layout(shape, deblend.tile_size, deblend.tiles)
    return rows * cols
