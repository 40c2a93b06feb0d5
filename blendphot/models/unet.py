"""U-Net (paper section 3.2, Fig. 4): the blend image -> one fractional segmentation map per
galaxy slot (two for the paper's pairs)."""

from __future__ import annotations

from blendphot.models.registry import register


def unet_core(
    input_shape: tuple[int, int, int], depth: int, filters: int, name: str = "unet", slots: int = 2
):
    """A U-Net with ``depth`` levels: two 3x3 ReLU convolutions per level, max-pooling down,
    transposed convolutions up, skip concatenations, and a sigmoid 1x1 output of ``slots``
    masks (central, then the companions brightest first). Filters double at each level, from
    ``filters``.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name=f"{name}_input")
    x = inputs
    skips = []
    for level in range(depth):
        n = filters * 2**level
        x = layers.Conv2D(n, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(n, 3, padding="same", activation="relu")(x)
        if level < depth - 1:
            skips.append(x)
            x = layers.MaxPooling2D(2)(x)
    for level in reversed(range(depth - 1)):
        n = filters * 2**level
        x = layers.Conv2DTranspose(n, 2, strides=2, padding="same")(x)
        x = layers.Concatenate()([x, skips[level]])
        x = layers.Conv2D(n, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(n, 3, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(slots, 1, activation="sigmoid", dtype="float32", name="masks")(x)
    return keras.Model(inputs, outputs, name=name)


@register("unet", targets=("masks",))
def build_unet(input_shape: tuple[int, int, int] = (128, 128, 1), depth: int = 5,
               filters: int = 32, slots: int = 2):  # fmt: skip
    """The fiducial U-Net: depth 5, 32 initial filters (about 7.8M parameters for 2 slots)."""
    return unet_core(input_shape, depth, filters, slots=slots)
