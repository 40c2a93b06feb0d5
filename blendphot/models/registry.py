"""Model registry: architecture name -> builder.

Adding a model is one module that calls :func:`register` plus one config entry naming it
(``architecture:``, and ``module:`` pointing at the module if it is not part of blendphot).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

from blendphot.errors import ConfigError

BUILTIN_MODULES = (
    "blendphot.models.blend2flux",
    "blendphot.models.unet",
    "blendphot.models.blend2mask2flux",
)


WIDTH_TARGET = "flux_err"
"""The optional target of a model that gives its own 1-sigma flux widths (N, K)."""

SLOTS_PARAM = "slots"
"""The builder keyword that receives K, the training set's number of galaxy slots."""

WORKFLOW_PARAMS = {
    "input_shape": "it is the blend set's stamp size",
    SLOTS_PARAM: "it is the blend set's K",
}
"""Builder keywords the workflow sets itself, never a model's ``params`` (and why)."""


@dataclass(frozen=True)
class Architecture:
    """A registered architecture: its builder and what it is trained to predict.

    ``build(input_shape, **params, slots=K)`` returns an uncompiled keras.Model taking a
    normalised blend image (S, S, 1) and returning one output per target, in the order of
    ``targets``: ``flux`` (N, K), the K slots' fluxes in units of the training set's median
    flux, and/or ``masks`` (N, S, S, K), the slots' masks in [0, 1]; optionally, after
    ``flux``, ``flux_err`` (N, K), a positive 1-sigma width of each flux in the same units
    (trained with a Gaussian NLL, :mod:`blendphot.models.widths`).

    K is the training set's number of galaxy slots (:func:`blendphot.blends.layout.slot_count`;
    2 for the paper's pairs), in the blend set's order: slot 1 the central, then the
    companions by decreasing brightness (the brightest first). A blend of n < K galaxies has
    K - n absent slots: their flux targets are NaN; the flux MAPE scores the flux predicted
    there (``training.absent_weight``, :class:`blendphot.models.losses.MaskedMAPE`) and the
    width's NLL leaves them out; their mask targets are empty masks (there is no galaxy
    there), which the mask loss keeps. The
    workflow passes ``slots=K`` to a builder that has a ``slots`` parameter; a builder
    without one is built as it is (two outputs) and can only train on pair sets
    (:meth:`builder_params`).
    """

    name: str
    build: Callable
    targets: tuple[str, ...] = ("flux",)
    width_param: str | None = None  # a builder parameter that, true, adds a flux_err output

    def targets_for(self, params: dict) -> tuple[str, ...]:
        """The targets of the model built with ``params``: ``flux_err`` follows ``flux``
        when the ``width_param`` parameter is true."""
        if not (self.width_param and params.get(self.width_param)) or WIDTH_TARGET in self.targets:
            return self.targets
        k = self.targets.index("flux") + 1
        return (*self.targets[:k], WIDTH_TARGET, *self.targets[k:])

    def takes_slots(self) -> bool:
        """Whether the builder has a ``slots`` parameter (the number of galaxy slots K)."""
        return SLOTS_PARAM in inspect.signature(self.build).parameters

    def accepted_params(self) -> tuple[str, ...] | None:
        """The names a model's ``params`` may set: the builder's keyword parameters less
        ``input_shape`` and ``slots`` (both set by the workflow); None when the builder takes
        ``**kwargs`` (any name)."""
        parameters = inspect.signature(self.build).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return None
        keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return tuple(
            p.name for p in parameters if p.kind in keyword and p.name not in WORKFLOW_PARAMS
        )

    def check_params(self, params: dict, model: str | None = None) -> None:
        """ConfigError, naming the model, the unknown name(s) and the accepted ones, when
        ``params`` sets a name its builder does not take, or one the workflow sets itself
        (``input_shape``, ``slots``)."""
        who = f"model '{model}' (architecture '{self.name}')" if model else f"'{self.name}'"
        if not isinstance(params, dict):
            raise ConfigError(None, f"{who}: params must be a mapping, not {params!r}")
        for name in WORKFLOW_PARAMS:
            if name in params:
                raise ConfigError(
                    None, f"{who}: params must not set '{name}' ({WORKFLOW_PARAMS[name]})"
                )
        accepted = self.accepted_params()
        if accepted is None:
            return
        unknown = [name for name in params if name not in accepted]
        if unknown:
            names = ", ".join(
                f"'{name}'"
                + "".join(f" (did you mean '{m}'?)" for m in get_close_matches(name, accepted, 1))
                for name in unknown
            )
            raise ConfigError(
                None,
                f"{who}: unknown params {names}; its builder "
                f"{self.build.__module__}.{self.build.__qualname__} accepts "
                f"{', '.join(accepted) or 'none'}",
            )

    def builder_params(self, params: dict, slots: int, model: str | None = None) -> dict:
        """The builder's keyword arguments for a training set of ``slots`` galaxy slots: the
        configured ``params`` plus ``slots=K`` when the builder takes it. ConfigError, naming
        the model, for a builder without ``slots`` and K > 2, or ``slots`` set in ``params``
        (it comes from the blend set)."""
        who = f"model '{model}' (architecture '{self.name}')" if model else f"'{self.name}'"
        self.check_params(params, model)
        if self.takes_slots():
            return {**params, SLOTS_PARAM: slots}
        if slots != 2:
            raise ConfigError(
                None,
                f"{who}: the blend sets have {slots} galaxy slots but its builder has no "
                f"'{SLOTS_PARAM}' parameter (it predicts pairs only; add slots=2 to its "
                "signature and give one output per slot)",
            )
        return dict(params)


