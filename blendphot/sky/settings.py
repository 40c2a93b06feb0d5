"""The sky settings as frozen objects: what the science code reads instead of the config.

The stage (:mod:`blendphot.sky.stages`) builds one :class:`SkySettings` from its ``sky``
config section, once; the science functions read its attributes, never the raw dict, and hand
the parts they use to the functions below them (:class:`PsfSettings` to the PSF,
:class:`SyntheticSettings` to the catalogue and the mosaic, :class:`CosmosSettings` to the
COSMOS sample). A function also takes a config section itself (a mapping, as tests,
benchmarks and notebooks hold one): it is converted on entry with the class's ``of``.

Field names are the config keys, described in blendphot/config.schema.yaml and
config/README.md. The schema keeps the PSF and the synthetic sky's keys flat in ``sky``; here
they are grouped in their own objects. ``sky.fits`` (read by
:class:`blendphot.stamps.settings.MosaicInput`) and ``sky.candels_blender`` (read by the
workflow) are not held.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from blendphot.sections import check_section_keys, field_names

SKY_KEYS = ("source", "zeropoint", "reference_catalog", "cosmos")
"""Keys of the ``sky`` section held by :class:`SkySettings` itself (``cosmos``: as an object)."""
READ_ELSEWHERE = ("candels_blender", "fits")
"""Keys of the ``sky`` section that :class:`SkySettings` leaves to others."""


def _values(
    cls: type, section: Mapping, where: str, *, exact: bool = False, schema_path: str | None = None
) -> dict:
    """The values of ``cls``'s fields in ``section`` (a config mapping); ValueError naming
    the keys it lacks (and, ``exact``, those it has in excess). A field with a default (a key
    added after sections were first written) may be absent: it takes its default."""
    names = field_names(cls)
    required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
    check_section_keys(
        f"{where} settings", section, required, names if exact else None, schema_path
    )
    return {name: section[name] for name in names if name in section}


@dataclass(frozen=True)
class PsfSettings:
    """The sky's PSF (``sky.psf_model``, ``sky.psf_fwhm``; :func:`~blendphot.sky.synthetic.
    make_psf`) and the pixel grid it is drawn on (``sky.pixel_scale``, arcsec)."""

    psf_model: str
    psf_fwhm: float
    pixel_scale: float

    @classmethod
    def of(cls, settings: PsfSettings | SkySettings | Mapping) -> PsfSettings:
        """The PSF settings of a :class:`SkySettings` or a ``sky`` mapping (which needs only
        ``psf_model``, ``psf_fwhm`` and ``pixel_scale``; its other keys are not read)."""
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, SkySettings):
            return settings.psf
        return cls(**_values(cls, settings, "sky psf"))


@dataclass(frozen=True)
class TypeFractions:
    """The synthetic sky's mix of morphological types (``sky.type_fractions``): bulges,
    discs, bulge+discs, irregulars (relative weights)."""

    sph: float
    disk: float
    sphd: float
    irr: float

    @classmethod
    def of(cls, settings: TypeFractions | Mapping) -> TypeFractions:
        """From the ``sky.type_fractions`` mapping (all four types, no other key)."""
        if isinstance(settings, cls):
            return settings
        return cls(
            **_values(
                cls, settings, "sky.type_fractions", exact=True, schema_path="sky.type_fractions"
            )
        )

    def share(self, galaxy_type: str) -> float:
        """The weight of one type (``sph``, ``disk``, ``sphd``, ``irr``)."""
        return getattr(self, galaxy_type)


@dataclass(frozen=True)
class SyntheticSettings:
    """How the synthetic sky is drawn (the ``sky`` keys the schema marks "synthetic sky"):
    the grid of bright galaxies, their neighbours, the noise and the shapes; with
    ``placement: field``, every object placed at random at ``field_density`` objects per
    arcmin^2 (``pixel_scale`` arcsec per pixel) instead."""

    n_galaxies: int
    neighbours_per_galaxy: float
    neighbour_mag_range: tuple[float, float]
    neighbour_distance: tuple[float, float]
    neighbour_size_scale: float
    neighbour_min_separation: float
    cell_size: int
    noise_sigma: float
    realistic_shapes: bool
    type_fractions: TypeFractions
    placement: str = "isolated"
    field_density: float = 180.0
    pixel_scale: float = 0.06

    @classmethod
    def of(cls, settings: SyntheticSettings | SkySettings | Mapping) -> SyntheticSettings:
        """The synthetic sky's settings of a :class:`SkySettings` or a ``sky`` mapping (which
        needs these keys; its other keys are not read)."""
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, SkySettings):
            return settings.synthetic
        values = _values(cls, settings, "sky synthetic")
        values["neighbour_mag_range"] = tuple(values["neighbour_mag_range"])
        values["neighbour_distance"] = tuple(values["neighbour_distance"])
        values["realistic_shapes"] = bool(values["realistic_shapes"])
        values["type_fractions"] = TypeFractions.of(values["type_fractions"])
        return cls(**values)


@dataclass(frozen=True)
class CosmosSettings:
    """The COSMOS sample of ``sky.source: cosmos`` (``sky.cosmos``): its directory, its
    depth (``23.5`` or ``25.2``) and GalSim's quality cuts."""

    dir: str
    sample: str
    exclusion_level: str

    @classmethod
    def of(cls, settings: CosmosSettings | SkySettings | Mapping) -> CosmosSettings:
        """The COSMOS settings of a :class:`SkySettings`, of a ``sky`` mapping (its ``cosmos``
        entry) or of the ``sky.cosmos`` mapping itself (these three keys, no other)."""
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, SkySettings):
            return settings.cosmos
        if isinstance(settings.get("cosmos"), Mapping):
            settings = settings["cosmos"]
        values = _values(cls, settings, "sky.cosmos", exact=True, schema_path="sky.cosmos")
        return cls(str(values["dir"]), str(values["sample"]), str(values["exclusion_level"]))


@dataclass(frozen=True)
class SkySettings:
    """The ``sky`` settings: where the galaxies come from (``source``), the zero point, the
    paper's reference table, and the PSF, synthetic-sky and COSMOS settings as their own
    objects. Built from a validated section, which holds every key (defaults filled in)."""

    source: str
    zeropoint: float
    reference_catalog: str | None
    psf: PsfSettings
    synthetic: SyntheticSettings
    cosmos: CosmosSettings

    @classmethod
    def of(cls, settings: SkySettings | Mapping) -> SkySettings:
        """A :class:`SkySettings` as it is, or built from a ``sky`` config section;
        ValueError naming the keys a section lacks or has in excess."""
        if isinstance(settings, cls):
            return settings
        parts = (PsfSettings, SyntheticSettings)
        fields = [f for part in parts for f in dataclasses.fields(part)]
        required = [*SKY_KEYS, *(f.name for f in fields if f.default is dataclasses.MISSING)]
        known = [*SKY_KEYS, *(f.name for f in fields), *READ_ELSEWHERE]
        check_section_keys("sky settings", settings, required, known, "sky")
        return cls(
            settings["source"],
            settings["zeropoint"],
            settings["reference_catalog"],
            PsfSettings.of(settings),
            SyntheticSettings.of(settings),
            CosmosSettings.of(settings["cosmos"]),
        )

    @property
    def pixel_scale(self) -> float:
        """Arcsec per pixel (``sky.pixel_scale``; held by :attr:`psf`)."""
        return self.psf.pixel_scale

    @property
    def is_cosmos(self) -> bool:
        """Whether the objects are real COSMOS galaxies (``sky.source: cosmos``)."""
        return self.source == "cosmos"
