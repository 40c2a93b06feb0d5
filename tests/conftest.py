"""Shared fixtures (a tiny validated config, a tiny data set built through the library) and
the test tiers.

Tiers (nested: each adds to the one before)::

    pytest                 units, config and schema checks, contract checks, style checks
    pytest --run-slow      + tests that build data, run Snakemake jobs, train networks
    pytest --run-slurm     + the real one-node Slurm cluster (implies --run-slow)

A test's tier is decided here (:func:`tier`), from what the test does: the fixtures it uses
and the markers that say what it runs.

- Slurm tier: it uses a fixture of :data:`SLURM_FIXTURES` (the cluster) or is marked
  ``slurm``.
- Slow tier: it uses a fixture of :data:`SLOW_FIXTURES` (data built through the real stages,
  the workflow run by Snakemake), directly or through another fixture (``world`` of the fault
  battery, which trains on ``tiny_data``, counts too), or carries one of
  :data:`SLOW_MARKERS`: ``workflow`` (it runs Snakemake jobs; a dry run or ``--lint``, a
  second or two, does not count), ``train`` (it trains a network), ``faults`` (the fault
  battery), or ``slow`` (anything else that takes seconds, by hand).
- Default tier: the rest. Every test outside it gets the ``slow`` marker, so that
  ``pytest --run-slow -m slow`` runs the slow tiers alone.

Tests of a tier not asked for are deselected, not skipped, and the run ends with one line
saying how many were left out and which option runs them. A default-tier test whose call takes
more than :data:`DEFAULT_TIER_SECONDS` is named at the end, so that it gets its marker.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from blendphot.config import validate_config

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"

SLOW_FIXTURES = {
    "tiny_data": "sky, stamps and blend sets of the tiny config, through the real stages",
    "tiny_runs": "the tiny workflow and its variant of 2 to 4 galaxies, run by Snakemake",
}
"""Fixtures that make a test slow (and every fixture built on them), and what they build."""
SLURM_FIXTURES = {"slurm_cluster": "tests/test_slurm.py: a running one-node Slurm cluster"}
"""Fixtures that put a test in the Slurm tier."""
SLOW_MARKERS = ("slow", "workflow", "train", "faults")
"""Markers that put a test in the slow tier (pyproject.toml describes them)."""
DEFAULT_TIER_SECONDS = 5.0
"""A default-tier test slower than this (call phase) is named at the end of the run."""


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


class SnakemakeRun:
    """Snakemake on a working directory, started in the background now (run from the
    repository root, so that the workflow profile applies; its output goes to a log file
    beside the directory). :meth:`result` waits for it."""

    def __init__(self, workdir: Path, *args: str):
        self.workdir = workdir
        self.log = workdir.with_name(workdir.name + ".log")
        cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [*cmd, "-d", str(workdir), *args], cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def result(self, timeout: float = 1200) -> subprocess.CompletedProcess:
        """The finished run: its return code, and its output (stdout and stderr) as stdout."""
        self.proc.wait(timeout)
        return subprocess.CompletedProcess(
            self.proc.args, self.proc.returncode, self.log.read_text(), ""
        )

    def stop(self) -> None:
        """Kill the run if it still goes (a test that needed it failed first)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def workdir_with(path: Path, config_text: str) -> Path:
    """A working directory whose config/config.yaml holds ``config_text``."""
    (path / "config").mkdir(parents=True, exist_ok=True)
    (path / "config" / "config.yaml").write_text(config_text)
    return path


