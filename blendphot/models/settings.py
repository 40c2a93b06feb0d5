"""The training settings and a model's entry as frozen objects: what the training code reads.

The stage (:mod:`blendphot.models.stages`) builds, once, the :class:`ModelSpec` of the model
it trains (its ``models.<name>`` entry) and its :class:`TrainingSettings` (the ``training``
section with the model's own ``training`` overrides applied); the functions of
:mod:`blendphot.models.train` read their attributes, never the raw dicts. A function also takes
a config mapping itself (as tests, benchmarks and notebooks hold one): it is converted on
entry with the class's ``of``. The field names are the config keys, described in
blendphot/config.schema.yaml and config/README.md.

Values are kept as the config gives them (an integer stays an integer): a resume state records
:meth:`TrainingSettings.as_config` and :meth:`ModelSpec.as_config`
(:func:`~blendphot.models.train.run_identity`), which must read as before so that a resume
state of an earlier version is still taken up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from blendphot.sections import check_section_keys

OPTIONAL_TRAINING = ("gpus",)
"""Training keys added after 0.1.0's resume states: optional in a section (their defaults
apply) and left out of a resume state's identity."""
ADDED_TRAINING = {"lr_schedule": "plateau", "flux_loss": "mape"}
"""Training keys added after 0.2.0's resume states, with their defaults: optional in a
section; in a resume state's identity only where they differ from the default (they change
what a model becomes, and an older state trained at the default)."""


@dataclass(frozen=True)
class TrainingSettings:
    """The ``training`` settings of one model, one field per config key (all of them: the
    schema-validated section, defaults filled in, with the model's overrides applied).
    ``mixed_precision`` and ``xla``: True, False or ``"auto"`` (on when a GPU is visible)."""

    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    lr_patience: int
    lr_factor: float
    mask_loss_weight: float
    absent_weight: float
    augment: bool
    memory_limit_gb: float
    freeze_init: tuple[str, ...]
    deterministic: bool
    mixed_precision: bool | str
    xla: bool | str
    gpus: str | int = "all"
    lr_schedule: str = "plateau"
    flux_loss: str = "mape"

    @classmethod
    def of(cls, settings: TrainingSettings | Mapping) -> TrainingSettings:
        """A :class:`TrainingSettings` as it is, or built from a ``training`` config section
        (with a model's overrides applied, :func:`training_settings`);
        ValueError naming the keys a section lacks or has in excess."""
        if isinstance(settings, cls):
            return settings
        names = [field.name for field in dataclasses.fields(cls)]
        optional = (*OPTIONAL_TRAINING, *ADDED_TRAINING)
        required = [name for name in names if name not in optional]
        check_section_keys("training settings", settings, required, names, "training")
        values = {name: settings[name] for name in names if name in settings}
        values["freeze_init"] = tuple(values["freeze_init"] or ())
        return cls(**values)

    def as_config(self) -> dict:
        """The settings as a ``training`` config section."""
        section = dataclasses.asdict(self)
        section["freeze_init"] = list(self.freeze_init)
        return section

    def identity(self) -> dict:
        """What a resume state records of the settings: :meth:`as_config` less the keys
        that say how a model trains, not what it becomes (:data:`OPTIONAL_TRAINING`: the
        GPUs; a run resumed after a TIMEOUT on another number of GPUs takes up its state),
        and less the keys of :data:`ADDED_TRAINING` at their defaults."""
        section = self.as_config()
        for name in OPTIONAL_TRAINING:
            section.pop(name)
        for name, default in ADDED_TRAINING.items():
            if section[name] == default:
                section.pop(name)
        return section


@dataclass(frozen=True)
class ModelSpec:
    """One ``models.<name>`` entry: the registered ``architecture``, its builder's keyword
    arguments ``params`` (read-only; :func:`dict` of it for a builder), the ``module`` that
    registers it, the models ``init_from`` whose weights start it (a name or a tuple of them,
    as written), its catalogue ``column``, its own ``training`` overrides and ``symmetries``.
    An optional key not given is None."""

    architecture: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    module: str | None = None
    init_from: str | tuple[str, ...] | None = None
    column: str | None = None
    training: Mapping[str, Any] | None = None
    symmetries: int | None = None

    @classmethod
    def of(cls, entry: ModelSpec | Mapping) -> ModelSpec:
        """A :class:`ModelSpec` as it is, or built from a model's config entry (``params``
        left out: none); ValueError when it lacks ``architecture`` or has an unknown key."""
        if isinstance(entry, cls):
            return entry
        names = [field.name for field in dataclasses.fields(cls)]
        check_section_keys("model entry", entry, ["architecture"], names, "models.*")
        values = dict(entry)
        values["params"] = MappingProxyType(dict(entry.get("params") or {}))
        if isinstance(values.get("init_from"), (list, tuple)):
            values["init_from"] = tuple(values["init_from"])
        if values.get("training") is not None:
            values["training"] = MappingProxyType(dict(values["training"]))
        return cls(**values)

    def as_config(self) -> dict:
        """The entry as the config writes it (the keys not given left out; what a resume
        state records)."""
        entry: dict[str, Any] = {"architecture": self.architecture, "params": dict(self.params)}
        optional = {
            "module": self.module,
            "init_from": list(self.init_from)
            if isinstance(self.init_from, tuple)
            else self.init_from,
            "column": self.column,
            "training": None if self.training is None else dict(self.training),
            "symmetries": self.symmetries,
        }
        entry.update({key: value for key, value in optional.items() if value is not None})
        return entry

    @property
    def init_sources(self) -> list[str]:
        """The models whose trained weights start this one, in order (``init_from``)."""
        if not self.init_from:
            return []
        return [self.init_from] if isinstance(self.init_from, str) else list(self.init_from)


def training_settings(config: Mapping, name: str) -> dict:
    """The global training settings with model ``name``'s own overrides applied, as a config
    section (:meth:`TrainingSettings.of` makes the object the training reads)."""
    return {**config["training"], **config["models"][name].get("training", {})}
