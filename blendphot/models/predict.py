"""Prediction: fluxes (and masks, for mask models) of a blend set from a trained model."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np

from blendphot.blends import open_blend_set
from blendphot.blends.layout import galaxy_counts, present_slots, slot_count
from blendphot.contracts import SKIPPED, read_prediction_file
from blendphot.errors import InputError
from blendphot.io import atomic_path
from blendphot.models.data import BlendStream, symmetry_transform
from blendphot.models.modelfile import load_model_file
from blendphot.models.registry import WIDTH_TARGET
from blendphot.version import software_version

log = logging.getLogger(__name__)


WIDTH_OUTPUT = WIDTH_TARGET
"""The optional model output holding a 1-sigma width (N, K) of each flux, in flux units."""


def symmetry_widths(model, x: np.ndarray, flux: np.ndarray, symmetries: int) -> np.ndarray:
    """Per-slot widths (B, K) from the spread of the flux predictions over the first
    ``symmetries`` of the square's symmetries of the blend (the centre stays put and no flux
    changes, so every galaxy keeps its slot): the standard deviation of the
    ``symmetries`` predictions, the plain one (``flux``) included."""
    preds = [np.asarray(flux, np.float64)]
    for code in range(1, symmetries):
        turned = symmetry_transform(np.asarray(x), np.full(len(x), code))
        out = model.predict_on_batch(turned)
        preds.append(np.asarray(out["flux"] if isinstance(out, dict) else out, np.float64))
    return np.std(np.stack(preds), axis=0, ddof=1)


def write_predictions(
    model_path: Path,
    blend_path: Path,
    out_path: Path,
    model_name: str,
    batch_size: int = 64,
    symmetries: int = 1,
    masks: bool = True,
) -> int:
    """Predict on a blend set, streamed batch by batch, and write ``id``, ``flux`` (N, K) and
    ``masks`` (N, K, S, S) float16 probabilities, whichever the model outputs, K the set's
    galaxy slots (the model must predict at least K; a model of more slots gives its first
    K). The fluxes (and widths) of absent slots (beyond a blend's ``n_galaxies``) are written
    as NaN: there is no galaxy there to measure. Their masks are written as predicted (the
    network learnt empty masks there). A blend with a non-finite pixel is not measured: its
    row is marked in ``skipped`` and its fluxes, widths and masks are NaN (never a number the
    network made of a zero-filled image); the count is logged.

    ``flux_err`` (N, K), a 1-sigma width per flux, is the model's own output of that name
    when it has one; else, with ``symmetries`` > 1, the spread of its fluxes over that many
    symmetries of the blend (:func:`symmetry_widths`); else absent. The ``width`` attribute
    says which (``model``, ``symmetries``, ``none``). ``masks`` False leaves the masks out."""
    import blendphot.models.losses  # noqa: F401 - registers the masked flux loss
    import blendphot.models.widths  # noqa: F401 - registers a width model's layers and loss

    model = load_model_file(Path(model_path))
    with open_blend_set(blend_path) as h5:
        ids = h5["table/id"][()]
        n, size = h5["blend"].shape[0], h5["blend"].shape[-1]
        k = slot_count(h5)
        absent = ~present_slots(galaxy_counts(h5), k)
    skipped = np.zeros(n, dtype=bool)  # found batch by batch, in the pixels read anyway
    outputs = [o.shape[-1] for o in model.outputs]
    if min(outputs) < k:
        raise InputError(
            model_path,
            f"model predicts {min(outputs)} slots but blend set {blend_path} has {k} galaxy slots",
        )
    stream = BlendStream(blend_path, batch_size, shuffle=False, targets=())
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as out:
        out.create_dataset("id", data=ids, track_times=False)
        datasets: dict[str, h5py.Dataset] = {}
        width = "none"
        start = 0
        for x, _ in stream():
            stop = start + len(x)
            bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
            skipped[start:stop] = bad
            if bad.any():  # the network never sees them; their outputs are NaN below
                x = np.where(bad[:, None, None, None], np.float32(0), x)
            pred = model.predict_on_batch(x)
            pred = pred if isinstance(pred, dict) else {"flux": pred}
            if WIDTH_OUTPUT in pred:
                width = "model"
            elif "flux" in pred and symmetries > 1:
                pred[WIDTH_OUTPUT] = symmetry_widths(model, x, pred["flux"], symmetries)
                width = "symmetries"
            for key in ("flux", WIDTH_OUTPUT):
                if key in pred:
                    if key not in datasets:
                        datasets[key] = out.create_dataset(key, (n, k), np.float64,
                                                           track_times=False)  # fmt: skip
                    values = np.asarray(pred[key], np.float64)[:, :k]
                    values[absent[start:stop] | bad[:, None]] = np.nan
                    datasets[key][start:stop] = values
            if "masks" in pred and masks:
                if "masks" not in datasets:
                    datasets["masks"] = out.create_dataset(
                        "masks", (n, k, size, size), np.float16,
                        chunks=(min(n, 32), k, size, size), track_times=False,
                    )  # fmt: skip
                maps = np.moveaxis(np.asarray(pred["masks"], np.float32)[..., :k], -1, 1)
                maps[bad] = np.nan
                datasets["masks"][start:stop] = maps
            start = stop
        out.create_dataset(SKIPPED, data=skipped, track_times=False)
        out.attrs.update(
            {
                "model": model_name,
                **software_version(),  # version and commit
                "width": width,
                "outputs": sorted(datasets),
                "n_skipped": int(skipped.sum()),
            }
        )
    if skipped.any():
        log.warning(
            "%s: %d of %d blends of %s have non-finite pixels: skipped (NaN fluxes, counted "
            "in the metrics)",
            model_name,
            skipped.sum(),
            n,
            blend_path,
        )
    log.info("%s: predicted %s for %d blends", model_name, sorted(datasets), n)
    return n


def read_predictions(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(ids, fluxes (N, K), NaN in absent slots and skipped rows) from a predictions file,
    checked against the layout (:mod:`blendphot.contracts`); fluxes None for a mask-only
    model."""
    pred = read_prediction_file(path)
    return pred["id"], pred["flux"]


def read_prediction_widths(path: Path) -> np.ndarray | None:
    """The 1-sigma widths (N, K) of a predictions file's fluxes (NaN in absent slots and
    skipped rows); None when it has none."""
    return read_prediction_file(path)["flux_err"]
