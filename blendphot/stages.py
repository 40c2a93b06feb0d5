"""Dispatch of the workflow stages: one declaration per stage, one way to run it.

Each stage is declared once, next to its science code (``blendphot/<package>/stages.py``), with
:func:`stage`: its name (the function's, which is also the Snakemake rule's), the names of its
input and output files, its plain parameters, and the config ``settings`` it reads. A stage
sees only those settings: the rule hands them over through ``params: settings=...``, so that
Snakemake's params trigger reruns exactly what a changed setting changes. The command line
(``blendphot <stage> --help``) selects the same settings from a whole config file.

The params hold only the settings that differ from the schema's defaults
(:func:`blendphot.config.non_default_settings`); the rule script fills the defaults back in
(:func:`run_from_snakemake`), so the stage sees its settings whole. Hence a key that a new
version adds to the schema with a default (one that keeps the old behaviour) changes no job's
params, and upgrading reruns nothing, while a value moved off its default, or back onto it,
changes the params of exactly the jobs that read it: Snakemake reruns them, and its dry run
(``snakemake -n``) gives each such job's params before and now as the reason. Each stage's log
lists its settings that differ from the defaults. The limit: a new version that changes a
default, not adding a key, changes no params, so the jobs that read it do not rerun, as with
a change of code (``snakemake --forcerun <rule>`` reruns them).
"""

from __future__ import annotations

import copy
import importlib
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

log = logging.getLogger("blendphot")

STAGE_MODULES = (
    "blendphot.provenance",
    "blendphot.sky.stages",
    "blendphot.stamps.stages",
    "blendphot.blends.stages",
    "blendphot.models.stages",
    "blendphot.baseline.stages",
    "blendphot.evaluate.stages",
    "blendphot.figures.stages",
    "blendphot.crossdomain.stages",
    "blendphot.deblend.stages",
)
"""The modules that declare stages, in the paper's order. They import nothing heavy at module
level, so that loading every declaration costs no GalSim, sep, matplotlib or TensorFlow."""

SETTINGS_PARAM = "settings"
"""The rule parameter that carries a stage's config settings."""


@dataclass(frozen=True)
class Stage:
    """A stage: its function and the names of its files, parameters and config settings.

    ``settings`` are dotted config paths (``"baseline"``, ``"sky.zeropoint"``); ``{name}`` in a
    path is filled from the stage's parameters or the rule's wildcards (``"models.{model}"``).
    """

    name: str
    run: Callable
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    list_inputs: tuple[str, ...] = ()  # inputs that take several files
    optional_inputs: tuple[str, ...] = ()  # inputs that may be absent

    @property
    def help(self) -> str:
        """The stage function's docstring."""
        return (self.run.__doc__ or self.name).strip()

    @property
    def rule_params(self) -> tuple[str, ...]:
        """The parameter names its rule must give: the plain ones, then the settings."""
        return self.params + ((SETTINGS_PARAM,) if self.settings else ())


_DECLARED: dict[str, Stage] = {}


def stage(
    *,
    inputs: Iterable[str] = (),
    outputs: Iterable[str] = (),
    params: Iterable[str] = (),
    settings: Iterable[str] = (),
    list_inputs: Iterable[str] = (),
    optional_inputs: Iterable[str] = (),
) -> Callable[[Callable], Callable]:
    """Declare the decorated function a stage, named as the function.

    The function is called as ``run(settings, inputs, outputs, params, threads)`` with dicts
    of the declared names (paths as strings, lists for ``list_inputs``).
    """

    def register(run: Callable) -> Callable:
        declared = Stage(
            run.__name__,
            run,
            tuple(inputs),
            tuple(outputs),
            tuple(params),
            tuple(settings),
            tuple(list_inputs),
            tuple(optional_inputs),
        )
        unknown = set(declared.list_inputs + declared.optional_inputs) - set(declared.inputs)
        if unknown:
            raise ValueError(f"stage {run.__name__}: {sorted(unknown)} are not among its inputs")
        _DECLARED[run.__name__] = declared
        return run

    return register


def all_stages() -> dict[str, Stage]:
    """Every declared stage by name, in the paper's order."""
    for module in STAGE_MODULES:
        importlib.import_module(module)
    return dict(_DECLARED)


def get_stage(name: str) -> Stage:
    """One declared stage; KeyError naming the known ones otherwise."""
    stages = all_stages()
    if name not in stages:
        raise KeyError(f"no stage named {name!r}; stages: {', '.join(stages)}")
    return stages[name]


def select_settings(config: Mapping, paths: Iterable[str], fields: Mapping[str, str]) -> dict:
    """The parts of ``config`` at these dotted paths, as a nested dict of the same shape.

    ``{name}`` in a path is filled from ``fields``. A path absent from the config is absent
    from the result.
    """
    selected: dict = {}
    for path in paths:
        keys = path.format(**fields).split(".")
        node = config
        for key in keys:
            if not isinstance(node, Mapping) or key not in node:
                break
            node = node[key]
        else:
            target = selected
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = copy.deepcopy(node)
    return selected


def stage_settings(config: Mapping, name: str):
    """What a rule gives as ``params: settings=``: the stage's settings of ``config`` that
    differ from the schema's defaults (see the module's docstring); a function of the
    wildcards when a path names one (``models.{model}``)."""
    from blendphot.config import non_default_settings

    declared = get_stage(name)

    def settings(fields: Mapping[str, str]) -> dict:
        return non_default_settings(select_settings(config, declared.settings, fields))

    if any("{" in path for path in declared.settings):
        return lambda wildcards: settings(dict(wildcards))
    return settings({})


