"""Training and prediction stages (paper 3.1-3.2), one job per configured model."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import stage


@stage(
    inputs=("train", "val", "init"),
    outputs=("model", "history", "curve", "summary", "tensorboard"),
    params=("model", "resume_dir"),
    settings=("models.{model}", "training", "seed"),
    list_inputs=("init",),
    optional_inputs=("init",),
)
def train_model(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Train one configured model (params: model, resume_dir; inputs init: the trained models
    of init_from, in its order). Every output, the curve included, is written before the
    resume state is removed."""
    from blendphot.models.settings import ModelSpec, TrainingSettings, training_settings
    from blendphot.models.train import train_model as train

    name = params["model"]
    train(
        ModelSpec.of(settings["models"][name]),
        TrainingSettings.of(training_settings(settings, name)),
        Path(inputs["train"]),
        Path(inputs["val"]),
        Path(outputs["model"]),
        Path(outputs["history"]),
        Path(params["resume_dir"]),
        settings["seed"],
        threads,
        init_paths=[Path(p) for p in inputs.get("init", [])],
        tensorboard_dir=Path(outputs["tensorboard"]),
        summary_path=Path(outputs["summary"]),
        name=name,
        curve_path=Path(outputs["curve"]),
    )


PREDICT_SETTINGS = (
    "training.deterministic",
    "seed",
    "uncertainty.symmetries",
    "models.{model}.symmetries",
)
"""What prediction reads: determinism, the seed, and the symmetries that give a width (the
model's own setting first)."""


def _predict(
    settings: dict, model_path: str, blends: str, out: str, name: str, threads: int, masks=True
):
    """Predict one blend set with one trained model (fluxes, flux widths; masks unless
    ``masks`` is False)."""
    from blendphot.models.predict import write_predictions
    from blendphot.models.train import configure_tensorflow

    configure_tensorflow(threads, settings["seed"], settings["training"]["deterministic"])
    own = settings.get("models", {}).get(name, {})
    symmetries = int(own.get("symmetries", settings.get("uncertainty", {}).get("symmetries", 1)))
    paths = (Path(model_path), Path(blends), Path(out))
    write_predictions(*paths, name, symmetries=symmetries, masks=masks)


@stage(
    inputs=("trained_model", "test"),
    outputs=("predictions",),
    params=("model",),
    settings=PREDICT_SETTINGS,
)
def predict(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Predict the test set's fluxes (and masks, flux widths) with one trained model
    (params: model)."""
    paths = (inputs["trained_model"], inputs["test"], outputs["predictions"])
    _predict(settings, *paths, params["model"], threads)


@stage(
    inputs=("trained_model", "val"),
    outputs=("predictions",),
    params=("model",),
    settings=PREDICT_SETTINGS,
)
def predict_validation(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Predict the validation set's fluxes and widths (no masks) with one trained model
    (params: model), for the calibration of its flux uncertainties (fitted on the validation
    blends only)."""
    paths = (inputs["trained_model"], inputs["val"], outputs["predictions"])
    _predict(settings, *paths, params["model"], threads, masks=False)
