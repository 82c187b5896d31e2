"""The Keras backend: the prepared IR as a functional keras.Model (imports TensorFlow)."""

from .build import build_models
from .models import LENGTHS, Head, KerasModels
from .unrolled import emit_keras

__all__ = ["LENGTHS", "Head", "KerasModels", "emit_keras", "build_models"]
