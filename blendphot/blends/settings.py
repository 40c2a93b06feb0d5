"""The blend-set settings as frozen objects: what the science code reads instead of the config.

The stage (:mod:`blendphot.blends.stages`) builds one :class:`BlendSettings` from its config
section, once; :func:`~blendphot.blends.build.build_blend_sets` reads its attributes, never the
raw dict, and hands the drawing functions of :mod:`blendphot.blends.pairing` the part they use
(:class:`Pairing`). A function also takes a config section itself (a mapping, as tests,
benchmarks and notebooks hold one): it is converted on entry with the class's ``of``. The field
names of :class:`BlendSettings` are the config keys, described in blendphot/config.schema.yaml
and config/README.md.

Values are kept as the config gives them (an integer stays an integer): the blend sets'
``config_hash`` is computed from :meth:`BlendSettings.as_config`, and must not change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blendphot.config import galaxy_count_shares
from blendphot.sections import check_section_keys, field_names


@dataclass(frozen=True)
class Pairing:
    """How the galaxies of a blend are drawn together (``blends.recipe``, ``mag_window``,
    ``min_distance_factor``; :func:`~blendphot.blends.pairing.draw_pairs`,
    :func:`~blendphot.blends.pairing.draw_blends`)."""

    recipe: str
    mag_window: float
    min_distance_factor: float

    @classmethod
    def of(cls, settings: Pairing | BlendSettings | Mapping) -> Pairing:
        """The pairing of a :class:`BlendSettings`, or of a mapping holding the keys
        ``recipe``, ``mag_window`` and ``min_distance_factor`` (others are ignored: a whole
        ``blends`` section serves)."""
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, BlendSettings):
            return settings.pairing
        return cls(settings["recipe"], settings["mag_window"], settings["min_distance_factor"])


@dataclass(frozen=True)
class BlendSettings:
    """The ``blends`` settings, one field per config key (a config section validated against
    the schema holds every key, defaults filled in). ``n_galaxies`` (count -> share, as
    written: keys may be text) is kept as pairs; None: not given (pairs only)."""

    recipe: str
    test_fraction: float
    galaxy_key: str | None
    val_fraction: float | None
    n_galaxies: tuple[tuple[Any, float], ...] | None
    n_train: int
    n_val: int
    n_test: int
    mag_window: float
    min_distance_factor: float
    chunk: int

    @classmethod
    def of(cls, settings: BlendSettings | Mapping) -> BlendSettings:
        """A :class:`BlendSettings` as it is, or built from a ``blends`` config section;
        ValueError naming the keys a section lacks or has in excess. ``n_galaxies`` may be
        left out (a section written before it existed: pairs only)."""
        if isinstance(settings, cls):
            return settings
        names = field_names(cls)
        required = [name for name in names if name != "n_galaxies"]
        check_section_keys("blends settings", settings, required, names, "blends")
        values = {name: settings.get(name) for name in names}
        if values["n_galaxies"] is not None:
            values["n_galaxies"] = tuple(dict(values["n_galaxies"]).items())
        return cls(**values)

    def as_config(self) -> dict:
        """The settings as a ``blends`` config section, values as given (``n_galaxies``
        left out where it was not given)."""
        section = dataclasses.asdict(self)
        if self.n_galaxies is None:
            del section["n_galaxies"]
        else:
            section["n_galaxies"] = dict(self.n_galaxies)
        return section

    @property
    def shares(self) -> dict[int, float]:
        """Galaxies per blend -> share of the blends, checked and normalised
        (:func:`~blendphot.config.galaxy_count_shares`; pairs only by default)."""
        given = None if self.n_galaxies is None else dict(self.n_galaxies)
        return galaxy_count_shares(given)

    @property
    def sizes(self) -> dict[str, int]:
        """The number of blends of each split (``n_train``, ``n_val``, ``n_test``)."""
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test}

    @property
    def pairing(self) -> Pairing:
        """How a blend's galaxies are drawn together."""
        return Pairing(self.recipe, self.mag_window, self.min_distance_factor)
