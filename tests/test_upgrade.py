"""Upgrading reruns nothing: a key that a new version adds with a default leaves every job's
params (Snakemake's rerun trigger) as they were; a changed value changes them."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from blendphot.config import (
    load_config,
    load_schema,
    merged_config,
    non_default_settings,
    with_defaults,
)
from blendphot.stages import all_stages, select_settings, settings_whole, stage_settings

from .conftest import ROOT, TINY
from .test_workflow import planned_rules, workdir_with

CONFIGS = [ROOT / "config" / "config.yaml", ROOT / "config" / "paper.yaml", TINY]
SKY = "results/tiny/sky/mosaic.fits"
ZEROPOINT = (  # sky's, not paper_reference's: a new key goes after it
    "\n      zeropoint:\n        type: number\n        default: 25.96\n        description: >\n"
    "          AB zero point of the F160W fluxes (e-/s): flux = 10**(-0.4 (mag - zeropoint)) for"
    " real\n          inputs\n"
)
NEW_KEY = "      new_knob: {type: number, default: 1.0}\n"


def load_shipped(path: Path, validate: bool = True) -> dict:
    """A config as the workflow reads it: a shipped overlay (config/paper.yaml) over the
    default config/config.yaml, any other file alone (``validate`` false: as written)."""
    if path.parent == ROOT / "config" and path.name != "config.yaml":
        return merged_config(ROOT / "config" / "config.yaml", [path], validate)
    return load_config(path) if validate else yaml.safe_load(path.read_text())


def with_new_key(schema: dict) -> dict:
    """A copy of ``schema`` with keys a new version might add with defaults: a number in the
    middle of ``sky``, a list in ``training``, an object at the top and in each model entry."""
    schema = copy.deepcopy(schema)
    sky = schema["properties"]["sky"]["properties"]
    items = list(sky.items())
    items.insert(3, ("new_knob", {"type": "number", "default": 1.0}))
    schema["properties"]["sky"]["properties"] = dict(items)
    schema["properties"]["training"]["properties"]["new_list"] = {
        "type": "array",
        "default": [1, 2],
    }
    schema["properties"]["new_section"] = {
        "type": "object",
        "default": {},
        "properties": {"a": {"type": "integer", "default": 3}},
    }
    model = schema["properties"]["models"]["additionalProperties"]["properties"]
    model["dropout"] = {"type": "number", "default": 0.0}
    return schema


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_stage_sees_its_settings_whole(path):
    """What a rule hands over (its settings less their defaults), filled back in by the rule
    script, is the whole config's selection, for every stage and model."""
    config = load_shipped(path)
    for name, declared in all_stages().items():
        for model in config["models"]:
            fields = {"model": model, "dataset": "d", "shard": "0", "n": "2", "split": "test"}
            given = stage_settings(config, name)
            given = given(fields) if callable(given) else given
            whole = select_settings(config, declared.settings, fields)
            assert settings_whole(declared, given, fields) == whole, (name, model)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_a_key_added_with_a_default_changes_no_params(path):
    """The same config validated by a schema with new keys (at their defaults) gives every
    stage the same params; the stage sees the new keys, at their defaults."""

    from blendphot.config import _fill_defaults

    schema = load_schema()
    newer = with_new_key(schema)
    config = load_shipped(path)
    upgraded = load_shipped(path, validate=False)
    _fill_defaults(newer, upgraded, newer)  # what validate_config gives with the new schema
    assert upgraded["sky"]["new_knob"] == 1.0 and upgraded["new_section"] == {"a": 3}
    assert upgraded != config
    for name, declared in all_stages().items():
        for model in config["models"]:
            fields = {"model": model}
            old = non_default_settings(select_settings(config, declared.settings, fields), schema)
            new = non_default_settings(select_settings(upgraded, declared.settings, fields), newer)
            assert repr(new) == repr(old), (name, model)  # Snakemake compares the repr
    sky = with_defaults({"sky": {"source": "synthetic"}}, newer)["sky"]
    assert sky["new_knob"] == 1.0 and sky["zeropoint"] == 25.96


