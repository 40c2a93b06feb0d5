"""Training one configured model (paper 3.1): MAPE loss, Adam, ReduceLROnPlateau, early stop.

A resume state (Keras BackupAndRestore) lives in ``resume_dir``, outside the rule's declared
outputs: a job killed mid-training (SLURM TIMEOUT, preemption) continues from its last epoch.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd

from blendphot.io import atomic_path, write_csv
from blendphot.models.data import BlendStream, normalisation_scales
from blendphot.models.registry import get_architecture, load_model_modules

log = logging.getLogger(__name__)


def configure_tensorflow(threads: int, seed: int, deterministic: bool) -> list:
    """Set thread counts, seeds and determinism; return the visible GPUs (logged)."""
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    except RuntimeError:  # TensorFlow already initialised in this process (tests, notebooks)
        log.info("TensorFlow already initialised: thread counts left as they are")
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            log.info(
                "GPU: %s (compute capability %s)",
                details.get("device_name", gpu.name),
                details.get("compute_capability"),
            )
    else:
        log.warning("no GPU visible: training on the CPU (fine for the demo, slow at scale)")
    return gpus


def build_model(architecture: str, params: dict, size: int, input_scale: float, flux_scale: float):
    """The registered network wrapped with its normalisation: raw blend in, fluxes out."""
    import keras
    from keras import layers

    core = get_architecture(architecture).build(input_shape=(size, size, 1), **params)
    inputs = keras.Input(shape=(size, size, 1), name="blend")
    x = layers.Rescaling(1.0 / input_scale, name="input_scale")(inputs)
    x = core(x)
    outputs = layers.Rescaling(flux_scale, name="flux_scale", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=core.name)


def train_model(
    model_config: dict,
    training: dict,
    train_path: Path,
    val_path: Path,
    model_path: Path,
    history_path: Path,
    resume_dir: Path,
    seed: int,
    threads: int = 1,
) -> pd.DataFrame:
    """Train one model and write model.keras and the history CSV. Returns the history."""
    load_model_modules([model_config["module"]] if "module" in model_config else [])
    get_architecture(model_config["architecture"])  # fail before touching TensorFlow
    import keras

    configure_tensorflow(threads, seed, training["deterministic"])
    train = BlendStream(train_path, training["batch_size"], shuffle=True, seed=seed)
    val = BlendStream(val_path, training["batch_size"], shuffle=False)
    input_scale, flux_scale = normalisation_scales(train_path)
    model = build_model(
        model_config["architecture"],
        model_config.get("params", {}),
        train.size,
        input_scale,
        flux_scale,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=training["learning_rate"]),
        loss=keras.losses.MeanAbsolutePercentageError(),
    )
    log.info("model %s: %d parameters", model.name, model.count_params())
    resume_dir = Path(resume_dir)
    resume_dir.mkdir(parents=True, exist_ok=True)
    history_log = resume_dir / "history.csv"  # appended across restarts, copied at the end
    callbacks = [
        keras.callbacks.BackupAndRestore(str(resume_dir / "backup")),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=training["lr_factor"], patience=training["lr_patience"]
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=training["patience"], restore_best_weights=True
        ),
        keras.callbacks.CSVLogger(str(history_log), append=True),
    ]
    model.fit(
        train.dataset(),
        validation_data=val.dataset(),
        epochs=training["epochs"],
        callbacks=callbacks,
        verbose=2,
    )
    history = pd.read_csv(history_log).drop_duplicates("epoch", keep="last")
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    write_csv(history, history_path)
    shutil.rmtree(resume_dir, ignore_errors=True)
    log.info("final val_loss %.3f after %d epochs", history["val_loss"].iloc[-1], len(history))
    return history
