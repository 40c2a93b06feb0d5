"""Benchmark scripts run: the GPU check script's CPU smoke mode writes its CSV; the contract
benchmark prints every check."""

from __future__ import annotations

import csv
import os
import subprocess

import pytest

from .conftest import ROOT


@pytest.mark.train
def test_gpu_script_smoke_run_writes_its_csv(tmp_path):
    out = tmp_path / "gpu.csv"
    env = {**os.environ, "QUICK": "1", "BENCH_DIR": str(tmp_path), "CSV": str(out)}
    result = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu.sh")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = list(csv.DictReader(out.open()))
    assert rows, "no row written"
    for row in rows:
        assert row["device"] and row["tensorflow"]
        assert row["cudnn"] == "none" if row["device"] == "CPU" else row["cudnn"][0].isdigit()
        assert float(row["images_per_s_network"]) > 0
        assert float(row["images_per_s_end-to-end"]) > 0  # through the real input path
        assert float(row["minutes_70x25k_end-to-end"]) > 0


def test_contracts_benchmark_prints_every_check():
    result = subprocess.run(
        ["python", str(ROOT / "benchmarks" / "contracts.py"), "--n", "300", "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for check in ("check_blend_file", "nonfinite_rows", "check_predictions", "check_output"):
        assert check in result.stdout


def _detection_classes():
    """benchmarks/detection_classes.py as a module (benchmarks are scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "detection_classes", ROOT / "benchmarks" / "detection_classes.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_detection_classes_shape_kinds_and_bootstrap():
    """The benchmark's shape kinds follow the catalogue's shape columns, and its bootstrap
    over galaxies gives zero spread where every group has the same classes."""
    import numpy as np

    dc = _detection_classes()
    base = {"realistic": True, "q": 0.9, "knot_fraction": 0.0, "arm_fraction": 0.0,
            "knot_offset": 0.0}  # fmt: skip
    assert dc.shape_kind({**base, "type": "sph"}) == "smooth"
    assert dc.shape_kind({**base, "type": "disk"}) == "smooth"
    assert dc.shape_kind({**base, "type": "disk", "q": 0.25}) == "edge-on disc"
    assert dc.shape_kind({**base, "type": "disk", "knot_fraction": 0.1}) == "clumpy disc"
    assert dc.shape_kind({**base, "type": "sphd", "knot_fraction": 0.1}) == "clumpy disc"
    assert dc.shape_kind({**base, "type": "sphd", "arm_fraction": 0.1}) == "spiral"
    assert dc.shape_kind({**base, "type": "irr", "knot_fraction": 0.2, "knot_offset": 0.5}) == (
        "irregular"
    )
    assert dc.shape_kind({**base, "type": "irr", "knot_fraction": 0.2, "realistic": False}) == (
        "smooth"
    )
    detection = np.array([2, 2, 1, 3] * 25)
    assert dc.class_percent(detection) == {2: 50.0, 1: 25.0, 0: 0.0, 3: 25.0}
    same = dc.bootstrap_sd(detection, np.repeat(np.arange(25), 4), n_boot=50)
    assert max(same.values()) < 1e-9  # every galaxy holds one blend of each class in turn
    mixed = dc.bootstrap_sd(np.array([2] * 50 + [1] * 50), np.arange(100), n_boot=400)
    assert 3.5 < mixed[2] < 6.5  # binomial: 100 sqrt(0.25 / 100) = 5
    pairs = np.column_stack([np.arange(100), np.arange(100, 200)])
    # two galaxies per blend, none shared: a weight is the product of two draws (variance 3)
    assert 6.5 < dc.bootstrap_sd(np.array([2] * 50 + [1] * 50), pairs, n_boot=400)[2] < 11.0