def tiny_multi_text() -> str:
    """The tiny config with blends of 2 to 4 galaxies (dataset tiny_multi), without scarlet
    (it fits pairs only), with the shipped method of one's own (photutils, an extra rule)."""
    text = TINY.read_text().replace("dataset: tiny", "dataset: tiny_multi")
    text = text.replace("blends:\n", "blends:\n  n_galaxies: {2: 0.5, 3: 0.3, 4: 0.2}\n")
    text += "methods:\n  photutils:\n    rule: workflow/methods/photutils.smk\n"
    text += "    settings: {thresh: 2.0}\n"
    return text.replace("scarlet: {enabled: true", "scarlet: {enabled: false")


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> dict[str, SnakemakeRun]:
    """The whole tiny workflow run locally with --cores 2, as users run it: ``tiny`` (pairs,
    every stage, scarlet included) and ``tiny_multi`` (blends of 2 to 4 galaxies, and the
    photutils method as an extra rule), both
    started at once in the background, once per session (on 2 cores: about 2 min together,
    3.5 one after the other). The workflow tests check them; the Slurm test compares its
    cluster run with ``tiny``."""
    base = tmp_path_factory.mktemp("tiny_runs")
    configs = {"tiny": TINY.read_text(), "tiny_multi": tiny_multi_text()}
    runs = {
        name: SnakemakeRun(workdir_with(base / name, text), "--cores", "2")
        for name, text in configs.items()
    }
    yield runs
    for name, run in runs.items():
        run.stop()
        shutil.rmtree(base / name / ".snakemake", ignore_errors=True)


# ------------------------------------------------------------------------------ tiers


def pytest_addoption(parser):
    group = parser.getgroup("blendphot tiers")
    group.addoption(
        "--run-slow",
        action="store_true",
        help="also run the slow tier: data-building fixtures, Snakemake runs, training",
    )
    group.addoption(
        "--run-slurm",
        action="store_true",
        help="also run the tests on a real one-node Slurm cluster (root on Debian; implies "
        "--run-slow)",
    )


LEFT_OUT = pytest.StashKey[dict]()
"""Tests deselected by tier: {'slow': n, 'slurm': n}."""
SLOW_CALLS = pytest.StashKey[list]()
"""(node id, seconds) of the default-tier tests slower than DEFAULT_TIER_SECONDS."""


def tier(item: pytest.Item) -> str:
    """'slurm', 'slow' or 'default': the tier of a collected test (see the module's doc)."""
    used = set(getattr(item, "fixturenames", ()))
    markers = {mark.name for mark in item.iter_markers()}
    if used & set(SLURM_FIXTURES) or "slurm" in markers:
        return "slurm"
    if used & set(SLOW_FIXTURES) or markers & set(SLOW_MARKERS):
        return "slow"
    return "default"


@pytest.hookimpl(tryfirst=True)  # before -m, so that "-m slow" sees the markers set here
def pytest_collection_modifyitems(config, items):
    run_slurm = config.getoption("--run-slurm")
    wanted = {"default", "slow", "slurm"} if run_slurm else {"default"}
    if config.getoption("--run-slow"):
        wanted.add("slow")
    kept, deselected, left = [], [], {"slow": 0, "slurm": 0}
    for item in items:
        t = tier(item)
        if t != "default":
            item.add_marker(pytest.mark.slow)
        if t in wanted:
            kept.append(item)
        else:
            deselected.append(item)
            left[t] += 1
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
    config.stash[LEFT_OUT] = left


def pytest_configure(config):
    config.stash[SLOW_CALLS] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    slow = item.get_closest_marker("slow") is not None
    if report.when == "call" and not slow and report.duration > DEFAULT_TIER_SECONDS:
        item.config.stash[SLOW_CALLS].append((item.nodeid, report.duration))
    return report


def pytest_terminal_summary(terminalreporter, config):
    left = config.stash.get(LEFT_OUT, {})
    if left.get("slow"):
        terminalreporter.write_line(f"{left['slow']} slow tests not run: use --run-slow")
    if left.get("slurm"):
        terminalreporter.write_line(f"{left['slurm']} Slurm tests not run: use --run-slurm")
    for nodeid, seconds in config.stash.get(SLOW_CALLS, []):
        terminalreporter.write_line(
            f"default-tier test took {seconds:.1f} s (> {DEFAULT_TIER_SECONDS:.0f} s): "
            f"{nodeid}; mark it (workflow, train, slow) or make it faster"
        )
