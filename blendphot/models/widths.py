"""A network's own flux width: an optional ``flux_err`` output trained with a Gaussian
negative log-likelihood beside the flux loss.

An architecture registered with ``targets=("flux", "flux_err")`` returns, after its flux
output, a positive width (N, K) in the same normalised units (a softplus, for instance). The
workflow scales it like the flux and trains it through a training-only output, ``flux_nll``:
the flux (its gradient stopped, so the flux is still trained by its own loss alone) beside
the width, scored by :class:`GaussianFluxNLL` against the true flux.
"""

from __future__ import annotations

import keras

from blendphot.models.losses import masked_mean, present
from blendphot.models.registry import WIDTH_TARGET

NLL_OUTPUT = "flux_nll"


@keras.saving.register_keras_serializable(package="blendphot")
class StopGradient(keras.layers.Layer):
    """The identity, with no gradient flowing back through it."""

    def call(self, inputs):
        return keras.ops.stop_gradient(inputs)


@keras.saving.register_keras_serializable(package="blendphot")
class GaussianFluxNLL(keras.losses.Loss):
    """Gaussian negative log-likelihood of the true fluxes (N, K) given predictions (N, 2K):
    the K fluxes then their K 1-sigma widths (floored at ``floor`` of the flux scale).

    ``masked``: averaged over the present slots only (the true fluxes of absent slots are
    NaN, :mod:`blendphot.models.losses`); off for pair sets, where every slot is present."""

    def __init__(
        self, floor: float = 1e-6, masked: bool = False, name: str = "gaussian_flux_nll", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.floor = floor
        self.masked = masked

    def call(self, y_true, y_pred):
        ops = keras.ops
        k = y_pred.shape[-1] // 2
        mean, sigma = y_pred[:, :k], ops.maximum(y_pred[:, k:], self.floor)
        y_true = ops.cast(y_true, y_pred.dtype)
        if not self.masked:
            z = (y_true - mean) / sigma
            return ops.mean(0.5 * ops.square(z) + ops.log(sigma), axis=-1)
        mask, y = present(y_true)
        z = (y - mean) / sigma
        return masked_mean(0.5 * ops.square(z) + ops.log(sigma), mask)

    def get_config(self) -> dict:
        return {**super().get_config(), "floor": self.floor, "masked": self.masked}


def nll_output(flux, width):
    """The training-only output: the flux (gradient stopped) beside its width, (N, 2K)."""
    return keras.layers.Concatenate(name=NLL_OUTPUT, dtype="float32")(
        [StopGradient(dtype="float32")(flux), width]
    )


def with_nll_target(dataset):
    """A training dataset whose targets also hold the true fluxes for the width's loss (and,
    as Keras wants a target per output, for the width output itself, which has no loss)."""
    return dataset.map(lambda x, y: (x, {**y, NLL_OUTPUT: y["flux"], WIDTH_TARGET: y["flux"]}))


POINT_LOSS = "val_point_loss"
"""The validation loss without the width's: what the learning-rate schedule and early stopping
watch, so that a width does not change how the fluxes are trained."""


class PointLoss(keras.callbacks.Callback):
    """Adds :data:`POINT_LOSS` (val_loss minus the width's NLL) to each epoch's logs; it must
    come before the callbacks that watch it."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and f"val_{NLL_OUTPUT}_loss" in logs:
            logs[POINT_LOSS] = logs["val_loss"] - logs[f"val_{NLL_OUTPUT}_loss"]
