"""One training on several devices (``training.gpus``, MirroredStrategy), checked on the CPU:
two logical CPU devices train to the weights of one device with the same global batch and
seed, and a training stopped after an epoch (a Slurm TIMEOUT) resumes under the strategy to
the weights of the uninterrupted run (benchmarks/distribute.py, run in a fresh interpreter:
the logical devices must be set before TensorFlow starts)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from blendphot.models.settings import TrainingSettings
from blendphot.models.train import training_devices

from .conftest import ROOT

TOLERANCE = 1e-5
"""Largest relative weight difference allowed between one and two devices (float32 sums in
another order; measured 2.6e-7 after 3 epochs)."""


@pytest.mark.train
def test_two_logical_cpus_train_and_resume_as_one_device():
    cmd = [sys.executable, str(ROOT / "benchmarks" / "distribute.py"), "--logical-cpus", "2",
           "--images", "64", "--size", "32", "--epochs", "3", "--batch-size", "16",
           "--filters", "4", "--kill-after", "2", "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["devices"] == ["/cpu:0", "/cpu:1"] and facts["replicas"] == 2
    assert facts["max_relative_weight_difference"] < TOLERANCE
    assert facts["resumed_epochs"] == [0, 1, 2]
    assert facts["resumed_max_relative_weight_difference"] < TOLERANCE
    assert "training on /cpu:0, /cpu:1: 2 replica(s), global batch 16 (8 per replica)" in (
        result.stderr
    )


def test_the_gpus_setting_picks_all_or_the_first_n():
    gpus = ["GPU0", "GPU1", "GPU2", "GPU3"]
    assert training_devices(gpus, "all") == ["/gpu:0", "/gpu:1", "/gpu:2", "/gpu:3"]
    assert training_devices(gpus, 2) == ["/gpu:0", "/gpu:1"]
    assert training_devices([], "all") == []
    assert training_devices(gpus[:1], 4) == ["/gpu:0"]


def test_the_gpus_setting_stays_out_of_a_resume_state():
    from blendphot.config import with_defaults

    section = with_defaults({"training": {}})["training"]
    settings = TrainingSettings.of(section)
    assert settings.gpus == "all"
    assert "gpus" not in settings.identity() and "gpus" in settings.as_config()
    older = {k: v for k, v in section.items() if k != "gpus"}  # a 0.1.0 section
    assert TrainingSettings.of(older).identity() == settings.identity()
