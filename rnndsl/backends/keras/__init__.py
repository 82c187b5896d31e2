"""The Keras backend: the prepared IR as a functional keras.Model (imports TensorFlow)."""

from .models import LENGTHS, Head, KerasModels, build_models
from .unrolled import emit_keras

__all__ = ["LENGTHS", "Head", "KerasModels", "emit_keras", "build_models"]
