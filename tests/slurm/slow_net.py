"""A network whose speed the SLURM time-limit test controls (a model plugin module).

Each batch of its forward pass sleeps the number of seconds written in ``delay_file`` (none
when the file is missing or empty). The test makes the first training attempt slow, so that it
surely outlives its 1-minute SLURM limit whatever the machine, then, once Slurm has timed the
job out, clears the file so the retry finishes in seconds. The rest is an ordinary small CNN.
"""

from __future__ import annotations

import time
from pathlib import Path

from blendphot.models import register


def delay_seconds(delay_file: str) -> float:
    """The delay written in ``delay_file``: 0 when it is missing or empty."""
    try:
        text = Path(delay_file).read_text().strip()
    except FileNotFoundError:
        return 0.0
    return float(text) if text else 0.0


def pause(delay_file: str):
    """A function for tf.py_function: sleep the current delay, return the tensor unchanged."""

    def wait(tensor):
        time.sleep(delay_seconds(delay_file))
        return tensor

    return wait


@register("slow_net")
def build_slow_net(input_shape=(128, 128, 1), delay_file: str = "", filters: int = 4):
    """Delay, Conv(filters, 3x3, stride 4) ReLU, global average pooling, Dense(8), Dense(2)."""
    import keras
    import tensorflow as tf
    from keras import layers

    class Delay(layers.Layer):
        """Identity that sleeps, once per batch, the seconds written in ``delay_file``."""

        def __init__(self, delay_file: str, **kwargs):
            super().__init__(**kwargs)
            self.delay_file = delay_file

        def call(self, x):
            y = tf.py_function(pause(self.delay_file), [x], x.dtype)
            y.set_shape(x.shape)
            return y

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "delay_file": self.delay_file}

    inputs = keras.Input(shape=input_shape)
    x = Delay(delay_file, name="delay")(inputs)
    x = layers.Conv2D(filters, 3, strides=4, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(8, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(2)(x), name="slow_net")
