"""The baseline settings as frozen objects: what the sep and scarlet code reads instead of the
config.

The stages (:mod:`blendphot.baseline.stages`) build them from their config sections, once: a
:class:`BaselineSettings` for the sep baseline, a :class:`DetectionSettings` (the cold and hot
passes, the association radius and the noise mode) for what shares sep's detection, a
:class:`ScarletSettings` for the scarlet fits. The science functions read their attributes,
never a raw dict, and hand the parts they use to the functions below them (a
:class:`PassSettings` to one sep pass, :class:`KronSettings` to the Kron flux). A function
also takes a config section itself (a mapping, as tests, benchmarks and notebooks hold one):
it is converted on entry with the class's ``of``. Field names are the config keys, described
in blendphot/config.schema.yaml (sections ``baseline`` and ``scarlet``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from blendphot.sections import check_section_keys, field_names


@dataclass(frozen=True)
class PassSettings:
    """One sep detection pass of Table 3 (``baseline.cold`` or ``baseline.hot``)."""

    thresh: float  # detection threshold, in noise sigmas
    minarea: int  # minimum area of a detection, pixels
    deblend_cont: float  # deblending contrast
    deblend_nthresh: int  # number of deblending thresholds

    @classmethod
    def of(cls, settings: PassSettings | Mapping) -> PassSettings:
        """A :class:`PassSettings` as it is, or built from a pass's config section (every
        key; ValueError naming those it lacks or has in excess). Values are kept as given,
        so that Table 3 writes them as the config does."""
        if isinstance(settings, cls):
            return settings
        names = field_names(cls)
        check_section_keys("sep pass settings", settings, names, names, "baseline.cold")
        return cls(**{name: settings[name] for name in names})

    def as_config(self) -> dict:
        """The pass as a config section (what :func:`blendphot.sepcall.sep_pass` reads)."""
        return {
            "thresh": self.thresh,
            "minarea": self.minarea,
            "deblend_cont": self.deblend_cont,
            "deblend_nthresh": self.deblend_nthresh,
        }


@dataclass(frozen=True)
class KronSettings:
    """The Kron flux (``baseline.kron``, SExtractor's PHOT_AUTOPARAMS); the defaults are the
    schema's."""

    factor: float = 2.5  # aperture: this times the Kron radius, in units of a and b
    min_radius: float = 3.5  # smallest aperture, in units of a and b
    moments_radius: float = 6.0  # the Kron radius is measured within this many a and b

    @classmethod
    def of(cls, settings: KronSettings | Mapping) -> KronSettings:
        """A :class:`KronSettings` as it is, or built from a ``baseline.kron`` section (every
        key; ValueError naming those it lacks or has in excess)."""
        if isinstance(settings, cls):
            return settings
        names = field_names(cls)
        check_section_keys("baseline.kron settings", settings, names, names, "baseline.kron")
        return cls(**{name: settings[name] for name in names})


@dataclass(frozen=True)
class DetectionSettings:
    """sep's detection on a blend, shared by the sep and scarlet baselines: the cold and hot
    passes, the radius factor of a single detection's association (``central_radius_factor``
    times R_central) and the noise mode (``known`` or ``background``)."""

    cold: PassSettings
    hot: PassSettings
    central_radius_factor: float = 0.5
    noise: str = "known"

    @classmethod
    def of(cls, settings: DetectionSettings | BaselineSettings | Mapping) -> DetectionSettings:
        """The detection settings of a :class:`BaselineSettings`, or of a ``baseline`` config
        section, whole or in part: ``cold`` and ``hot`` are needed, ``central_radius_factor``
        and ``noise`` left out take the schema's defaults (the gather stage holds the passes
        alone, for Table 3); ValueError for a missing pass or a key the section cannot hold."""
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, BaselineSettings):
            return settings.detection
        allowed = field_names(BaselineSettings)
        check_section_keys("baseline settings", settings, ("cold", "hot"), allowed, "baseline")
        return cls(
            PassSettings.of(settings["cold"]),
            PassSettings.of(settings["hot"]),
            settings.get("central_radius_factor", cls.central_radius_factor),
            settings.get("noise", cls.noise),
        )


