"""blend2flux (paper section 3.1, Fig. 3): a CNN from the blend image to the fluxes of its
galaxies (two for the paper's pairs, one per slot for blends of up to K)."""

from __future__ import annotations

from blendphot.models.registry import register


@register("blend2flux", width_param="width")
def build_blend2flux(
    input_shape: tuple[int, int, int] = (128, 128, 1),
    filters: int = 256,
    dense_units: int | None = None,
    dense_activation: str = "selu",
    width: bool = False,
    slots: int = 2,
):
    """Five 3x3 ReLU convolutions (f, f, 2f, 2f, 4f filters), max-pooling after the first four,
    then Dense(d), Dense(d), Dense(K) with d = ``dense_units`` (default f) and K = ``slots``,
    the blend set's number of galaxy slots (2: the paper's pairs).

    Parameters: f=64 -> 1.6M, f=256 -> 25.7M (fiducial), f=512 -> 102.7M (paper Table 2).
    ``width``: a second output, the 1-sigma width of each flux, Dense(d) then Dense(K,
    softplus) on the last hidden layer with its gradient stopped (the width learns from the
    flux's features without changing them).
    """
    import keras
    from keras import layers

    dense_units = filters if dense_units is None else dense_units
    inputs = keras.Input(shape=input_shape, name="blend")
    x = inputs
    for i, mult in enumerate((1, 1, 2, 2, 4)):
        x = layers.Conv2D(filters * mult, 3, padding="same", activation="relu")(x)
        if i < 4:
            x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense_units, activation=dense_activation)(x)
    x = layers.Dense(dense_units, activation=dense_activation)(x)
    outputs = layers.Dense(slots, name="flux", dtype="float32")(x)
    if width:
        from blendphot.models.widths import StopGradient

        w = layers.Dense(dense_units, activation=dense_activation)(StopGradient()(x))
        w = layers.Dense(slots, activation="softplus", name="flux_width", dtype="float32")(w)
        outputs = [outputs, w]
    return keras.Model(inputs, outputs, name=f"blend2flux_f{filters}")
