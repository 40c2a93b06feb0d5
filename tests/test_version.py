"""The software's version and commit (blendphot.version), and every output that records them."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import types

import h5py
import numpy as np
import pytest
import yaml

from blendphot import version as V
from blendphot.stages import run_stage

from .conftest import ROOT, tiny_config_dict


def git(root, *args) -> str:
    command = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def fresh_version():
    """software_version read anew (it is read once per process), and again afterwards."""
    V.software_version.cache_clear()
    yield V.software_version
    V.software_version.cache_clear()


def test_pyproject_takes_the_version_from_git_with_the_same_fallback():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert any(r.startswith("setuptools-scm") for r in pyproject["build-system"]["requires"])
    scm = pyproject["tool"]["setuptools_scm"]
    assert scm["fallback_version"] == V.FALLBACK_VERSION
    assert scm["version_file"] == "blendphot/_version.py"
    assert "blendphot/_version.py" in (ROOT / ".gitignore").read_text().split()


def test_git_commit_of_a_checkout_its_dirt_and_not_of_a_folder_inside_one(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.txt").write_text("1")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "one")
    head = git(repo, "rev-parse", "HEAD")
    assert V._git_commit(repo) == head
    (repo / "untracked.txt").write_text("x")  # untracked files do not make it dirty
    assert V._git_commit(repo) == head
    (repo / "a.txt").write_text("2")
    assert V._git_commit(repo) == f"{head}-dirty"
    (repo / "inside").mkdir()
    assert V._git_commit(repo / "inside") is None  # code installed inside another repository
    assert V._git_commit(tmp_path) is None  # no repository at all


def test_software_version_of_this_code(fresh_version):
    found = fresh_version()
    assert set(found) == {"version", "commit"}
    assert found["version"]
    if V._git(V.SOURCE_ROOT, "rev-parse", "--show-toplevel") is not None:
        head = git(V.SOURCE_ROOT, "rev-parse", "HEAD")
        assert found["commit"].removesuffix("-dirty") == head
    import blendphot

    assert blendphot.__version__ == found["version"]


def test_what_setuptools_scm_recorded_serves_where_git_does_not(fresh_version, monkeypatch):
    recorded = types.ModuleType("blendphot._version")
    recorded.version = "0.2.1.dev3+gabc1234"
    recorded.commit_id = "gabc1234"
    monkeypatch.setitem(sys.modules, "blendphot._version", recorded)
    monkeypatch.setattr(V, "_git_commit", lambda root: None)
    assert fresh_version() == {"version": "0.2.1.dev3+gabc1234", "commit": "abc1234"}
    V.software_version.cache_clear()
    recorded.commit_id = None  # built from a source tree without git metadata
    monkeypatch.setattr(V, "_installed_version", lambda: None)
    assert fresh_version()["commit"] == V.UNKNOWN
    V.software_version.cache_clear()
    monkeypatch.setitem(sys.modules, "blendphot._version", None)  # never built
    assert fresh_version() == {"version": V.FALLBACK_VERSION, "commit": V.UNKNOWN}


def test_effective_config_names_the_software_and_reads_back(tmp_path):
    config = tiny_config_dict()
    out = tmp_path / "config.yaml"
    run_stage("effective_config", config, {}, {"config": out}, {})
    found = V.software_version()
    lines = out.read_text().splitlines()
    assert lines[:2] == [
        f"# blendphot version: {found['version']}",
        f"# blendphot commit: {found['commit']}",
    ]
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(yaml.safe_dump(config))


def test_stamps_and_blend_sets_record_version_and_commit(tiny_data):
    found = V.software_version()
    for name in ("stamps", "train", "val", "test"):
        with h5py.File(tiny_data[name]) as h5:
            assert h5.attrs["version"] == found["version"], name
            assert h5.attrs["commit"] == found["commit"], name


def test_predictions_written_by_a_method_of_ones_own_record_them(tmp_path):
    from blendphot.contracts import write_prediction_file

    path = tmp_path / "p.h5"
    write_prediction_file(path, np.arange(3), "mine", flux=np.ones((3, 2)))
    with h5py.File(path) as h5:
        assert h5.attrs["version"] == V.software_version()["version"]
        assert h5.attrs["commit"] == V.software_version()["commit"]


def test_training_summary_and_network_predictions_record_them(tiny_data, tmp_path):
    from blendphot.models.predict import write_predictions

    from .test_models import _train

    found = V.software_version()
    _, out = _train(tiny_data, tmp_path, tiny_data["config"]["models"]["blend2flux"], epochs=1)
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["version"], summary["commit"]) == (found["version"], found["commit"])
    write_predictions(out / "model.keras", tiny_data["test"], tmp_path / "p.h5", "b2f")
    with h5py.File(tmp_path / "p.h5") as h5:
        assert (h5.attrs["version"], h5.attrs["commit"]) == (found["version"], found["commit"])


def test_command_line_version_names_the_commit():
    done = subprocess.run(
        [sys.executable, "-m", "blendphot", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.startswith("blendphot ") and "(commit " in done.stdout