def test_params_hold_what_differs_from_the_defaults(monkeypatch):
    """Keys added after 0.1.0 (here: every key, as if none were recorded in full)."""
    monkeypatch.setattr("blendphot.config.recorded_in_full", frozenset)
    config = load_config(TINY)
    settings = stage_settings(config, "synthetic_sky")
    # the tiny config writes neighbours_per_galaxy: 1.5, the default: not in the params
    assert settings == {"sky": {"source": "synthetic", "n_galaxies": 60}, "seed": 7}
    config["sky"]["neighbours_per_galaxy"] = 2.0  # off the default: in the params
    assert stage_settings(config, "synthetic_sky")["sky"]["neighbours_per_galaxy"] == 2.0
    config["sky"]["neighbour_mag_range"] = [23.6, 25.5]  # a list, whole
    config["sky"]["type_fractions"]["irr"] = 0.3  # a mapping without defaults inside: whole
    config["sky"]["cosmos"]["sample"] = "23.5"  # inside a mapping with defaults: that key
    got = stage_settings(config, "synthetic_sky")["sky"]
    assert got["neighbour_mag_range"] == [23.6, 25.5]
    assert got["type_fractions"] == config["sky"]["type_fractions"]
    assert got["cosmos"] == {"sample": "23.5"}
    # the same value of another type is not the default (the stage would see another value)
    config = load_config(TINY)
    config["training"]["absent_weight"] = 1
    assert stage_settings(config, "train_model")({"model": "unet"})["training"] == {
        "epochs": 2,
        "batch_size": 32,
        "absent_weight": 1,
    }
    # a model entry keeps everything but its defaults (params: {}, filled back in)
    config["models"]["unet"]["params"] = {}
    entry = stage_settings(config, "train_model")({"model": "unet"})["models"]["unet"]
    assert entry == {"architecture": "unet", "training": {"epochs": 1}}
    # a section whose keys are all at their defaults: gone, or left empty when it has none
    assert "scarlet" not in stage_settings(load_config(ROOT / "config" / "config.yaml"),
                                           "effective_config")  # fmt: skip
    assert stage_settings(load_config(TINY), "stamps")["stamps"] == {"inspect_check": 2}


def test_stage_log_lists_the_settings_off_their_defaults(tmp_path, caplog):
    from blendphot.stages import run_stage

    config = load_config(TINY)
    config["training"]["absent_weight"] = 0.0
    out = {"config": str(tmp_path / "config.yaml")}
    with caplog.at_level("INFO", logger="blendphot"):
        run_stage("effective_config", config, {}, out, {})
    lines = [r.getMessage() for r in caplog.records if "other than the schema" in r.message]
    assert len(lines) == 1
    assert "training.absent_weight=0.0" in lines[0] and "sky.n_galaxies=60" in lines[0]
    assert "sky.zeropoint" not in lines[0]


def copy_of_workflow(dest: Path) -> Path:
    """The workflow and its package, copied (its schema can then be edited)."""
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "results", ".snakemake")
    for name in ("blendphot", "workflow", "profiles", "envs"):
        shutil.copytree(ROOT / name, dest / name, symlinks=True, ignore=skip)
    shutil.copy2(ROOT / "Snakefile", dest / "Snakefile")
    return dest


