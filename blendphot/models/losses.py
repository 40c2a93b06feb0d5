"""Flux losses for blends of 2 to K galaxies, whose absent slots have a NaN true flux.

A blend set of K > 2 slots holds blends of n <= K galaxies; the fluxes of its K - n absent
slots are NaN (:mod:`blendphot.blends.layout`). The network still outputs K fluxes. There is
no flux to compare an absent slot with, but there is a truth: no galaxy, so no flux.
:class:`MaskedMAPE` scores the present slots by their absolute percentage error and, with
``absent_weight`` w > 0, an absent slot by the flux the network puts there, as a percentage
of the central's true flux; the blend's loss is the weighted mean (each present slot weighs
1, each absent one w). With w = 0 the absent slots are left out (the mean over the present
slots alone). A network that must say "nothing here" has to tell how many galaxies a blend
holds (``training.absent_weight``; docs/studies/multi-galaxy.md measures
w = 1 and w = 0 side by side).

On a row whose slots are all present it is Keras's MAPE; pair sets (K = 2) keep
``keras.losses.MeanAbsolutePercentageError`` itself (the training is then exactly the
paper's). The masks of absent slots are not masked out: their targets are empty masks (no
galaxy there), a truth the mask loss keeps.

``training.flux_loss: log_mse`` trains the flux in magnitudes instead: the network's flux
output is ``scale * exp(z)`` (:class:`LogFlux`, always positive) and :class:`LogFluxMSE` is
the mean squared error of ln(flux). The MAPE's minimum lies below the true flux where the
network is unsure of it (a positive magnitude bias of about the squared relative scatter);
the squared log error's minimum is the mean of ln(flux), so the mean magnitude error, the
bias the paper reports, is zero there (docs/studies/flux-bias.md).
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


class AbsentSlotLoss(keras.losses.Loss):
    """A flux loss over each blend's K slots: the present slots scored by
    :meth:`present_score`, an absent slot (NaN true flux) by the flux predicted there as a
    fraction of the central's (always present) true flux; the blend's loss is ``factor``
    times the weighted mean, each present slot weighing 1 and each absent one
    ``absent_weight`` (0: the absent slots left out)."""

    factor = 1.0

    def __init__(self, absent_weight: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if not absent_weight >= 0:
            raise ValueError(f"absent_weight must be >= 0, not {absent_weight}")
        self.absent_weight = float(absent_weight)

    def present_score(self, y, y_pred, epsilon):
        """The score of every slot as if present (``y``: the true fluxes, 1 where absent)."""
        raise NotImplementedError

    def call(self, y_true, y_pred):
        ops = keras.ops
        y_true = ops.cast(y_true, y_pred.dtype)
        mask, y = present(y_true)
        epsilon = ops.convert_to_tensor(keras.backend.epsilon(), dtype=y_pred.dtype)
        central = ops.maximum(ops.abs(y[:, :1]), epsilon)
        score = ops.where(mask, self.present_score(y, y_pred, epsilon), ops.abs(y_pred) / central)
        weight = ops.where(mask, ops.ones_like(score), self.absent_weight * ops.ones_like(score))
        return self.factor * ops.sum(weight * score, axis=-1) / ops.sum(weight, axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "absent_weight": self.absent_weight}


@keras.saving.register_keras_serializable(package="blendphot")
class MaskedMAPE(AbsentSlotLoss):
    """Mean absolute percentage error of each blend's K fluxes, absent slots (NaN true flux)
    scored by the flux predicted there: 100 (sum_present |y_k - p_k| / |y_k| + w
    sum_absent |p_k| / |y_1|) / (n_present + w n_absent), y_1 the central's (always present)
    true flux and w = ``absent_weight`` (0: the absent slots left out)."""

    factor = 100.0

    def __init__(self, absent_weight: float = 0.0, name: str = "masked_mape", **kwargs):
        super().__init__(absent_weight, name=name, **kwargs)

    def present_score(self, y, y_pred, epsilon):
        ops = keras.ops
        return ops.abs((y - y_pred) / ops.maximum(ops.abs(y), epsilon))


LOG_CLIP = 20.0
"""|z| of :class:`LogFlux` is clipped here (e^20: far beyond any flux ratio) so that an early
step cannot overflow."""


@keras.saving.register_keras_serializable(package="blendphot")
class LogFlux(keras.layers.Layer):
    """The flux head of ``flux_loss: log_mse``: ``scale * exp(z)``, z the network's output
    (ln of the flux in units of ``scale``, the training set's median flux)."""

    def __init__(self, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, z):
        ops = keras.ops
        return self.scale * ops.exp(ops.clip(ops.cast(z, "float32"), -LOG_CLIP, LOG_CLIP))

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="blendphot")
class LogFluxMSE(AbsentSlotLoss):
    """Mean squared error of ln(flux) over each blend's present slots; an absent slot (NaN
    true flux, blends of fewer galaxies than K) scores its (positive) predicted flux as a
    fraction of the central's true flux, weighted by ``absent_weight`` as in
    :class:`MaskedMAPE` (0: left out)."""

    def __init__(self, absent_weight: float = 0.0, name: str = "log_flux_mse", **kwargs):
        super().__init__(absent_weight, name=name, **kwargs)

    def present_score(self, y, y_pred, epsilon):
        ops = keras.ops
        return ops.square(ops.log(ops.maximum(y, epsilon)) - ops.log(ops.maximum(y_pred, epsilon)))
