"""The Snakemake workflow: planning, lint, config validation, and one tiny real run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from blendphot.evaluate import PAPER_COLUMNS
from blendphot.io import read_table

from .conftest import ROOT, TINY, workdir_with

RULES = (
    "synthetic_sky",
    "stamps",
    "blend_sets",
    "blend_figures",
    "train_model",
    "predict",
    "sep_baseline",
    "oracle",
    "output_catalog",
    "metrics",
    "figures",
    "segmentation",
    "table2",
    "table_markdown",
    "predict_validation",
    "sep_baseline_validation",
    "oracle_validation",
    "calibration",
    "uncertainty",
)


def snakemake(*args: str, cwd: Path = ROOT, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run snakemake from the repository root (so the workflow profile applies)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_dry_run_plans_every_stage(configfile):
    result = snakemake("-n", "--forceall", "--configfile", configfile)
    assert result.returncode == 0, result.stderr
    for rule in RULES:
        assert f"rule {rule}:" in result.stdout, rule
    # scarlet: off in the demo (its cost, config/README.md), on at the paper's scale
    planned = planned_rules(result.stdout)
    scarlet = {"scarlet_psf", "scarlet_shard", "scarlet"}
    assert scarlet <= planned if configfile == "config/paper.yaml" else not scarlet & planned


def effective_config(tmp_path: Path, dataset: str, *args: str) -> dict:
    """What Snakemake makes of the default config and ``args`` (--configfile, --config):
    the effective_config rule's output, run in ``tmp_path`` (a working directory holding the
    repository's default config/config.yaml, as a deployed workflow's would)."""
    import yaml

    workdir_with(tmp_path, (ROOT / "config" / "config.yaml").read_text())
    target = f"results/{dataset}/config.yaml"
    result = snakemake("-d", str(tmp_path), "--cores", "1", target, *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return yaml.safe_load((tmp_path / target).read_text())


def assert_holds(expected, actual, path="config"):
    """Every key ``expected`` writes has exactly that value in ``actual``."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} is missing"
            assert_holds(value, actual[key], f"{path}.{key}")
    else:
        assert actual == expected, f"{path}: {actual!r} instead of {expected!r}"


@pytest.mark.workflow
def test_paper_overlay_yields_exactly_the_paper_config(tmp_path):
    """--configfile config/paper.yaml gives every value paper.yaml writes, the demo's model
    settings included (no dense_units: 32, no epochs: 2 leaking in), and the fiducial
    blend2flux of Table 2 (25.7M parameters)."""
    import yaml

    from blendphot.models.registry import get_architecture, load_model_modules

    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    merged = effective_config(
        tmp_path, "paper", "--configfile", str(ROOT / "config" / "paper.yaml")
    )
    assert_holds(paper, merged)
    assert merged["models"] == paper["models"]  # entries replaced whole, none added
    for name, entry in merged["models"].items():
        epochs = {**merged["training"], **entry.get("training", {})}["epochs"]
        assert epochs == 300, f"{name} trains for {epochs} epochs"
    load_model_modules()
    fiducial = merged["models"]["blend2flux"]
    model = get_architecture(fiducial["architecture"]).build(**fiducial["params"])
    assert model.count_params() / 1e6 == pytest.approx(25.7, rel=0.01)


@pytest.mark.workflow
def test_overlay_setting_one_nested_key_changes_that_key_only(tmp_path):
    default = effective_config(tmp_path / "a", "demo")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("blends: {n_test: 123}\nmodels:\n  unet: {architecture: unet}\n")
    merged = effective_config(tmp_path / "b", "demo", "--configfile", str(overlay))
    assert merged["blends"]["n_test"] == 123
    # the overlay's entry, whole (plus the schema's default for params)
    assert merged["models"]["unet"] == {"architecture": "unet", "params": {}}
    merged["blends"]["n_test"] = default["blends"]["n_test"]
    merged["models"]["unet"] = default["models"]["unet"]
    assert merged == default


def test_config_error_from_an_override_names_the_override(tmp_path):
    work = workdir_with(tmp_path, (ROOT / "config" / "config.yaml").read_text())
    result = snakemake("-d", str(work), "-n", "--config", "blends={n_test: many}")
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "--config: invalid config key 'blends.n_test'" in text, text[-2000:]
    assert "config/config.yaml:" not in text


