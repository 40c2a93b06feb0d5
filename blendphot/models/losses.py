"""Flux losses for blends of 2 to K galaxies: absent slots (NaN true flux) are left out.

A blend set of K > 2 slots holds blends of n <= K galaxies; the fluxes of its K - n absent
slots are NaN (:mod:`blendphot.blends.layout`). The network still outputs K fluxes, but
there is nothing to compare those slots with: :class:`MaskedMAPE` averages over the present
slots only. On a row whose slots are all present it is Keras's MAPE; pair sets (K = 2) keep
``keras.losses.MeanAbsolutePercentageError`` itself (the training is then exactly the
paper's). The masks of absent slots are not masked out: their targets are empty masks (no
galaxy there), a truth the mask loss keeps.
"""

from __future__ import annotations

import keras


def present(y_true):
    """Where a true flux is given (finite): the present slots, and the targets with the absent
    slots' NaN replaced by 1 (so that nothing non-finite reaches a gradient)."""
    ops = keras.ops
    mask = ops.isfinite(y_true)
    return mask, ops.where(mask, y_true, ops.ones_like(y_true))


def masked_mean(values, mask):
    """The mean of ``values`` over the last axis where ``mask`` is true (0 for a row with
    none)."""
    ops = keras.ops
    mask = ops.cast(mask, values.dtype)
    total = ops.sum(ops.where(mask > 0, values, ops.zeros_like(values)), axis=-1)
    return total / ops.maximum(ops.sum(mask, axis=-1), 1.0)


@keras.saving.register_keras_serializable(package="blendphot")
class MaskedMAPE(keras.losses.Loss):
    """Mean absolute percentage error over the present slots of each blend:
    mean_k 100 |y_k - p_k| / |y_k|, the slots with a NaN true flux left out."""

    def __init__(self, name: str = "masked_mape", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        ops = keras.ops
        y_true = ops.cast(y_true, y_pred.dtype)
        mask, y = present(y_true)
        epsilon = ops.convert_to_tensor(keras.backend.epsilon(), dtype=y_pred.dtype)
        diff = ops.abs((y - y_pred) / ops.maximum(ops.abs(y), epsilon))
        return 100.0 * masked_mean(diff, mask)
