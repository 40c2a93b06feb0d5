"""Networks (paper section 3): a registry of architectures, training and prediction.

TensorFlow is imported lazily, inside the functions that need it, so that the data stages
never pay for it.
"""

from blendphot.models.registry import Architecture, get_architecture, load_model_modules, register

__all__ = ["Architecture", "get_architecture", "load_model_modules", "register"]