def test_baselines_overlay_evaluates_without_networks():
    """config/baselines.yaml over the paper config: the paper's scale without a GPU."""
    result = snakemake(
        "-n", "--forceall", "--configfile", "config/paper.yaml", "config/baselines.yaml"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    planned = planned_rules(result.stdout)
    assert {"sep_baseline", "oracle", "output_catalog", "metrics", "summary"} <= planned
    assert not planned & {"train_model", "predict", "table2", "segmentation"}


def test_paper_config_plans_the_table2_models():
    result = snakemake("-n", "--forceall", "--configfile", "config/paper.yaml")
    for model in ("blend2flux_f64", "blend2flux", "blend2flux_f512"):
        assert f"results/paper/models/{model}/model.keras" in result.stdout


def test_lint_is_clean():
    result = snakemake("--lint")
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    assert "Lints for" not in text
    assert "Congratulations" in text


@pytest.mark.parametrize(
    "edit, message",
    [
        (("seed: 7", "seed: 7\nsede: 3"), "unknown config key 'sede'"),
        (("n_val: 64", "n_val: lots"), "invalid config key 'blends.n_val'"),
        (("architecture: blend2flux", "architecture: nonet"), "unknown architecture 'nonet'"),
        (("source: synthetic", "source: cosmos"), "galsim_download_cosmos -s 25.2"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, edit, message):
    work = workdir_with(tmp_path, TINY.read_text().replace(*edit))
    result = snakemake("-d", str(work), "--cores", "1")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (work / "results").exists()


def test_registered_plugin_model_is_planned(tmp_path):
    module = tmp_path / "tiny_net.py"
    module.write_text(
        "from blendphot.models import register\n\n\n"
        "@register('tiny_net')\n"
        "def build(input_shape=(128, 128, 1), units=4):\n"
        "    import keras\n\n"
        "    inp = keras.Input(shape=input_shape)\n"
        "    x = keras.layers.GlobalAveragePooling2D()(inp)\n"
        "    return keras.Model(inp, keras.layers.Dense(2)(keras.layers.Dense(units)(x)))\n"
    )
    config = TINY.read_text().replace(
        "models:\n",
        f"models:\n  throwaway:\n    architecture: tiny_net\n    module: {module}\n"
        "    params: {units: 3}\n",
    )
    work = workdir_with(tmp_path, config)
    result = snakemake("-d", str(work), "-n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "results/tiny/models/throwaway/model.keras" in result.stdout
    assert "results/tiny/predictions/throwaway.h5" in result.stdout


@pytest.mark.workflow
def test_tiny_workflow_end_to_end(tiny_runs):
    work, result = tiny_runs["tiny"].workdir, tiny_runs["tiny"].result()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    res = work / "results" / "tiny"
    for rule in RULES:
        assert any((res / "logs").rglob(f"{rule}*")), f"no log for {rule}"
    catalog = pd.read_csv(res / "output_catalog.csv")
    assert list(catalog.columns[: len(PAPER_COLUMNS)]) == list(PAPER_COLUMNS)
    assert len(catalog) == 64
    assert np.isfinite(catalog[["g1_flux_b2f", "g2_flux_b2f"]]).all().all()
    assert (catalog[["g1_flux_b2f", "g2_flux_b2f"]] > 0).mean().mean() > 0.9
    assert catalog["detection"].isin([-1, 0, 1, 2, 3]).all()
    # every flux method has calibrated uncertainties (fitted on the validation blends)
    for col in ("b2f", "b2m2f", "sex", "kron", "oracle"):
        for g in ("g1", "g2"):
            found = catalog[f"{g}_flux_{col}"].notna()
            assert (catalog.loc[found, f"{g}_flux_{col}_err"] > 0).all(), col
            assert (catalog[f"{g}_flux_{col}_p84"] >= catalog[f"{g}_flux_{col}_p16"])[found].all()
    for col in ("oracle", "sex", "kron"):  # their own errors, where they measured a flux
        found = catalog[f"g1_flux_{col}"].notna()
        assert (catalog.loc[found, f"g1_flux_{col}_err_raw"] > 0).all(), col
    ids = {}
    for split in ("train", "val", "test"):
        with h5py.File(res / "blends" / f"{split}.h5") as h5:
            table = read_table(h5["table"])
        ids[split] = set(table["g1_id"]) | set(table["g2_id"])
    assert not ids["test"] & (ids["train"] | ids["val"])
    metrics = pd.read_csv(res / "metrics.csv")
    assert {"blend2flux", "blend2mask2flux", "sep isophotal", "scarlet2", "oracle (floor)"} <= set(
        metrics["method"]
    )
    scarlet = pd.read_csv(res / "baseline" / "scarlet.csv")
    assert (
        len(scarlet) == 64
        and scarlet["status"].isin(["ok", "not_converged", "failed", "not_found"]).all()
    )
    ok = scarlet["status"] == "ok"
    assert ok.any() and (np.isnan(scarlet.loc[~ok, "flux_central"])).all()
    np.testing.assert_array_equal(catalog["g1_flux_scarlet"], scarlet["flux_central"])
    # calibrated on scarlet's own validation fits, like every method
    assert catalog.loc[ok, "g1_flux_scarlet_err"].gt(0).any()
    assert "scarlet2" in pd.read_csv(res / "tables" / "table2.csv")["model"].tolist()
    assert np.isfinite(metrics.query("selection == 'all'")["sigma_mag"]).all()
    assert metrics["coverage68"].between(0, 100).all()
    assert (res / "figures/reliability.png").stat().st_size > 100
    assert "coverage95" in (res / "tables/uncertainty.md").read_text()
    figures = [
        f"figures/figure{n}.{ext}" for n in (2, 5, 6, 7, 8, 9, 10, 11) for ext in ("png", "pdf")
    ]
    tables = [f"tables/{t}.md" for t in ("table1", "table2", "table3", "segmentation")]
    for path in [*figures, *tables, "models/blend2flux/model.keras", "models/unet/model.keras"]:
        assert (res / path).stat().st_size > 100, path
    seg = pd.read_csv(res / "tables" / "segmentation.csv")
    assert list(seg["model"]) == ["unet", "blend2mask2flux"]
    assert seg["mean_iou"].between(0, 1).all()
    # the oracle knows the noiseless profiles: it is the most accurate method
    both = metrics.query("selection == 'all' and role == 'both'").set_index("method")
    assert both.loc["oracle (floor)", "mape_flux"] < both.loc["sep isophotal", "mape_flux"]
    assert not list(res.rglob("*.part*")), "a half-written file was left behind"
    # the paper's own table ran as a dataset of its own, from the copy shipped in the package
    assert (work / "results/paper_reference/figures/figure5.png").stat().st_size > 100
    assert (res / "tables" / "summary.md").stat().st_size > 100
    # A changed setting reruns exactly what it changes (Snakemake's params trigger): a sep
    # threshold replans the baseline, Table 3 and what reads them, nothing upstream.
    config = work / "config" / "config.yaml"
    text = config.read_text()
    config.write_text(text.replace("cold: {thresh: 5.0", "cold: {thresh: 6.0"))
    try:
        result = snakemake("-d", str(work), "-n")
    finally:
        config.write_text(text)  # the run stays that of the tiny config, for other tests
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned_rules(result.stdout) == {
        "effective_config",
        "sep_baseline_shard",
        "sep_baseline",
        "scarlet_shard",  # scarlet starts from the same sep detections
        "scarlet",
        "sep_baseline_validation",
        "calibration",
        "scarlet_validation",
        "table_markdown",
        "output_catalog",
        "metrics",
        "figures",
        "uncertainty",
        "table2",
        "summary",
        "all",
    }


@pytest.mark.workflow
def test_tiny_workflow_of_larger_blends_end_to_end(tiny_runs):
    """Blends of 2 to 4 galaxies through every stage: K-slot sets, networks, sep, the oracle,
    the catalogue per slot, metrics and figures per number of galaxies (the tiny config with
    n_galaxies {2: 0.5, 3: 0.3, 4: 0.2}, scarlet off: tests/conftest.py, tiny_multi_text)."""
    work, result = tiny_runs["tiny_multi"].workdir, tiny_runs["tiny_multi"].result()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    res = work / "results" / "tiny_multi"
    catalog = pd.read_csv(res / "output_catalog.csv")
    assert list(catalog.columns[: len(PAPER_COLUMNS)]) == list(PAPER_COLUMNS)
    assert catalog["n_galaxies"].value_counts().to_dict() == {2: 32, 3: 19, 4: 13}
    for col in ("b2f", "b2m2f", "sex", "kron", "oracle"):
        for k in (3, 4):
            present = catalog["n_galaxies"] >= k
            assert catalog.loc[~present, f"g{k}_flux_{col}"].isna().all(), (col, k)
            if col in ("b2f", "b2m2f", "oracle"):  # every present slot gets a flux
                assert np.isfinite(catalog.loc[present, f"g{k}_flux_{col}"]).all(), (col, k)
    by_count = pd.read_csv(res / "metrics_by_count.csv")
    quads = by_count.query("n_galaxies == 4 and selection == 'all' and method == 'blend2flux'")
    assert set(quads["role"]) == {"central", "companion", "companion_2", "companion_3", "both"}
    assert (quads["n"] == [13, 13, 13, 13, 52]).all()
    assert "companion_3" in set(pd.read_csv(res / "metrics.csv")["role"])
    assert "iou_g4" in pd.read_csv(res / "segmentation.csv").columns
    figures = ["flux_error_by_count.png", "flux_error_by_count.pdf"] + [
        f"n{n}/figure{k}.png" for n in (2, 3, 4) for k in (5, 6, 7, 8, 9)
    ]
    for path in figures:
        assert (res / "figures" / path).stat().st_size > 100, path
    with h5py.File(res / "blends" / "test.h5") as h5:
        assert h5["flux"].shape == (64, 4)
    # the method of one's own (photutils, an extra rule): in the catalogue per slot, the
    # metrics, the calibration, Table 2, the figures' methods and the summary
    for k in (1, 2, 3, 4):
        present = catalog["n_galaxies"] >= k
        assert catalog.loc[~present, f"g{k}_flux_photutils"].isna().all(), k
        found = np.isfinite(catalog.loc[present, f"g{k}_flux_photutils"])
        # every slot is measured; the brighter ones mostly (the faintest companion of a
        # 4-galaxy blend, a dozen of them here, is often below photutils' threshold)
        assert found.any() and (found.mean() > 0.5 or k > 2), (k, found.mean())
    assert "g1_flux_photutils_err" in catalog.columns  # calibrated on the validation blends
    assert "photutils" in set(pd.read_csv(res / "metrics.csv")["method"])
    assert "photutils" in set(pd.read_csv(res / "tables" / "table2.csv")["model"])
    assert "photutils" in (res / "tables" / "summary.md").read_text()
    log = (res / "logs" / "photutils.log").read_text()
    assert "photutils: 64 blends, 0 skipped" in log


def planned_rules(dry_run: str) -> set[str]:
    """The rules of the jobs a dry run plans."""
    import re

    return set(re.findall(r"^(?:local)?rule (\w+):", dry_run, flags=re.M))


@pytest.mark.workflow
def test_paper_reference_dataset_through_the_workflow(tmp_path):
    """The paper's table alone, from the copy shipped in the package, runs the same metrics
    and figure rules."""
    work = workdir_with(tmp_path, TINY.read_text())
    targets = [f"results/paper_reference/figures/figure{n}.png" for n in (5, 6, 7, 8, 9)]
    result = snakemake("-d", str(work), "--cores", "2", *targets)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = pd.read_csv(work / "results/paper_reference/metrics.csv")
    row = metrics.query("selection == 'figure5' and method == 'sep' and role == 'central'")
    assert row["bias"].iloc[0] == pytest.approx(0.101381, abs=1e-6)
    assert len(pd.read_csv(work / "results/paper_reference/output_catalog.csv")) == 4776
    assert not (work / "results/tiny").exists()  # nothing of the synthetic chain ran


@pytest.mark.workflow
def test_tracked_files_alone_run_the_paper_reference(tmp_path):
    """A copy of the tracked files, with nothing beside it, finds the paper's table (shipped
    in the package) from the library and the workflow; no tracked file names a folder
    outside the repository."""
    listed = project_files()
    repo = tmp_path / "alone" / "repo"
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    marker = "../" + "shared"  # the folder beside the checkout that users never have
    outside = [n for n in filter(None, listed) if marker in _text(ROOT / n)]
    assert not outside, f"tracked files that point outside the repository: {outside}"
    code = "import blendphot.data as d; print(d.paper_table_path())"
    found = subprocess.run(  # -S: no site-packages, where an editable install could point
        [sys.executable, "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(repo)}, check=True,
    ).stdout.strip()  # fmt: skip
    assert Path(found) == repo / "blendphot" / "data" / "paper_output_catalog.csv"
    target = "results/paper_reference/metrics.csv"
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", target]
    result = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = pd.read_csv(repo / target)
    row = metrics.query("selection == 'figure5' and method == 'sep' and role == 'central'")
    assert row["bias"].iloc[0] == pytest.approx(0.101381, abs=1e-6)


UNTRACKED_TOP = {".git", ".venv", "results", ".snakemake", ".pytest_cache", ".ruff_cache",
                 "build", "data"}  # fmt: skip
"""Folders at the top of a checkout that hold no project file (see .gitignore)."""


def project_files() -> list[str]:
    """The project's files, relative to ROOT: git's tracked files in a checkout; in an
    unpacked copy without git (a release archive), every file outside :data:`UNTRACKED_TOP`,
    caches and build metadata."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode == 0:
        return [name for name in listed.stdout.split("\0") if name]
    files = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if not path.is_file() or parts[0] in UNTRACKED_TOP or "__pycache__" in parts:
            continue
        if not any(part.endswith(".egg-info") for part in parts):
            files.append(str(path.relative_to(ROOT)))
    return files


def _text(path: Path) -> str:
    """A file's text, or '' for a binary file."""
    try:
        return path.read_text()
    except (UnicodeDecodeError, OSError):
        return ""


def test_every_rule_matches_its_stage():
    """Each rule runs the stage of its name and hands it the declared files, parameters and
    settings (the Snakefile checks when parsed; here the check itself is shown to bite)."""
    from types import SimpleNamespace

    from blendphot.stages import all_stages, check_rules, rule_mismatches

    stages = all_stages()
    stage = stages["blend_sets"]
    assert rule_mismatches(stage, ["stamps"], ["train", "val", "test"], ["settings"]) == []
    assert rule_mismatches(stage, ["stamps"], ["train", "val"], ["settings"])
    assert rule_mismatches(stage, ["stamps"], ["train", "val", "test"], [])  # no settings
    assert rule_mismatches(stages["train_model"], ["train", "val"], stages["train_model"].outputs,
                           ["model", "resume_dir", "settings"]) == []  # fmt: skip

    class Files(list):
        def keys(self):
            return list(self)

    bad = SimpleNamespace(
        name="blend_sets", script="s.py", input=Files(["stamps"]), output=Files(["train"]),
        params=Files(["settings"]),
    )  # fmt: skip
    with pytest.raises(ValueError, match="rule blend_sets: outputs"):
        check_rules([bad])
    unknown = SimpleNamespace(name="nope", script="s.py", input=Files(), output=Files(),
                              params=Files())  # fmt: skip
    with pytest.raises(ValueError, match="no stage of that name"):
        check_rules([unknown])
    # the real workflow passes the same check when parsed (any snakemake call): see --lint


def test_stage_sees_only_its_declared_settings():
    from blendphot.config import load_config
    from blendphot.stages import select_settings

    config = load_config(ROOT / "config" / "config.yaml")
    got = select_settings(config, ("models.{model}", "training", "seed"), {"model": "unet"})
    assert set(got) == {"models", "training", "seed"}
    assert list(got["models"]) == ["unet"]
    assert got["models"]["unet"] == config["models"]["unet"]
    got["training"]["epochs"] = -1  # a copy: the config is untouched
    assert config["training"]["epochs"] > 0
    assert select_settings(config, ("baseline.cold",), {}) == {
        "baseline": {"cold": config["baseline"]["cold"]}
    }


def test_every_rule_declares_log_threads_resources_and_conda():
    import re

    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        blocks = re.split(r"^\s*rule (\w+):\s*$", path.read_text(), flags=re.M)
        for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
            for key in ("log:", "threads:", "resources:", "conda:"):
                assert key in body, f"{path.name}: rule {name} lacks {key}"
            env = re.search(r'conda:\s*\n\s*"([^"]+)"', body)
            assert env and (path.parent / env.group(1)).resolve().is_file(), name
