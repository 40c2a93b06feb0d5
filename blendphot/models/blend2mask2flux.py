"""blend2mask2flux (paper section 3.2): a U-Net whose masks (one per galaxy slot, two for
pairs), concatenated with the blend, feed a reduced blend2flux. Trained on flux (MAPE) and
masks (binary cross-entropy, weight 0.1), starting from a trained U-Net's weights (config:
``init_from``)."""

from __future__ import annotations

from blendphot.models.blend2flux import build_blend2flux
from blendphot.models.registry import register
from blendphot.models.unet import unet_core


@register("blend2mask2flux", targets=("flux", "masks"), width_param="width")
def build_blend2mask2flux(
    input_shape: tuple[int, int, int] = (128, 128, 1),
    unet_depth: int = 5,
    unet_filters: int = 32,
    filters: int = 128,
    dense_units: int = 256,
    width: bool = False,
    slots: int = 2,
):
    """U-Net(depth, filters) -> concat(blend, masks) -> blend2flux(filters, dense_units), with
    ``slots`` masks and fluxes (the blend set's galaxy slots).

    The defaults give about 18.5M parameters, as in the paper. ``width``: the blend2flux head
    also gives a width of each flux (outputs flux, width, masks).
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="blend")
    unet = unet_core(input_shape, unet_depth, unet_filters, name="unet", slots=slots)
    masks = unet(inputs)
    stacked = layers.Concatenate(name="blend_and_masks")([inputs, masks])
    head = build_blend2flux(
        (*input_shape[:2], input_shape[2] + slots), filters, dense_units, width=width, slots=slots
    )
    flux = head(stacked)
    outputs = [*flux, masks] if width else [flux, masks]
    return keras.Model(inputs, outputs, name="blend2mask2flux")
