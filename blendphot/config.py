"""Configuration: loading and schema validation shared by Snakemake and the command line."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable, Mapping
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


@functools.cache
def _cached_schema() -> dict:
    """The schema, read once per process (read-only: :func:`load_schema` gives a copy)."""
    return load_schema()


def _resolve(schema: dict, root: dict) -> dict:
    """A schema node with its ``$ref`` (to ``#/definitions/<name>``) followed."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return root["definitions"][name]
    return schema


def _fill_defaults(schema: dict, instance: Any, root: dict) -> None:
    """Insert schema defaults into ``instance`` (in place), following $ref and nested objects."""
    schema = _resolve(schema, root)
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(sub, instance[key], root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(extra, value, root)


def with_defaults(settings: Mapping, schema: dict | None = None) -> dict:
    """A copy of ``settings`` (a part of a config) with the schema's defaults filled in, as
    :func:`validate_config` fills them: the inverse of :func:`non_default_settings`."""
    schema = schema or _cached_schema()
    filled = copy.deepcopy(dict(settings))
    _fill_defaults(schema, filled, schema)
    return filled


RECORDED_KEYS_FILE = Path(__file__).parent / "data" / "settings_recorded_in_full.txt"
"""The settings keys of version 0.1.0's schema, which recorded every setting in the rule
params, defaults included: they stay in the params at their defaults too, so that upgrading
from 0.1.0 changes no job's params (``models.*``: any model's entry)."""


@functools.cache
def recorded_in_full() -> frozenset[str]:
    """The dotted keys kept in the params even at their defaults (:data:`RECORDED_KEYS_FILE`)."""
    lines = RECORDED_KEYS_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def schema_keys(schema: dict | None = None) -> set[str]:
    """Every settings key the schema names, dotted (``training.epochs``; ``models.*.params``
    for the keys of any model entry)."""
    root = schema or _cached_schema()
    keys: set[str] = set()

    def walk(node: dict, prefix: str) -> None:
        node = _resolve(node, root)
        for key, sub in node.get("properties", {}).items():
            keys.add(prefix + key)
            walk(sub, f"{prefix}{key}.")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and (extra.get("properties") or "$ref" in extra):
            keys.add(prefix + "*")
            walk(extra, f"{prefix}*.")

    walk(root, "")
    return keys


def non_default_settings(
    settings: Mapping, schema: dict | None = None, keep_recorded: bool = True
) -> dict:
    """``settings`` (a part of a validated config) less every key whose value is the schema's
    default: what a rule's ``params: settings`` holds (:func:`blendphot.stages.stage_settings`).

    A key goes when the schema gives it a default and its value equals that default (filled in
    turn, as :func:`validate_config` fills it; same types, so ``1`` is not the default ``1.0``).
    Keys without a default stay (``sky.source``, ``seed``, a model's ``architecture``), and so
    does every key above one that stays, emptied of its default keys. Model entries are
    treated alike (their ``params: {}`` goes; there are no defaults inside it).
    :func:`with_defaults` gives the settings back whole.

    So a key that a new version adds with a default, and that a config leaves at (or sets to)
    that default, leaves a job's params as they were: upgrading reruns nothing. The keys of
    version 0.1.0, which recorded every setting, stay at their defaults too
    (:func:`recorded_in_full`, unless ``keep_recorded`` is false: what a log lists as set
    off the defaults), so that upgrading from it changes no params either. A value moved
    off its default appears, moved back it goes: either changes the params, and Snakemake's
    params trigger reruns the job. The limit: a new version that changes a default changes no
    params, so the jobs that read it do not rerun (as with a change of code); ``snakemake
    --forcerun <rule>`` reruns them.
    """
    schema = schema or _cached_schema()
    recorded = recorded_in_full() if keep_recorded else frozenset()
    return _strip(settings, schema, schema, "", recorded)


def _strip(value: Any, schema: dict, root: dict, prefix: str, recorded: frozenset) -> Any:
    """``value`` less its keys at their defaults, under the schema node ``schema`` (dotted
    path ``prefix``); the ``recorded`` keys stay."""
    schema = _resolve(schema, root)
    if not isinstance(value, Mapping):
        return copy.deepcopy(value)
    named = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    kept = {}
    for key, item in value.items():
        sub = named.get(key, extra if isinstance(extra, dict) else None)
        if sub is None:
            kept[key] = copy.deepcopy(item)
            continue
        path = prefix + (str(key) if key in named else "*")
        at_default = "default" in sub and _same(item, _filled_default(sub, root))
        if at_default and path not in recorded:
            continue
        kept[key] = _strip(item, sub, root, path + ".", recorded)
    return kept


def _filled_default(schema: dict, root: dict) -> Any:
    """The value :func:`validate_config` gives a key of this schema node that a config leaves
    out: its default, with the defaults inside it filled in."""
    default = copy.deepcopy(schema["default"])
    _fill_defaults(schema, default, root)
    return default


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types at every level (``1`` is not ``1.0``, nor ``True``);
    the order of a mapping's keys does not count."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


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
            raise ConfigError(
                source, f"unknown config key {keys} (see docs/configuration-reference.md)"
            )
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


def merged_config(
    default: str | Path, overlays: Iterable[str | Path] = (), validate: bool = True
) -> dict:
    """The configuration a run gets from ``snakemake --configfile OVERLAY...``: the default
    file (``config/config.yaml``) with the overlays deep-merged over it in order, as Snakemake
    merges them (keys in its order too: the overlays' keys first), their model entries
    replacing the default's whole (:func:`apply_overlays`), then validated with the schema's
    defaults filled in (``validate`` false: as merged, neither checked nor filled).
    ``results/<dataset>/config.yaml`` (rule ``effective_config``) holds the same."""
    paths = [Path(default), *map(Path, overlays)]
    sources = [(str(path), read_yaml_file(path)) for path in paths]
    layers = [values for _, values in sources[1:]]
    overwrite: dict = {}
    for layer in layers:
        _deep_update(overwrite, copy.deepcopy(layer))
    config = copy.deepcopy(overwrite)
    _deep_update(config, copy.deepcopy(sources[0][1]))
    _deep_update(config, copy.deepcopy(overwrite))
    apply_overlays(config, layers)
    if not validate:
        return config
    return validate_config(config, str(paths[-1]), key_origin(sources))


def apply_overlays(config: dict, overlays: list[dict], overrides: dict | None = None) -> dict:
    """Give ``config`` (Snakemake's deep merge of the default and the overlays) the overlays'
    own model entries: a model entry in an overlay replaces the default's entry of the same
    name whole, so that no setting of a demo model leaks into a model the overlay defines.
    Models the overlay does not name stay. ``overrides`` (``--config`` values) keep the last
    word. Everything else keeps the deep merge: an overlay that sets one nested key changes
    that key only. Returns ``config``, changed in place.

    A nested ``--config`` value arrives as text (Snakemake reads ``blends={n_test: 5}`` with
    YAML's base loader): each takes the type YAML gives it in a config file (``5`` an integer,
    ``0.5`` a number, ``true``, ``null``; ``1e-4`` a number too) where the schema accepts
    that, and stays text otherwise (``sky={cosmos: {sample: 25.2}}``, ``stamps={inspect:
    on}``), so that a value of a wrong type still fails validation, naming ``--config`` and
    the key. A mapping key that reads as an integer (``blends={n_galaxies: {3: 1}}``) becomes
    one, replacing the same count of a config file instead of standing beside it.
    """
    for overlay in overlays:
        for name, entry in ((overlay or {}).get("models") or {}).items():
            config.setdefault("models", {})[name] = copy.deepcopy(entry)
    for key in overrides or {}:  # the config's own copy: typing below leaves Snakemake's alone
        if key in config:
            config[key] = copy.deepcopy(config[key])
    for name, entry in ((overrides or {}).get("models") or {}).items():
        if isinstance(entry, dict) and isinstance(config["models"].get(name), dict):
            _deep_update(config["models"][name], copy.deepcopy(entry))
        else:
            config["models"][name] = copy.deepcopy(entry)
    if overrides:
        _type_overrides(config, overrides)
    return config


def _type_overrides(config: dict, overrides: dict) -> None:
    """Give the text values (and integer keys) that ``--config`` set in ``config`` the type
    YAML reads in them, where the schema accepts it (see :func:`apply_overlays`)."""
    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(_cached_schema())
    for path, text in _override_texts(config, overrides, []):
        try:
            typed = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if isinstance(typed, str) and any(c.isdigit() for c in text):
            try:  # a number YAML 1.1 leaves as text: 1e-4 (it wants 1.0e-4)
                typed = float(text)
            except ValueError:
                continue
        if isinstance(typed, (str, dict, list)):
            continue
        parent = _node_at(config, path[:-1])
        if not isinstance(parent, (dict, list)):
            continue
        parent[path[-1]] = typed
        if _errors_at(validator, config, path):
            parent[path[-1]] = text


def _override_texts(config: Any, overrides: Any, path: list) -> list[tuple[list, str]]:
    """The (path in ``config``, text) of each text value ``overrides`` set, once an integer
    key of ``overrides`` replaced the same key of ``config`` (its text form dropped)."""
    if isinstance(overrides, str):
        return [(path, overrides)] if _node_at(config, path) == overrides else []
    found: list[tuple[list, str]] = []
    node = _node_at(config, path)
    if isinstance(overrides, dict) and isinstance(node, dict):
        for key, value in overrides.items():
            if isinstance(key, str) and key.isdigit() and key in node:
                number = int(key)
                if number in node and isinstance(node[number], dict):
                    _deep_update(node[number], node.pop(key))
                else:
                    node.pop(number, None)
                    node[number] = node.pop(key)
                key = number
            found += _override_texts(config, value, [*path, key])
    elif isinstance(overrides, list) and isinstance(node, list) and len(node) == len(overrides):
        for index, value in enumerate(overrides):
            found += _override_texts(config, value, [*path, index])
    return found


def _node_at(config: Any, path: list) -> Any:
    """The value at ``path`` (keys and list indices) in ``config``; None when absent."""
    node = config
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return None
    return node


def _errors_at(validator, config: dict, path: list) -> bool:
    """Whether validating ``config`` finds an error at ``path`` or below it."""
    where = [str(k) for k in path]
    return any(
        [str(k) for k in error.absolute_path][: len(where)] == where
        for error in validator.iter_errors(config)
    )


def _deep_update(target: dict, new: dict) -> None:
    """Merge ``new`` into ``target`` recursively (Snakemake's rule for config files)."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def key_origin(sources: list[tuple[str, dict]]) -> Callable[[list[str]], str | None]:
    """A function naming which source set a key path: the last of ``sources`` (name, dict),
    in the order they were applied, that holds the path (a model entry counts whole). The
    path's keys are text, as a validation error gives them: ``"0"`` finds a list's first item,
    ``"2"`` the integer key 2 of a mapping too."""

    def origin(path: list[str]) -> str | None:
        for name, values in reversed(sources):
            if _node_at_text(values, path) is not _ABSENT:
                return name
        return None

    return origin


_ABSENT = object()


def _node_at_text(node: Any, path: list[str]) -> Any:
    """The value at ``path`` (text keys, see :func:`key_origin`) in ``node``; _ABSENT when
    absent."""
    for key in map(str, path):
        number = int(key) if key.lstrip("-").isdigit() else None
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, dict) and number is not None and number in node:
            node = node[number]
        elif isinstance(node, list) and number is not None and 0 <= number < len(node):
            node = node[number]
        else:
            return _ABSENT
    return node


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
