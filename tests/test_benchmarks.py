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
