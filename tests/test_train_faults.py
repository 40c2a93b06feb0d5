"""Training faults fail early and clearly, and a failed write never loses a finished training.

Real faults where the sandbox allows them: a path through a regular file, a read-only mount, a
full disk (a small tmpfs, filled when training ends); the mount tests skip, saying why, where
mounting is refused. The blend sets are small Gaussian pairs (blendphot.testing), the model
the smallest blend2flux.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from contextlib import contextmanager, nullcontext
from pathlib import Path

import h5py
import numpy as np
import pytest

from blendphot.errors import ConfigError, InputError
from blendphot.testing import write_multi_set

from .conftest import tiny_config_dict

SIZE = 32
MODEL = {"architecture": "blend2flux", "params": {"filters": 2, "dense_units": 4}}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> dict:
    """Train and validation sets of Gaussian pairs, and one of 2 to 4 galaxies (K = 4)."""
    d = tmp_path_factory.mktemp("pairs")
    return {
        "train": write_multi_set(d / "train.h5", [2] * 16, SIZE, seed=1),
        "val": write_multi_set(d / "val.h5", [2] * 8, SIZE, seed=2),
        "multi": write_multi_set(d / "multi.h5", [2, 3, 4, 2, 4, 3, 2, 4], SIZE, seed=3),
    }


def settings(**extra) -> dict:
    return {**tiny_config_dict()["training"], "epochs": 2, "batch_size": 8, **extra}


def record_epochs():
    """A Keras callback recording the epochs that begin (``.epochs``)."""
    import keras

    class Record(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)

    return Record()


def fill_on_train_end(directory: Path):
    """A Keras callback that fills the file system of ``directory`` when fit ends (after the
    last epoch's backup, before the outputs are written): the disk fills during training."""
    import keras

    class Fill(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            fill(directory)

    return Fill()


def fill(directory: Path) -> None:
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


@contextmanager
def tmpfs(path: Path, size: str = "4m", readonly: bool = False):
    """A small tmpfs mounted at ``path`` (read-only if asked); skip when it cannot be."""
    path.mkdir(parents=True, exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)]
    done = subprocess.run(mount, capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs for a real disk fault: {done.stderr.strip()}")
    try:
        if readonly:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def train(pairs, tmp_path, out: Path, resume: Path, model=MODEL, callbacks=(), **paths):
    from blendphot.models.train import train_model

    return train_model(
        model,
        settings(),
        paths.get("train_path", pairs["train"]),
        paths.get("val_path", pairs["val"]),
        out / "model.keras",
        out / "history.csv",
        resume,
        seed=1,
        threads=2,
        init_paths=paths.get("init_paths", ()),
        tensorboard_dir=tmp_path / "tb",
        summary_path=out / "summary.json",
        curve_path=out / "curve.png",
        extra_callbacks=callbacks,
        name="b2f",
    )


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# 1. params checked against the builder's signature when the config is read


def test_an_unknown_param_fails_the_config_check_naming_it_and_the_accepted_ones():
    from blendphot.models.registry import check_models

    with pytest.raises(ConfigError) as caught:
        check_models({"b2f": {"architecture": "blend2flux", "params": {"filterz": 8}}})
    message = str(caught.value)
    assert "model 'b2f' (architecture 'blend2flux')" in message
    assert "unknown params 'filterz' (did you mean 'filters'?)" in message
    assert "accepts filters, dense_units, dense_activation, width" in message
    assert "input_shape" not in message.split("accepts")[1]  # set by the workflow
    assert "slots" not in message.split("accepts")[1]
    with pytest.raises(ConfigError, match="model 'u'.*params must not set 'input_shape'"):
        check_models({"u": {"architecture": "unet", "params": {"input_shape": [8, 8, 1]}}})
    with pytest.raises(ConfigError, match="model 'u'.*params must not set 'slots'"):
        check_models({"u": {"architecture": "unet", "params": {"slots": 3}}})
    check_models({"u": {"architecture": "unet", "params": {"depth": 2, "filters": 4}}})


def test_a_builder_with_kwargs_takes_any_param_and_training_checks_names_first(tmp_path):
    from blendphot.models import register
    from blendphot.models.registry import check_models
    from blendphot.models.train import train_model

    @register("kwargs_builder_for_test")
    def build(input_shape=(32, 32, 1), **options):  # pragma: no cover - never built here
        raise AssertionError("not built")

    check_models({"k": {"architecture": "kwargs_builder_for_test", "params": {"anything": 1}}})
    # the training job checks the names before it reads a blend set (none exists here)
    bad = {"architecture": "blend2flux", "params": {"filterz": 8}}
    missing = tmp_path / "absent.h5"
    with pytest.raises(ConfigError, match="unknown params 'filterz'"):
        train_model(bad, settings(), missing, missing, tmp_path / "m.keras",
                    tmp_path / "h.csv", tmp_path / "resume", seed=1)  # fmt: skip


# 2. outputs checked writable before training; a failed write keeps the resume state


def test_an_output_directory_under_a_file_fails_before_the_first_epoch(pairs, tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file where the model directory should be")
    record = record_epochs()
    with pytest.raises(InputError) as caught:
        train(pairs, tmp_path, blocker / "b2f", tmp_path / "resume", callbacks=[record])
    assert caught.value.path == str(blocker / "b2f")
    assert "output directory cannot be written (Not a directory)" in str(caught.value)
    assert record.epochs == []
    assert not (tmp_path / "resume").exists()


def test_a_read_only_model_directory_fails_before_the_first_epoch(pairs, tmp_path):
    out = tmp_path / "ro"
    record = record_epochs()
    if os.geteuid() != 0:  # permissions hold for other users
        out.mkdir()
        out.chmod(0o555)
        reason = "Permission denied"
        context = nullcontext(out)
    else:  # root writes through permissions: a read-only mount
        reason = "Read-only file system"
        context = tmpfs(out, readonly=True)
    with context, pytest.raises(InputError) as caught:
        train(pairs, tmp_path, out, tmp_path / "resume", callbacks=[record])
    assert caught.value.path == str(out)
    assert f"output directory cannot be written ({reason})" in str(caught.value)
    assert "rerun" in str(caught.value)
    assert record.epochs == []
    assert not (tmp_path / "resume" / "backup").exists()


@pytest.mark.train
def test_a_full_output_disk_keeps_the_trained_model_and_the_rerun_only_writes(pairs, tmp_path):
    out, resume = tmp_path / "out", tmp_path / "resume"
    with tmpfs(out):
        with pytest.raises(InputError) as caught:
            train(pairs, tmp_path, out, resume, callbacks=[fill_on_train_end(out)])
        message = str(caught.value)
        assert caught.value.path == str(out / "model.keras")
        assert "cannot write this file (No space left on device)" in message
        assert f"the resume state in {resume} is kept" in message
        assert "a rerun writes the outputs without training again" in message
        # nothing half-written: no output, no temporary file, beside the filler
        assert sorted(p.name for p in out.iterdir()) == ["filler"]
        kept = sorted(p.name for p in resume.iterdir())
        assert kept == ["backup", "history.csv", "run.json", "trained.json", "trained.keras"]
        trained = digest(resume / "trained.keras")
        (out / "filler").unlink()  # space freed
        record = record_epochs()
        history = train(pairs, tmp_path, out, resume, callbacks=[record])
        assert record.epochs == []  # not trained again
        assert list(history["epoch"]) == [0, 1]
        assert digest(out / "model.keras") == trained
        summary = json.loads((out / "summary.json").read_text())
        assert summary["epochs"] == 2 and summary["device"] == "CPU"
        assert (out / "curve.png").stat().st_size > 0
        assert len((out / "history.csv").read_text().splitlines()) == 3
        assert not resume.exists()  # removed once every output is written


@pytest.mark.train
def test_a_full_resume_disk_keeps_the_backup_and_the_rerun_resumes_it(pairs, tmp_path):
    out, resume = tmp_path / "out", tmp_path / "resume"
    with tmpfs(resume):
        with pytest.raises(InputError) as caught:
            train(pairs, tmp_path, out, resume, callbacks=[fill_on_train_end(resume)])
        assert caught.value.path == str(resume / "trained.keras")
        assert "cannot write this file (No space left on device)" in str(caught.value)
        assert "a rerun resumes from the backup of the last epoch" in str(caught.value)
        assert sorted(p.name for p in resume.iterdir()) == [
            "backup", "filler", "history.csv", "run.json"]  # fmt: skip
        assert not out.exists() or not any(out.iterdir())
        backup = json.loads((resume / "backup" / "training_metadata.json").read_text())
        assert backup["epoch"] == 2
        (resume / "filler").unlink()
        record = record_epochs()
        history = train(pairs, tmp_path, out, resume, callbacks=[record])
        assert record.epochs == []  # resumed after the last epoch: nothing left to train
        assert list(history["epoch"]) == [0, 1]
        assert (out / "model.keras").exists() and (out / "curve.png").exists()
        assert not any(resume.iterdir())  # the mount point stays, emptied


def test_a_resumed_run_that_lost_its_best_epoch_says_so(caplog):
    from types import SimpleNamespace

    import pandas as pd

    from blendphot.models.train import warn_if_best_epoch_lost

    history = pd.DataFrame({"epoch": [0, 1, 2], "val_loss": [5.0, 3.0, 4.0]})
    resumed = SimpleNamespace(best_epoch=0, best_weights=None)  # no epoch ran after the restart
    warn_if_best_epoch_lost(history, "val_loss", resumed)
    assert "holds the weights of epoch 3, not those of the best epoch 2" in caplog.text
    caplog.clear()
    whole = SimpleNamespace(best_epoch=1, best_weights=[np.zeros(1)])
    warn_if_best_epoch_lost(history, "val_loss", whole)
    assert caplog.text == ""


def test_a_resume_state_of_other_settings_is_discarded(tmp_path):
    from blendphot.models.train import (
        finished_training,
        open_resume_state,
        run_identity,
    )

    data = tmp_path / "train.h5"
    data.write_bytes(b"blends")
    resume = tmp_path / "resume"
    first = run_identity(MODEL, settings(), 1, 2, [data])
    open_resume_state(resume, first)
    (resume / "trained.json").write_text("{}")
    (resume / "trained.keras").write_bytes(b"x")
    open_resume_state(resume, first)  # the same run: kept
    assert (resume / "trained.json").exists()
    assert finished_training(resume) is None  # ... but a model that does not read back goes
    assert sorted(p.name for p in resume.iterdir()) == ["run.json"]
    (resume / "trained.json").write_text("{}")
    (resume / "trained.keras").write_bytes(b"x")
    other = run_identity(MODEL, settings(learning_rate=0.5), 1, 2, [data])
    assert other != first
    open_resume_state(resume, other)
    assert sorted(p.name for p in resume.iterdir()) == ["run.json"]
    assert json.loads((resume / "run.json").read_text()) == other
    assert finished_training(resume) is None
    os.utime(data, ns=(0, 0))  # the blend set was made again
    assert run_identity(MODEL, settings(learning_rate=0.5), 1, 2, [data]) != other


# 3. NaN pixels and non-positive fluxes, named before training


def broken_copy(source: Path, path: Path, edit) -> Path:
    shutil.copy(source, path)
    with h5py.File(path, "a") as h5:
        edit(h5)
    return path


def test_nan_pixels_in_the_validation_set_fail_before_training(pairs, tmp_path):
    def nan_pixels(h5):
        blend = h5["blend"][()]
        blend[5, 3, 3], blend[2, 0, 0] = np.nan, np.inf
        h5["blend"][...] = blend

    bad = broken_copy(pairs["val"], tmp_path / "val.h5", nan_pixels)
    record = record_epochs()
    with pytest.raises(InputError) as caught:
        train(pairs, tmp_path, tmp_path / "out", tmp_path / "resume", callbacks=[record],
              val_path=bad)  # fmt: skip
    assert caught.value.path == str(bad)
    assert "dataset blend has NaN or infinite pixels in 2 of 8 blends (rows 2, 5)" in str(
        caught.value
    )
    assert record.epochs == [] and not (tmp_path / "resume").exists()


def test_non_positive_true_fluxes_fail_naming_the_rows(pairs, tmp_path):
    from blendphot.models.train import check_inputs

    def bad_flux(h5):
        flux = h5["flux"][()]
        flux[7, 1], flux[11, 0], flux[12, 1] = -1.0, 0.0, np.nan
        h5["flux"][...] = flux

    bad = broken_copy(pairs["train"], tmp_path / "train.h5", bad_flux)
    with pytest.raises(InputError) as caught:
        check_inputs([bad, pairs["val"]], ("flux",))
    assert caught.value.path == str(bad)
    assert "dataset flux, rows 7, 11, 12: a true flux must be finite and positive" in str(
        caught.value
    )
    # the masks alone do not need fluxes; absent slots (NaN) of a K = 4 set are fine
    assert check_inputs([pairs["multi"]], ("flux", "masks")) == 4


def test_a_set_of_blank_blends_says_which_normalisation_fails(pairs, tmp_path):
    from blendphot.models.data import normalisation_scales

    def blank(h5):
        h5["blend"][...] = 0.0

    bad = broken_copy(pairs["train"], tmp_path / "blank.h5", blank)
    with pytest.raises(InputError, match="cannot derive the input normalisation: the median"):
        normalisation_scales(bad)


# 4. a truncated or corrupt model.keras is named as such


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    from blendphot.models.registry import get_architecture, load_model_modules
    from blendphot.models.train import build_model

    load_model_modules()
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    build_model(get_architecture("blend2flux"), MODEL["params"], SIZE, 1.0, 10.0).save(path)
    return path


def damaged(saved: Path, path: Path, how: str) -> Path:
    data = saved.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "no weights":
        with zipfile.ZipFile(saved) as src, zipfile.ZipFile(path, "w") as dst:
            for name in ("metadata.json", "config.json"):
                dst.writestr(name, src.read(name))
    elif how == "bad crc":
        with zipfile.ZipFile(saved) as archive:
            info = archive.getinfo("model.weights.h5")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        middle = start + info.compress_size // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    return path


@pytest.mark.parametrize(
    "how, problem",
    [
        ("truncated", "not a readable Keras model (.keras zip) file: not a zip archive"),
        ("empty", "model file is empty (0 bytes): not a readable Keras model"),
        ("no weights", "not a readable Keras model (.keras zip) file: the archive lacks "
         "model.weights.h5"),
        ("bad crc", "file: member model.weights.h5 is corrupt (bad CRC)"),
    ],
)  # fmt: skip
def test_a_damaged_model_file_is_named_with_its_problem(saved_model, tmp_path, how, problem):
    from blendphot.models.modelfile import check_model_file
    from blendphot.models.registry import get_architecture
    from blendphot.models.train import build_model, initialise_from

    check_model_file(saved_model)  # the whole file passes
    bad = damaged(saved_model, tmp_path / "model.keras", how)
    with pytest.raises(InputError) as caught:
        check_model_file(bad)
    assert caught.value.path == str(bad) and problem in str(caught.value)
    assert "File not found" not in str(caught.value)
    model = build_model(get_architecture("blend2flux"), MODEL["params"], SIZE, 1.0, 10.0)
    with pytest.raises(InputError) as caught:
        initialise_from(model, bad)
    assert caught.value.path == str(bad) and problem in str(caught.value)


def test_a_truncated_init_model_fails_training_before_the_first_epoch(saved_model, pairs, tmp_path):
    bad = damaged(saved_model, tmp_path / "unet.keras", "truncated")
    model = {**MODEL, "init_from": "other"}
    record = record_epochs()
    with pytest.raises(InputError, match="not a readable Keras model") as caught:
        train(pairs, tmp_path, tmp_path / "out", tmp_path / "resume", model=model,
              callbacks=[record], init_paths=[bad])  # fmt: skip
    assert caught.value.path == str(bad)
    assert record.epochs == []


@pytest.mark.train
def test_the_stage_writes_the_curve_before_the_resume_state_goes(pairs, tmp_path):
    from blendphot.stages import run_stage

    config = tiny_config_dict()
    config["models"] = {"b2f": MODEL}
    config["training"] |= {"epochs": 1, "batch_size": 8}
    out = tmp_path / "out"
    names = {"model": "keras", "history": "csv", "curve": "png", "summary": "json"}
    outputs = {k: out / f"{k}.{ext}" for k, ext in names.items()}
    outputs["tensorboard"] = out / "tb"
    out.mkdir()
    (out / "curve.png").mkdir()  # the curve cannot be written: the other outputs go too
    params = {"model": "b2f", "resume_dir": tmp_path / "resume"}
    inputs = {"train": pairs["train"], "val": pairs["val"]}
    with pytest.raises(InputError) as caught:
        run_stage("train_model", config, inputs, outputs, params)
    assert caught.value.path == str(out / "curve.png")
    assert "a rerun writes the outputs without training again" in str(caught.value)
    assert not any(outputs[k].exists() for k in ("model", "history", "summary"))
    assert (tmp_path / "resume" / "trained.keras").exists()
    (out / "curve.png").rmdir()
    run_stage("train_model", config, inputs, outputs, params)
    assert all(outputs[k].stat().st_size > 0 for k in ("model", "history", "curve", "summary"))
    assert not (tmp_path / "resume").exists()
