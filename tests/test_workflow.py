"""The Snakemake workflow: planning, lint, config validation, and one tiny real run."""

from __future__ import annotations

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

from .conftest import ROOT, TINY

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
)


def snakemake(*args: str, cwd: Path = ROOT, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run snakemake from the repository root (so the workflow profile applies)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def workdir_with(tmp_path: Path, config_text: str) -> Path:
    """A working directory whose config/config.yaml holds ``config_text``."""
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "config.yaml").write_text(config_text)
    return tmp_path


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_dry_run_plans_every_stage(configfile):
    result = snakemake("-n", "--forceall", "--configfile", configfile)
    assert result.returncode == 0, result.stderr
    for rule in RULES:
        assert f"rule {rule}:" in result.stdout, rule


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
def test_tiny_workflow_end_to_end(tmp_path):
    work = workdir_with(tmp_path, TINY.read_text())
    result = snakemake("-d", str(work), "--cores", "2")
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
    ids = {}
    for split in ("train", "val", "test"):
        with h5py.File(res / "blends" / f"{split}.h5") as h5:
            table = read_table(h5["table"])
        ids[split] = set(table["g1_id"]) | set(table["g2_id"])
    assert not ids["test"] & (ids["train"] | ids["val"])
    metrics = pd.read_csv(res / "metrics.csv")
    assert {"blend2flux", "blend2mask2flux", "sep isophotal", "oracle (floor)"} <= set(
        metrics["method"]
    )
    assert np.isfinite(metrics.query("selection == 'all'")["sigma_mag"]).all()
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
    shutil.rmtree(work / ".snakemake", ignore_errors=True)


def test_paper_reference_dataset_through_the_workflow(tmp_path):
    """The paper's table alone runs the same metrics and figure rules."""
    from .test_paper_reference import TABLE

    if not TABLE.exists():
        pytest.fail(f"the paper's per-blend table is missing at {TABLE}")
    config = TINY.read_text().replace(
        "evaluate: {}", f"evaluate:\n  paper_reference: {{catalog: {TABLE}}}"
    )
    work = workdir_with(tmp_path, config)
    targets = [f"results/paper_reference/figures/figure{n}.png" for n in (5, 6, 7, 8, 9)]
    result = snakemake("-d", str(work), "--cores", "2", *targets)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = pd.read_csv(work / "results/paper_reference/metrics.csv")
    row = metrics.query("selection == 'figure5' and method == 'sep' and role == 'central'")
    assert row["bias"].iloc[0] == pytest.approx(0.101381, abs=1e-6)
    assert len(pd.read_csv(work / "results/paper_reference/output_catalog.csv")) == 4776
    assert not (work / "results/tiny").exists()  # nothing of the synthetic chain ran


def test_every_rule_declares_log_threads_resources_and_conda():
    import re

    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        blocks = re.split(r"^\s*rule (\w+):\s*$", path.read_text(), flags=re.M)
        for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
            for key in ("log:", "threads:", "resources:", "conda:"):
                assert key in body, f"{path.name}: rule {name} lacks {key}"
            env = re.search(r'conda:\s*\n\s*"([^"]+)"', body)
            assert env and (path.parent / env.group(1)).resolve().is_file(), name
