"""Methods of one's own, run as extra rules: the config layer and the checks.

A method of one's own is any program (a PyTorch or JAX network, a model-fitting code, a C
binary, a classical deblender) run by a Snakemake rule file of the user's, in an env of its
own. The contract:

- the config names it under ``methods`` (``methods.NAME.rule``: the rule file; ``column``,
  ``label``, ``settings`` optional), and the workflow includes the rule file;
- its rules read ``results/{dataset}/blends/test.h5`` and ``.../val.h5`` (the blend-set layout
  of :mod:`blendphot.blends.layout`) and write ``results/{dataset}/predictions/NAME.h5`` and
  ``results/{dataset}/predictions/validation/NAME.h5`` in the predictions layout of
  :mod:`blendphot.contracts` (``model`` attribute NAME; slots in the blend set's order);
- the workflow checks every such file with the contract's checker where it reads it, and a
  violation names the method and its rule file.

The method then joins the output catalogue, the metrics, the calibration of the
uncertainties, Figures 5-9, Table 2 and the summary like any network.
:mod:`blendphot.methods.photutils_deblend` (rule file ``workflow/methods/photutils.smk``) is
the shipped example.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from blendphot.errors import ConfigError, InputError

PREDICTIONS = "results/{dataset}/predictions/{name}.h5"
VALIDATION_PREDICTIONS = "results/{dataset}/predictions/validation/{name}.h5"
RESERVED_COLUMNS = ("sex", "kron", "iso_sex", "iso_kron", "scarlet", "oracle")
"""Catalogue column suffixes of the baselines and the oracle: no method may take one."""


@dataclass(frozen=True)
class ExtraMethod:
    """One configured method of one's own (``methods.NAME``)."""

    name: str
    rule: str
    column: str
    label: str
    settings: dict = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def of(cls, name: str, entry: Mapping) -> ExtraMethod:
        """From its config entry (``rule``; ``column``, ``label`` default to the name)."""
        return cls(
            name,
            str(entry["rule"]),
            str(entry.get("column") or name),
            str(entry.get("label") or name),
            dict(entry.get("settings") or {}),
        )

    def predictions(self, dataset: str) -> str:
        """The test set's predictions file its rules must write."""
        return PREDICTIONS.format(dataset=dataset, name=self.name)

    def validation_predictions(self, dataset: str) -> str:
        """The validation set's predictions file its rules must write (for the calibration)."""
        return VALIDATION_PREDICTIONS.format(dataset=dataset, name=self.name)

    def command_options(self) -> str:
        """Its settings as command-line options, ``--key value`` each (underscores become
        dashes; a list gives its values in turn; true gives the bare flag, false nothing)."""
        words: list[str] = []
        for key, value in self.settings.items():
            option = "--" + str(key).replace("_", "-")
            if value is True:
                words.append(option)
            elif value is False or value is None:
                continue
            elif isinstance(value, (list, tuple)):
                words += [option, *(str(v) for v in value)]
            else:
                words += [option, str(value)]
        return shlex.join(words)


def extra_methods(config: Mapping) -> dict[str, ExtraMethod]:
    """The config's methods of one's own, by name, in config order."""
    return {
        name: ExtraMethod.of(name, entry) for name, entry in (config.get("methods") or {}).items()
    }


def rule_file(method: ExtraMethod, roots: Sequence[Path]) -> Path:
    """The method's rule file, absolute: ``rule`` itself when absolute, else the first of
    ``roots`` (the working directory, then the workflow's) that holds it; ConfigError when
    none does."""
    for root in roots:
        path = Path(root) / method.rule
        if path.is_file():
            return path.resolve()
    where = " or ".join(str(r) for r in roots)
    raise ConfigError(None, f"methods.{method.name}.rule: no rule file {method.rule} (in {where})")


def check_extra_methods(
    methods: Mapping[str, ExtraMethod], model_columns: Mapping[str, str], roots: Sequence[Path]
) -> dict[str, Path]:
    """Each method's rule file (:func:`rule_file`), by name; ConfigError for a method whose
    name or column another method, a model or a baseline holds, or whose rule file is not
    found."""
    taken = {name: f"model '{name}'" for name in model_columns}
    columns = {col: f"model '{name}'" for name, col in model_columns.items()}
    columns |= {col: "a baseline" for col in RESERVED_COLUMNS}
    for method in methods.values():
        where = f"methods.{method.name}"
        if method.name in taken:
            raise ConfigError(None, f"{where}: the name is taken by {taken[method.name]}")
        if method.column in columns:
            raise ConfigError(
                None, f"{where}.column '{method.column}' is taken by {columns[method.column]}"
            )
        taken[method.name] = f"method '{method.name}'"
        columns[method.column] = f"method '{method.name}'"
    return {name: rule_file(method, roots) for name, method in methods.items()}


def check_method_rules(
    rules: Iterable, methods: Mapping[str, ExtraMethod], files: Mapping[str, Path], dataset: str
) -> None:
    """ConfigError for a method of which no rule of its rule file (``files``, by name) writes
    the predictions files it promises (``rules``: the workflow's, the rule files included)."""
    rules = list(rules)
    for method in methods.values():
        own = [rule for rule in rules if Path(rule.snakefile).resolve() == files[method.name]]
        for path in (method.predictions(dataset), method.validation_predictions(dataset)):
            if not any(rule.is_producer(path) for rule in own):
                raise ConfigError(
                    None,
                    f"methods.{method.name}: no rule of {method.rule} writes {path} (the "
                    "predictions file the method promises)",
                )


def method_of_file(
    path: str | Path | None, methods: Mapping[str, ExtraMethod]
) -> ExtraMethod | None:
    """The method whose predictions file (test or validation, any dataset) ``path`` is;
    None for any other file."""
    if path is None:
        return None
    path = Path(path)
    for method in methods.values():
        for promised in (method.predictions("*"), method.validation_predictions("*")):
            if path.match(promised):
                return method
    return None


def method_error(exc: InputError, method: ExtraMethod) -> InputError:
    """``exc`` (a contract violation in one of the method's files) naming the method and its
    rule file."""
    return InputError(exc.path, f"method '{method.name}' (rule file {method.rule}): {exc.problem}")
