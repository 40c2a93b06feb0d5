"""The optional cross-domain table (issue 18): networks trained on one sky, tested on another."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from blendphot.crossdomain.table import (
    check_other_datasets,
    cross_domain_table,
    dataset_files,
    table_markdown,
)
from blendphot.errors import ConfigError

from .conftest import TINY
from .test_workflow import planned_rules, snakemake, workdir_with


def test_table_holds_every_pair_of_skies(tiny_data, tmp_path):
    """Two datasets (both on the tiny test set), two models each: 2 x 2 x 2 rows, each MAPE
    that of the model's known error, whatever it is tested on."""
    with h5py.File(tiny_data["test"]) as h5:
        truth = h5["flux"][()]
    error = {"a/b2f": 0.10, "a/unet2": 0.20, "b/b2f": 0.30, "b/unet2": 0.40}

    def predict(model: Path, test: Path) -> np.ndarray:
        assert test == Path(tiny_data["test"])
        return truth * (1.0 + error[f"{model.parent.name}/{model.stem}"])

    files = {
        name: {"test": Path(tiny_data["test"]),
               "models": {m: tmp_path / name / f"{m}.keras" for m in ("b2f", "unet2")}}
        for name in ("a", "b")
    }  # fmt: skip
    table = cross_domain_table(files, ["b2f", "unet2"], predict)
    assert len(table) == 8
    assert set(zip(table["trained_on"], table["tested_on"], strict=True)) == {
        ("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")
    }  # fmt: skip
    for row in table.itertuples():
        expected = 100 * error[f"{row.trained_on}/{row.model}"]
        assert row.mape_central == pytest.approx(expected, abs=0.01)
        assert row.mape_companion == pytest.approx(expected, abs=0.01)
    assert table_markdown(table).count("\n| a |") == 4


def test_other_datasets_must_exist_before_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="missing results/cosmos/blends/test.h5"):
        check_other_datasets(["cosmos"], "demo", ["blend2flux"])
    with pytest.raises(ConfigError, match="this run's dataset"):
        check_other_datasets(["demo"], "demo", ["blend2flux"])
    files = dataset_files("cosmos", ["blend2flux"])
    for path in (files["test"], *files["models"].values()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    check_other_datasets(["cosmos"], "demo", ["blend2flux"])
    # networks of pairs only: neither this run nor the other may hold larger blends
    with pytest.raises(ConfigError, match="up to 4 galaxies"):
        check_other_datasets(["cosmos"], "demo", ["blend2flux"], max_galaxies=4)
    from blendphot.testing import write_multi_set

    write_multi_set(files["test"], [2, 3], size=32)
    with pytest.raises(ConfigError, match="'cosmos' holds blends of more than two galaxies"):
        check_other_datasets(["cosmos"], "demo", ["blend2flux"])


def test_cross_domain_rule_needs_the_other_datasets_and_is_planned(tmp_path):
    text = TINY.read_text().replace("evaluate: {}", "evaluate: {cross_domain: [other]}")
    work = workdir_with(tmp_path, text)
    result = snakemake("-d", str(work), "-n")
    assert result.returncode != 0
    assert (
        "evaluate.cross_domain: missing results/other/blends/test.h5"
        in result.stdout + result.stderr
    )
    for name in ("blends/test.h5", "models/blend2flux/model.keras",
                 "models/blend2mask2flux/model.keras"):  # fmt: skip
        (work / "results" / "other" / name).parent.mkdir(parents=True, exist_ok=True)
        (work / "results" / "other" / name).touch()
    planned = snakemake("-d", str(work), "-n")
    assert planned.returncode == 0, planned.stderr[-2000:]
    assert "cross_domain" in planned_rules(planned.stdout)
