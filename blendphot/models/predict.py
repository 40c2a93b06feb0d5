"""Prediction: fluxes (and masks, for mask models) of a blend set from a trained model."""

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


def write_predictions(
    model_path: Path, blend_path: Path, out_path: Path, model_name: str, batch_size: int = 64
) -> int:
    """Predict on a blend set, streamed batch by batch, and write ``id``, ``flux`` (N, 2) and
    ``masks`` (N, 2, S, S) float16 probabilities, whichever the model outputs."""
    import keras

    if not Path(model_path).exists():
        raise InputError(model_path, "trained model does not exist")
    model = keras.models.load_model(model_path)
    with open_blend_set(blend_path) as h5:
        ids = h5["table/id"][()]
        n, size = h5["blend"].shape[0], h5["blend"].shape[-1]
    stream = BlendStream(blend_path, batch_size, shuffle=False, targets=())
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as out:
        out.create_dataset("id", data=ids, track_times=False)
        datasets: dict[str, h5py.Dataset] = {}
        start = 0
        for x, _ in stream():
            pred = model.predict_on_batch(x)
            pred = pred if isinstance(pred, dict) else {"flux": pred}
            stop = start + len(x)
            if "flux" in pred:
                if "flux" not in datasets:
                    datasets["flux"] = out.create_dataset("flux", (n, 2), np.float64,
                                                          track_times=False)  # fmt: skip
                datasets["flux"][start:stop] = np.asarray(pred["flux"], np.float64)
            if "masks" in pred:
                if "masks" not in datasets:
                    datasets["masks"] = out.create_dataset(
                        "masks", (n, 2, size, size), np.float16,
                        chunks=(min(n, 32), 2, size, size), track_times=False,
                    )  # fmt: skip
                datasets["masks"][start:stop] = np.moveaxis(np.asarray(pred["masks"]), -1, 1)
            start = stop
        out.attrs.update({"model": model_name, "version": __version__})
    log.info("%s: predicted %s for %d blends", model_name, sorted(datasets), n)
    return n


def read_predictions(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(ids, fluxes) from a predictions file; fluxes None for a mask-only model."""
    with open_h5(path, required=("id",)) as h5:
        return h5["id"][()], (h5["flux"][()] if "flux" in h5 else None)
