"""Configuration: loading and schema validation shared by Snakemake and the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from blendphot.errors import ConfigError, InputError

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")
PAIRS_ONLY = {2: 1.0}  # blends.n_galaxies's default: the paper's pairs
MAX_GALAXIES = 4  # the largest blend blends.n_galaxies may ask for


def load_schema() -> dict:
    """The configuration JSON schema (YAML on disk)."""
    import yaml

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


def validate_config(
    config: dict,
    source: str | Path | None = None,
    origin: Callable[[list[str]], str | None] | None = None,
) -> dict:
    """Validate ``config`` against the schema, fill defaults, and return it.

    Raises ConfigError naming the offending key (its full path) and the problem, and where
    that key was set: ``origin(path)`` when given (see :func:`key_origin`), else ``source``.
    """
    import jsonschema

    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        path = [str(p) for p in error.absolute_path]
        source = (origin(path) if origin else None) or source
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            unknown = sorted(k for k in error.instance if k not in known)
            keys = ", ".join(f"'{'.'.join([*path, k])}'" for k in unknown)
            if origin:
                source = origin([*path, unknown[0]]) or source
            raise ConfigError(source, f"unknown config key {keys} (see config/README.md)")
        where = ".".join(path) or "<top level>"
        raise ConfigError(source, f"invalid config key '{where}': {error.message}")
    _fill_defaults(schema, config, schema)
    if isinstance(config.get("blends"), dict) and "n_galaxies" in config["blends"]:
        where = (origin(["blends", "n_galaxies"]) if origin else None) or source
        counts = galaxy_count_shares(config["blends"]["n_galaxies"], where)
        if max(counts) > 2 and (config.get("scarlet") or {}).get("enabled"):
            raise ConfigError(
                where,
                "scarlet fits pairs only: with blends.n_galaxies above 2, set "
                "scarlet.enabled: false",
            )
    return config


def galaxy_count_shares(value: Any, source: str | Path | None = None) -> dict[int, float]:
    """``blends.n_galaxies`` (count -> share) checked and normalised: integer counts 2..4
    (keys may be written as text), shares >= 0 summing to 1; zero shares dropped. None gives
    the default, pairs only. ConfigError naming ``source`` otherwise."""
    if value is None:
        return dict(PAIRS_ONLY)
    key = "blends.n_galaxies"
    if not isinstance(value, dict) or not value:
        raise ConfigError(
            source,
            f"invalid config key '{key}': {value!r} is not a mapping of "
            "galaxy counts to shares, e.g. {2: 0.75, 3: 0.2, 4: 0.05}",
        )
    shares: dict[int, float] = {}
    for count, share in value.items():
        text = str(count).strip()
        if isinstance(count, bool) or not text.isdigit() or not 2 <= int(text) <= MAX_GALAXIES:
            raise ConfigError(
                source,
                f"invalid config key '{key}': count {count!r} is not an "
                f"integer from 2 to {MAX_GALAXIES}",
            )
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not share >= 0:
            raise ConfigError(
                source, f"invalid config key '{key}.{count}': share {share!r} is not a number >= 0"
            )
        if int(text) in shares:
            raise ConfigError(source, f"invalid config key '{key}': count {int(text)} given twice")
        shares[int(text)] = float(share)
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-9:
        raise ConfigError(
            source,
            f"invalid config key '{key}': the shares {shares} sum to {total:g}, not 1. An "
            "overlay (--configfile, --config) merges into the default {2: 1.0}: to drop pairs, "
            "write their share as 0, e.g. {2: 0, 3: 1}",
        )
    return {count: share for count, share in sorted(shares.items()) if share > 0}


def load_config(path: str | Path) -> dict:
    """Read a YAML config file and validate it."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "config file does not exist")
    return validate_config(read_yaml_file(path), path)


def apply_overlays(config: dict, overlays: list[dict], overrides: dict | None = None) -> dict:
    """Give ``config`` (Snakemake's deep merge of the default and the overlays) the overlays'
    own model entries: a model entry in an overlay replaces the default's entry of the same
    name whole, so that no setting of a demo model leaks into a model the overlay defines.
    Models the overlay does not name stay. ``overrides`` (``--config`` values) keep the last
    word. Everything else keeps the deep merge: an overlay that sets one nested key changes
    that key only. Returns ``config``, changed in place.
    """
    import copy

    for overlay in overlays:
        for name, entry in ((overlay or {}).get("models") or {}).items():
            config.setdefault("models", {})[name] = copy.deepcopy(entry)
    for name, entry in ((overrides or {}).get("models") or {}).items():
        if isinstance(entry, dict) and isinstance(config["models"].get(name), dict):
            _deep_update(config["models"][name], entry)
        else:
            config["models"][name] = copy.deepcopy(entry)
    return config


def _deep_update(target: dict, new: dict) -> None:
    """Merge ``new`` into ``target`` recursively (Snakemake's rule for config files)."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def key_origin(sources: list[tuple[str, dict]]) -> Callable[[list[str]], str | None]:
    """A function naming which source set a key path: the last of ``sources`` (name, dict),
    in the order they were applied, that holds the path (a model entry counts whole)."""

    def origin(path: list[str]) -> str | None:
        for name, values in reversed(sources):
            node: Any = values
            for key in path:
                if not isinstance(node, dict) or key not in node:
                    break
                node = node[key]
            else:
                return name
        return None

    return origin


def read_yaml_file(path: str | Path) -> dict:
    """A YAML config file as a dict (empty for an empty file); ConfigError naming the file."""
    import yaml

    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(path, f"cannot be read as YAML ({exc})") from exc
    if not isinstance(values, dict):
        raise ConfigError(path, "the config must be a mapping of keys to values")
    return values