_REGISTRY: dict[str, Architecture] = {}


def register(
    name: str, targets: tuple[str, ...] = ("flux",), width_param: str | None = None
) -> Callable:
    """Decorator registering a builder under ``name`` (``width_param``: the parameter that
    switches on its own flux width output, if it has one)."""

    def decorator(build: Callable) -> Callable:
        _REGISTRY[name] = Architecture(name, build, targets, width_param)
        return build

    return decorator


def load_model_modules(modules: Iterable[str] = ()) -> None:
    """Import the built-in model modules and any extra ones (dotted names or .py paths)."""
    for module in (*BUILTIN_MODULES, *modules):
        if module.endswith(".py"):
            path = Path(module)
            if not path.exists():
                raise ConfigError(path, "model module file does not exist")
            name = f"blendphot_user_models.{path.stem}"
            if name in sys.modules:
                continue
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
        else:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise ConfigError(None, f"cannot import model module '{module}': {exc}") from exc


def get_architecture(name: str) -> Architecture:
    """The registered architecture ``name``; ConfigError listing the known ones otherwise."""
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ConfigError(None, f"unknown architecture '{name}' (registered: {known})")
    return _REGISTRY[name]


def registered_names() -> list[str]:
    """Names of every registered architecture."""
    return sorted(_REGISTRY)


def check_models(models: dict) -> None:
    """Import every model's module and check its architecture is registered and its
    ``params`` are names its builder takes (before any job)."""
    load_model_modules([m["module"] for m in models.values() if "module" in m])
    for name, model in models.items():
        try:
            architecture = get_architecture(model["architecture"])
        except ConfigError as exc:
            raise ConfigError(None, f"model '{name}': {exc.problem}") from exc
        architecture.check_params(model.get("params", {}), name)
        for parent in init_sources(model):
            if parent not in models:
                raise ConfigError(
                    None, f"model '{name}': init_from '{parent}' is not a configured model"
                )
        _check_no_loop(models, name, [name])


def check_slots(models: dict, slots: int) -> None:
    """Check that every model can be built for blend sets of ``slots`` galaxy slots (a
    builder without a ``slots`` parameter only for pairs); ConfigError naming the model."""
    check_models(models)
    for name, model in models.items():
        get_architecture(model["architecture"]).builder_params(model.get("params", {}), slots, name)


def init_sources(model: dict) -> list[str]:
    """The models whose trained weights start this one (``init_from``: a name or a list)."""
    value = model.get("init_from") or []
    return [value] if isinstance(value, str) else list(value)


def _check_no_loop(models: dict, name: str, path: list[str]) -> None:
    for parent in init_sources(models[path[-1]]):
        if parent in path:
            raise ConfigError(None, f"model '{name}': init_from makes a loop {[*path, parent]}")
        _check_no_loop(models, name, [*path, parent])


def flux_models(models: dict) -> list[str]:
    """Names of the configured models that predict fluxes (they get catalogue columns)."""
    check_models(models)
    return [n for n, m in models.items() if "flux" in get_architecture(m["architecture"]).targets]


def mask_models(models: dict) -> list[str]:
    """Names of the configured models that predict segmentation masks."""
    check_models(models)
    return [n for n, m in models.items() if "masks" in get_architecture(m["architecture"]).targets]
