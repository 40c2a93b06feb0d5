"""The ``deblend`` settings as a frozen object (field names are the config keys, described in
blendphot/config.schema.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from blendphot.errors import ConfigError

STAMP_SIZE = 128
"""Side of the stamps the networks take (the blend sets')."""


@dataclass(frozen=True)
class DeblendSettings:
    """What to deblend and how: the mosaic and its catalogue (None: a field drawn like the
    run's synthetic sky, ``sky`` overlaid on the run's ``sky`` section; its truth catalogue),
    the catalogue's column names, the models, the largest group the networks take, the
    tiling, the noise, the background and the zero point."""

    mosaic: str | None = None
    catalog: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    pixel_origin: int = 0
    hdu: int | None = None
    sky: Mapping[str, Any] = field(default_factory=dict)
    field_seed: int | None = None
    models: tuple[str, ...] | None = None
    link: str = "isolation"
    max_group_size: int | None = None
    tile_size: int = 2048
    tiles: tuple[int, int] | None = None
    margin: int = 96
    noise: float | None = None
    background: str = "auto"
    zeropoint: float | None = None
    batch_size: int = 64
    match_noise: bool = True

    @classmethod
    def of(cls, settings: DeblendSettings | Mapping) -> DeblendSettings:
        """A :class:`DeblendSettings` as it is, or built from a ``deblend`` config section
        (absent keys take their defaults); ConfigError on a margin too small for a stamp."""
        if isinstance(settings, cls):
            return settings
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in settings.items() if k in names}
        for key in ("models", "tiles"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        out = cls(**values)
        if out.margin < STAMP_SIZE // 2:
            raise ConfigError(
                None,
                f"deblend.margin is {out.margin}: a tile's margin must hold half a stamp "
                f"({STAMP_SIZE // 2} pixels) so that every group's stamp lies in its tile",
            )
        if out.tile_size < STAMP_SIZE:
            raise ConfigError(
                None, f"deblend.tile_size is {out.tile_size}: at least {STAMP_SIZE} pixels"
            )
        return out

    def check_tiles(self, shape: tuple[int, int]) -> None:
        """ConfigError when ``tiles`` cuts a mosaic of ``shape`` into tiles narrower than a
        stamp."""
        from blendphot.deblend.tiles import tile_layout

        if self.tiles is None:
            return
        _, _, step_y, step_x = tile_layout(shape, self.tile_size, self.tiles)
        if min(step_x, step_y) < STAMP_SIZE:
            raise ConfigError(
                None,
                f"deblend.tiles {list(self.tiles)} cuts the {shape[1]} x {shape[0]} mosaic into "
                f"tiles of {step_x} x {step_y} pixels: at least {STAMP_SIZE} each way",
            )

    @property
    def drawn(self) -> bool:
        """Whether the mosaic is a field drawn by the workflow (no ``mosaic`` given)."""
        return self.mosaic is None

    def subtracts_background(self) -> bool:
        """Whether sep's background is subtracted (``background: auto``: for a given mosaic,
        not for a drawn field, whose background is zero)."""
        if self.background == "auto":
            return not self.drawn
        return self.background == "sep"
