"""The run's effective configuration, written beside its results (what Snakemake made of the
default and the overlays), so that every result can be traced to the settings that made it,
and to the software: its first lines are comments with blendphot's version and commit
(:mod:`blendphot.version`), so that the file still reads back as a config."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import stage

CONFIG_SECTIONS = (
    "dataset",
    "seed",
    "sky",
    "stamps",
    "blends",
    "training",
    "models",
    "methods",
    "baseline",
    "scarlet",
    "evaluate",
    "uncertainty",
    "deblend",
)
"""The config's top-level sections (blendphot/config.schema.yaml; a test keeps them equal)."""


@stage(outputs=("config",), settings=CONFIG_SECTIONS)
def effective_config(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The whole merged and validated configuration of this run, as YAML, after comments
    naming the blendphot version and commit that wrote it."""
    import yaml

    from blendphot.io import atomic_path
    from blendphot.version import version_lines

    with atomic_path(Path(outputs["config"])) as tmp:
        tmp.write_text(version_lines("# ") + yaml.safe_dump(settings, sort_keys=False))
