"""Prediction: fluxes of the test set from a trained model, written as HDF5."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np

from blendphot import __version__
from blendphot.blends import open_blend_set
from blendphot.errors import InputError
from blendphot.io import atomic_path, open_h5
from blendphot.models.data import BlendStream

log = logging.getLogger(__name__)


def predict_fluxes(model_path: Path, blend_path: Path, batch_size: int = 256) -> np.ndarray:
    """Fluxes (N, 2) predicted by a saved model on a blend set, streamed batch by batch."""
    import keras

    if not Path(model_path).exists():
        raise InputError(model_path, "trained model does not exist")
    model = keras.models.load_model(model_path)
    stream = BlendStream(blend_path, batch_size, shuffle=False)
    out = [np.asarray(model.predict_on_batch(x)) for x, _ in stream()]
    return np.concatenate(out).astype(np.float64)


def write_predictions(
    model_path: Path, blend_path: Path, out_path: Path, model_name: str, batch_size: int = 256
) -> int:
    """Predict on a blend set and write ``id`` and ``flux`` (N, 2) to ``out_path``."""
    flux = predict_fluxes(model_path, blend_path, batch_size)
    with open_blend_set(blend_path) as h5:
        ids = h5["table/id"][()]
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as out:
        out.create_dataset("id", data=ids, track_times=False)
        out.create_dataset("flux", data=flux, track_times=False)
        out.attrs.update({"model": model_name, "version": __version__})
    log.info(
        "%s: predicted %d blends, %d non-finite",
        model_name,
        len(flux),
        int((~np.isfinite(flux)).any(axis=1).sum()),
    )
    return len(flux)


def read_predictions(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ids, fluxes) from a predictions file."""
    with open_h5(path, required=("id", "flux")) as h5:
        return h5["id"][()], h5["flux"][()]
