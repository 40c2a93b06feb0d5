"""The stamps settings as frozen objects: what the science code reads instead of the config.

The stage (:mod:`blendphot.stamps.stages`) builds one :class:`StampSettings` from its config
section, once; the science functions read its attributes, never the raw dict, and hand the
parts they use to the functions below them (:class:`GalaxyMap` to the galaxy map,
:class:`InspectionRules` to the exclusion rules). A function also takes a config section
itself (a mapping, as tests, benchmarks and notebooks hold one): it is converted on entry with
the class's ``of``. The field names of :class:`StampSettings` are the config keys, described
in blendphot/config.schema.yaml and config/README.md.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from blendphot.sections import check_section_keys, field_names


@dataclass(frozen=True)
class GalaxyMap:
    """The galaxy map's settings (``stamps.galaxy_*``; :func:`~blendphot.stamps.cleaning.
    galaxy_segments`): sep on the stamp smoothed at a scale coarser than a galaxy's clumps.

    ``smoothing`` 0 (the default): no galaxy map. The other defaults are the schema's."""

    smoothing: float = 0.0
    smoothing_radii: float = 0.0
    thresh: float = 6.0
    deblend_cont: float = 0.005
    deblend_nthresh: int = 32

    @classmethod
    def of(cls, settings: GalaxyMap | StampSettings | Mapping) -> GalaxyMap:
        """The galaxy map's settings of a :class:`StampSettings` or a ``stamps`` mapping
        (keys ``galaxy_smoothing``, ``galaxy_smoothing_radii``, ``galaxy_thresh``,
        ``galaxy_deblend_cont``, ``deblend_nthresh``; one left out takes the default)."""
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, StampSettings):
            return settings.galaxy_map
        default = cls()
        return cls(
            float(settings.get("galaxy_smoothing", default.smoothing)),
            float(settings.get("galaxy_smoothing_radii", default.smoothing_radii)),
            float(settings.get("galaxy_thresh", default.thresh)),
            float(settings.get("galaxy_deblend_cont", default.deblend_cont)),
            int(settings.get("deblend_nthresh", default.deblend_nthresh)),
        )

    def scale(self, radius: float = float("nan")) -> float:
        """Sigma (pixels) of the smoothing: ``smoothing``, or ``smoothing_radii`` x the
        central's catalogue ``radius`` where that is larger (a big galaxy's clumps and arms are
        bigger and further apart); 0: the map is off."""
        if self.smoothing and self.smoothing_radii and math.isfinite(radius) and radius > 0:
            return max(self.smoothing, self.smoothing_radii * float(radius))
        return self.smoothing


@dataclass(frozen=True)
class InspectionRules:
    """The automatic inspection's limits (``stamps.inspect_*``;
    :func:`~blendphot.stamps.exclusion.inspection_reasons`). A limit None, or ``blended``
    False: that rule off (the defaults: every rule off)."""

    max_loss: float | None = None
    max_component: float | None = None
    blended: bool = False
    max_asymmetry: float | None = None

    @classmethod
    def of(cls, settings: InspectionRules | StampSettings | Mapping) -> InspectionRules:
        """The limits of a :class:`StampSettings` or a ``stamps`` mapping (keys
        ``inspect_max_loss``, ``inspect_max_component``, ``inspect_blended``,
        ``inspect_max_asymmetry``; one left out: that rule off)."""
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, StampSettings):
            return settings.rules
        return cls(
            settings.get("inspect_max_loss"),
            settings.get("inspect_max_component"),
            bool(settings.get("inspect_blended", False)),
            settings.get("inspect_max_asymmetry"),
        )


@dataclass(frozen=True)
class StampSettings:
    """The ``stamps`` settings, one field per config key (all of them: a config section
    validated against the schema holds every key, defaults filled in)."""

    mag_max: float
    prob_threshold: float
    isolation: float | None
    exclude_ids: tuple[int, ...]
    segmentation: str
    detect_thresh: float
    detect_minarea: int
    deblend_cont: float
    deblend_nthresh: int
    central_max_offset: float
    central_merge_radius: float
    segment_margin: int
    dilate_iterations: int
    neighbour_mask: str
    mask_sb_fraction: float
    mask_growth_max: float
    faint_smoothing: float
    faint_thresh: float
    galaxy_smoothing: float
    galaxy_smoothing_radii: float
    galaxy_thresh: float
    galaxy_deblend_cont: float
    inspect: str
    inspect_check: int
    inspect_max_loss: float | None
    inspect_max_component: float | None
    inspect_blended: bool
    inspect_max_asymmetry: float | None

    @classmethod
    def of(cls, settings: StampSettings | Mapping) -> StampSettings:
        """A :class:`StampSettings` as it is, or built from a ``stamps`` config section;
        ValueError naming the keys a section lacks or has in excess."""
        if isinstance(settings, cls):
            return settings
        names = field_names(cls)
        check_section_keys("stamps settings", settings, names, names, "stamps")
        values = {name: settings[name] for name in names}
        values["exclude_ids"] = tuple(int(i) for i in values["exclude_ids"] or ())
        return cls(**values)

    def as_config(self) -> dict:
        """The settings as a ``stamps`` config section (what the stamps file's
        ``config_hash`` is computed from)."""
        section = dataclasses.asdict(self)
        section["exclude_ids"] = list(self.exclude_ids)
        return section

    @property
    def galaxy_map(self) -> GalaxyMap:
        """The galaxy map's settings."""
        return GalaxyMap(
            self.galaxy_smoothing,
            self.galaxy_smoothing_radii,
            self.galaxy_thresh,
            self.galaxy_deblend_cont,
            self.deblend_nthresh,
        )

    @property
    def rules(self) -> InspectionRules:
        """The automatic inspection's limits."""
        return InspectionRules(
            self.inspect_max_loss,
            self.inspect_max_component,
            self.inspect_blended,
            self.inspect_max_asymmetry,
        )


@dataclass(frozen=True)
class MosaicInput:
    """How the stamps stage reads a mosaic and its catalogue (the ``sky`` section): the sky
    source that drew it (``synthetic``, ``cosmos``; ``fits`` for a mosaic from elsewhere, and
    None without a sky section) and, for ``fits``, the HDU, the catalogue's column names, the
    pixel origin of its positions and a known noise level (None: measured per stamp).
    ``zeropoint`` serves where the mosaic's header has no MAGZERO."""

    source: str | None = None
    zeropoint: float = 25.96
    hdu: int | None = None
    columns: tuple[tuple[str, str], ...] = ()
    pixel_origin: int = 0
    noise: float | None = None

    @classmethod
    def of(cls, sky: MosaicInput | Mapping | None) -> MosaicInput:
        """From a ``sky`` config section (None: a FITS mosaic read with the defaults)."""
        if isinstance(sky, cls):
            return sky
        sky = sky or {}
        source = sky.get("source")
        zeropoint = float(sky.get("zeropoint", cls.zeropoint))
        if source != "fits":
            return cls(source, zeropoint)
        fits = sky.get("fits") or {}
        return cls(
            source,
            zeropoint,
            fits.get("hdu"),
            tuple((fits.get("columns") or {}).items()),
            int(fits.get("pixel_origin", 1)),
            fits.get("noise"),
        )

    @property
    def is_fits(self) -> bool:
        """Whether the mosaic comes from elsewhere (``sky.source: fits``)."""
        return self.source == "fits"
