"""Configuration: loading and schema validation shared by Snakemake and the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from blendphot.errors import ConfigError, InputError

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")


def load_schema() -> dict:
    """The configuration JSON schema (YAML on disk)."""
    with open(SCHEMA_PATH) as fh:
        return yaml.safe_load(fh)


def _fill_defaults(schema: dict, instance: Any, root: dict) -> None:
    """Insert schema defaults into ``instance`` (in place), following $ref and nested objects."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root["definitions"][name]
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            default = sub["default"]
            instance[key] = default.copy() if isinstance(default, (dict, list)) else default
        if key in instance:
            _fill_defaults(sub, instance[key], root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(extra, value, root)


def validate_config(config: dict, source: str | Path | None = None) -> dict:
    """Validate ``config`` against the schema, fill defaults, and return it.

    Raises ConfigError naming the offending key (its full path) and the problem.
    """
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        path = [str(p) for p in error.absolute_path]
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            unknown = sorted(k for k in error.instance if k not in known)
            keys = ", ".join(f"'{'.'.join([*path, k])}'" for k in unknown)
            raise ConfigError(source, f"unknown config key {keys} (see config/README.md)")
        where = ".".join(path) or "<top level>"
        raise ConfigError(source, f"invalid config key '{where}': {error.message}")
    _fill_defaults(schema, config, schema)
    return config


def load_config(path: str | Path) -> dict:
    """Read a YAML config file and validate it."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "config file does not exist")
    with open(path) as fh:
        try:
            config = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise ConfigError(path, f"not valid YAML ({exc})") from exc
    if not isinstance(config, dict):
        raise ConfigError(path, "the config must be a mapping of keys to values")
    return validate_config(config, path)


def model_column(config: dict, model: str) -> str:
    """Suffix used for a model's flux columns in the output catalogue."""
    return config["models"][model].get("column", model)