def snakemake_in(repo: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the copied workflow ``repo`` in the working directory ``work``."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(work)]
    result = subprocess.run([*cmd, *args], cwd=repo, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def summary_status(repo: Path, work: Path) -> set[str]:
    """The status column of ``snakemake --summary`` for the sky's files. (``--list-changes
    params`` is no use here: Snakemake 9.27.1 lists the last output of every job, changed or
    not.)"""
    rows = snakemake_in(repo, work, "--summary", SKY).stdout.splitlines()
    header = rows.index(next(r for r in rows if r.startswith("output_file")))
    return {row.split("\t")[4] for row in rows[header + 1 :] if row.strip()}


@pytest.mark.workflow
def test_upgrade_with_a_new_key_reruns_nothing_a_changed_value_reruns(tmp_path):
    repo = copy_of_workflow(tmp_path / "repo")
    work = workdir_with(tmp_path / "work", TINY.read_text())
    config = work / "config" / "config.yaml"
    tiny = config.read_text()
    snakemake_in(repo, work, "--cores", "1", SKY)

    # a new version: a key added to the schema with a default (that keeps the old behaviour)
    schema = repo / "blendphot" / "config.schema.yaml"
    assert schema.read_text().count(ZEROPOINT) == 1
    schema.write_text(schema.read_text().replace(ZEROPOINT, ZEROPOINT + NEW_KEY))
    assert "Nothing to be done" in snakemake_in(repo, work, "-n", SKY).stdout
    assert summary_status(repo, work) == {"ok"}
    # ... also when the config writes the new key at its default
    config.write_text(tiny.replace("sky:\n", "sky:\n  new_knob: 1.0\n"))
    assert "Nothing to be done" in snakemake_in(repo, work, "-n", SKY).stdout

    # a real setting changed: the sky reruns, and the dry run says which setting
    config.write_text(tiny.replace("neighbours_per_galaxy: 1.5", "neighbours_per_galaxy: 2.0"))
    dry = snakemake_in(repo, work, "-n", SKY).stdout
    assert planned_rules(dry) == {"synthetic_sky"}
    assert "Params have changed" in dry and "'neighbours_per_galaxy': 2.0" in dry

    # the new key moved off its default: rerun; the stage's log lists it
    config.write_text(tiny.replace("sky:\n", "sky:\n  new_knob: 2.0\n"))
    dry = snakemake_in(repo, work, "-n", SKY).stdout
    assert planned_rules(dry) == {"synthetic_sky"} and "'new_knob': 2.0" in dry
    assert summary_status(repo, work) == {"params changed"}
    snakemake_in(repo, work, "--cores", "1", SKY)
    log = (work / "results/tiny/logs/synthetic_sky.log").read_text()
    listed = [line for line in log.splitlines() if "other than the schema's defaults" in line]
    assert len(listed) == 1 and "sky.new_knob=2.0" in listed[0]
    assert "sky.zeropoint" not in listed[0]
    # ... and back onto it: rerun again
    config.write_text(tiny)
    assert planned_rules(snakemake_in(repo, work, "-n", SKY).stdout) == {"synthetic_sky"}


CHANGED_ON_PURPOSE = {  # a shipped config's value changed since 0.1.0: its stages rerun
    "training.flux_loss": "0.3.0: the demo's networks train on the squared log-flux error",
    "training.lr_schedule": "0.3.0: the demo's networks train with a cosine learning rate",
    "uncertainty.magnitude_groups": "0.3.0: calibration groups of each method's magnitude",
    "deblend": "0.3.0: the tiny test config draws a small field for the deblend target",
}


def without(settings: dict, paths) -> dict:
    """``settings`` less the dotted ``paths`` (a stage's selection of settings)."""
    out = copy.deepcopy(settings)
    for path in paths:
        *parents, key = path.split(".")
        part = out
        for name in parents:
            part = part.get(name, {}) if isinstance(part, dict) else {}
        if isinstance(part, dict):
            part.pop(key, None)
    return out


@pytest.mark.parametrize("config_file", ["config/config.yaml", "config/paper.yaml", "tiny"])
def test_upgrading_from_0_1_0_changes_no_params(config_file):
    """0.1.0 handed every stage its whole selection of settings, defaults included: with no
    setting changed, the params of every stage (every model's too) are the same, in the same
    order, so that pulling this version reruns nothing; but the values a shipped config
    changed on purpose (:data:`CHANGED_ON_PURPOSE`), whose stages must rerun."""
    import json

    from blendphot.config import schema_keys
    from blendphot.stages import all_stages, select_settings, stage_settings

    from .conftest import TINY

    config = load_shipped(TINY if config_file == "tiny" else ROOT / config_file)
    old = keys_of_0_1_0(config)  # the config as 0.1.0 read it: no key added since
    for name, declared in all_stages().items():
        for model in config["models"]:
            fields = {"model": model}
            before = select_settings(old, declared.settings, fields)  # 0.1.0's params
            now = stage_settings(config, name)
            now = now(fields) if callable(now) else now
            assert json.dumps(without(now, CHANGED_ON_PURPOSE)) == json.dumps(before), name
    assert recorded_keys() <= schema_keys()  # a key of 0.1.0 is never removed silently


def test_the_values_changed_on_purpose_rerun_their_stages():
    """The demo's new values reach the stages that read them: pulling them reruns those."""
    from blendphot.stages import stage_settings

    config = load_shipped(ROOT / "config" / "config.yaml")
    trained = stage_settings(config, "train_model")({"model": "blend2flux"})
    assert trained["training"]["flux_loss"] == "log_mse"
    assert trained["training"]["lr_schedule"] == "cosine"
    assert stage_settings(config, "calibration")["uncertainty"]["magnitude_groups"] == 3


def keys_of_0_1_0(value, prefix: str = ""):
    """``value`` (a config, or a part of it at the dotted ``prefix``) less the keys that
    version 0.1.0's schema did not have (:func:`recorded_keys`; ``*`` any model's name); a
    key whose schema named no keys inside it (a model's params, ``blends.n_galaxies``) is
    kept whole."""
    keys = recorded_keys()
    kept = {}
    for key, item in value.items():
        path = f"{prefix}*" if prefix == "models." else f"{prefix}{key}"
        if path not in keys:
            continue
        inner = isinstance(item, dict) and any(k.startswith(f"{path}.") for k in keys)
        kept[key] = keys_of_0_1_0(item, f"{path}.") if inner else item
    return kept


def recorded_keys() -> set[str]:
    from blendphot.config import recorded_in_full

    return set(recorded_in_full())
