"""Shared fixtures: a tiny validated config and a tiny data set built through the library."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from blendphot.config import validate_config

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def tiny_config_dict() -> dict:
    """A fresh, validated copy of the tiny test config."""
    with open(TINY) as fh:
        return validate_config(yaml.safe_load(fh), TINY)


@pytest.fixture
def tiny_config() -> dict:
    return tiny_config_dict()


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict:
    """Sky, stamps and blend sets of the tiny config, built once per test session."""
    from blendphot.testing import run_data_chain

    config = tiny_config_dict()
    d = tmp_path_factory.mktemp("tiny")
    paths = run_data_chain(config, d)
    return {"config": copy.deepcopy(config), "dir": d, **paths}