def settings_whole(declared: Stage, given: Mapping, fields: Mapping[str, str]) -> dict:
    """The stage's settings from what its rule hands over (:func:`stage_settings`): the
    schema's defaults filled back in, so that they equal the whole config's selection."""
    from blendphot.config import with_defaults

    return select_settings(with_defaults(given), declared.settings, fields)


def run_stage(
    name: str, config: Mapping, inputs: dict, outputs: dict, params: dict, threads: int = 1
) -> None:
    """Run one stage by name on a whole (validated) config: its settings are selected here."""
    declared = get_stage(name)
    settings = select_settings(config, declared.settings, {k: str(v) for k, v in params.items()})
    run_selected(declared, settings, inputs, outputs, params, threads)


def run_selected(
    declared: Stage, settings: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """Run a stage on its own settings (whole, defaults included), logged: its files, and
    its settings that differ from the schema's defaults (what its rule's params hold)."""
    from blendphot.config import non_default_settings

    log.info("stage %s: inputs %s -> outputs %s", declared.name, inputs, outputs)
    if declared.settings:
        off = non_default_settings(settings, keep_recorded=False)
        changed = ", ".join(_dotted(off)) or "none"
        log.info("stage %s: settings other than the schema's defaults: %s", declared.name, changed)
    declared.run(settings, inputs, outputs, params, threads)


def _dotted(settings: Mapping, prefix: str = "") -> list[str]:
    """``key.sub=value`` for each value of nested ``settings`` (an empty mapping, all of its
    keys at their defaults, gives none)."""
    items = []
    for key, value in settings.items():
        if isinstance(value, Mapping):
            items += _dotted(value, f"{prefix}{key}.")
        else:
            items.append(f"{prefix}{key}={value!r}")
    return items


def rule_mismatches(
    declared: Stage,
    inputs: Iterable[str] | None,
    outputs: Iterable[str],
    params: Iterable[str],
) -> list[str]:
    """How a rule's named files and parameters differ from its stage's declaration (empty
    when they agree). ``inputs`` None: the rule's inputs come from a function (checked per
    job)."""
    problems = []
    if inputs is not None:
        names = set(inputs)
        if extra := names - set(declared.inputs):
            problems.append(f"inputs {sorted(extra)} not declared by the stage")
        if missing := set(declared.inputs) - set(declared.optional_inputs) - names:
            problems.append(f"inputs {sorted(missing)} missing")
    if set(outputs) != set(declared.outputs):
        problems.append(f"outputs {sorted(outputs)} != declared {sorted(declared.outputs)}")
    if set(params) != set(declared.rule_params):
        problems.append(f"params {sorted(params)} != declared {sorted(declared.rule_params)}")
    return problems


def check_rules(rules: Iterable) -> None:
    """Every rule that runs a stage (a ``script:``) against its declaration; raises one
    ValueError listing each rule that differs. Called by the Snakefile when it is parsed."""
    stages = all_stages()
    problems = []
    for rule in rules:
        if not getattr(rule, "script", None):
            continue
        if rule.name not in stages:
            problems.append(f"rule {rule.name}: no stage of that name")
            continue
        static = not any(_from_function(item) for item in rule.input)
        found = rule_mismatches(
            stages[rule.name],
            rule.input.keys() if static else None,
            rule.output.keys(),
            rule.params.keys(),
        )
        problems += [f"rule {rule.name}: {p}" for p in found]
    if problems:
        raise ValueError("rules and their stages differ:\n  " + "\n  ".join(problems))


def _from_function(item) -> bool:
    """Whether a rule's input item is an input function (its names are known per job)."""
    check = getattr(item, "is_callable", None)
    return callable(item) or bool(check and check())


def run_from_snakemake(snakemake) -> None:
    """Entry point of the rule script: the job's files and settings -> its stage, logged.

    The stage is the one named as the rule; it sees only ``params.settings`` (with the
    schema's defaults filled back in), never the whole config. A bad input or a full or
    read-only disk ends the job with one line (in its log and on stderr), no traceback.
    """
    from blendphot.errors import user_error
    from blendphot.logs import quiet_tensorflow_startup, redirect_to_log

    quiet_tensorflow_startup()
    declared = get_stage(snakemake.rule)
    given = set(snakemake.input.keys())
    problems = rule_mismatches(declared, given, snakemake.output.keys(), snakemake.params.keys())
    if problems:
        raise ValueError(f"rule {snakemake.rule}: " + "; ".join(problems))
    inputs = {
        k: (list(snakemake.input[k]) if k in declared.list_inputs else str(snakemake.input[k]))
        for k in declared.inputs
        if k in given
    }
    outputs = {k: str(snakemake.output[k]) for k in declared.outputs}
    params = {k: snakemake.params[k] for k in declared.params}
    settings = {}
    if declared.settings:
        fields = {**dict(snakemake.wildcards), **{k: str(v) for k, v in params.items()}}
        settings = settings_whole(declared, snakemake.params[SETTINGS_PARAM], fields)
    try:
        with redirect_to_log(snakemake.log[0] if snakemake.log else None):
            run_selected(declared, settings, inputs, outputs, params, snakemake.threads)
    except Exception as exc:
        message = user_error(exc)
        if message is None:  # a programming error keeps its traceback
            raise
        print(f"blendphot {snakemake.rule}: error: {message}", file=sys.stderr)
        sys.exit(1)