@dataclass(frozen=True)
class BaselineSettings:
    """The ``baseline`` settings (the sep cold/hot baseline), one field per config key (all of
    them: a config section validated against the schema holds every key, defaults filled
    in)."""

    noise: str  # known: the blend set's noise level; background: sep's global rms
    cold: PassSettings
    hot: PassSettings
    central_radius_factor: float
    shards: int
    kron: KronSettings

    @classmethod
    def of(cls, settings: BaselineSettings | Mapping) -> BaselineSettings:
        """A :class:`BaselineSettings` as it is, or built from a ``baseline`` config section;
        ValueError naming the keys a section lacks or has in excess."""
        if isinstance(settings, cls):
            return settings
        names = field_names(cls)
        check_section_keys("baseline settings", settings, names, names, "baseline")
        return cls(
            settings["noise"],
            PassSettings.of(settings["cold"]),
            PassSettings.of(settings["hot"]),
            settings["central_radius_factor"],
            settings["shards"],
            KronSettings.of(settings["kron"]),
        )

    @property
    def detection(self) -> DetectionSettings:
        """The detection settings (passes, association radius, noise mode)."""
        return DetectionSettings(self.cold, self.hot, self.central_radius_factor, self.noise)


@dataclass(frozen=True)
class ScarletPsf:
    """The PSF of a sky that does not know its own (``scarlet.psf``): a FITS ``image``, else a
    circular Gaussian of ``fwhm`` arcsec; None: not given."""

    image: str | None = None
    fwhm: float | None = None

    @classmethod
    def of(cls, settings: ScarletPsf | Mapping | None) -> ScarletPsf:
        """From a ``scarlet.psf`` section (a key left out, or None: not given); ValueError
        naming a key it cannot hold."""
        if isinstance(settings, cls):
            return settings
        settings = settings or {}
        check_section_keys("scarlet.psf settings", settings, (), field_names(cls), "scarlet.psf")
        return cls(settings.get("image"), settings.get("fwhm"))


@dataclass(frozen=True)
class ScarletSettings:
    """The scarlet fits' settings: the ``scarlet`` section's keys, and the sep detection they
    start from (:class:`DetectionSettings`, of the ``baseline`` section)."""

    detection: DetectionSettings
    oracle_positions: bool  # start at the true centres instead of sep's detections
    max_iter: int  # Adam steps at most
    tolerance: float  # converged when -log L improved by less than this in ...
    patience: int  # ... this many steps
    enabled: bool = False
    shards: int = 2
    psf: ScarletPsf = ScarletPsf()

    FIT_KEYS = ("oracle_positions", "max_iter", "tolerance", "patience")
    """The ``scarlet`` keys the fits read: the others may be left out of a section."""

    @classmethod
    def of(cls, settings: ScarletSettings | Mapping) -> ScarletSettings:
        """A :class:`ScarletSettings` as it is, or built from the scarlet stages' settings: a
        mapping of ``scarlet`` (the section; ``enabled``, ``shards`` and ``psf``, which the
        fits do not read, may be left out and take the schema's defaults) and ``baseline``
        (:meth:`DetectionSettings.of`). ValueError naming the keys it lacks or has in excess."""
        if isinstance(settings, cls):
            return settings
        check_section_keys(
            "scarlet stage settings", settings, ("scarlet", "baseline"), ("scarlet", "baseline")
        )
        scarlet = settings["scarlet"]
        names = [name for name in field_names(cls) if name != "detection"]
        check_section_keys("scarlet settings", scarlet, cls.FIT_KEYS, names, "scarlet")
        optional = {name: scarlet[name] for name in ("enabled", "shards") if name in scarlet}
        return cls(
            DetectionSettings.of(settings["baseline"]),
            *(scarlet[name] for name in cls.FIT_KEYS),
            psf=ScarletPsf.of(scarlet.get("psf")),
            **optional,
        )
