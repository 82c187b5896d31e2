"""The catalogue: layer kinds (one row each), their parameter types, datasets and optimizers.

Everything the front end and the backends know about a kind comes from here.
"""

from .datasets import DATASETS, Dataset
from .kinds import (ACTIVATIONS, BY_OPERATOR, KINDS, REDUCTIONS, UNARY_FUNCTIONS, Category, LayerKind, StepRule,
                    ZeroRule, broadcast_shapes, kind)
from .optimizers import OPTIMIZERS, TRAIN_KEYS
from .params import (INIT_KINDS, REQUIRED, Init, Param, Params, ParamType, Shape, ShapeError, fmt_shape,
                     fmt_value, size)

__all__ = [
    "DATASETS", "Dataset", "ACTIVATIONS", "BY_OPERATOR", "KINDS", "Category", "LayerKind", "ZeroRule", "StepRule", "REDUCTIONS", "UNARY_FUNCTIONS",
    "broadcast_shapes", "kind", "OPTIMIZERS", "TRAIN_KEYS", "INIT_KINDS", "REQUIRED", "Init", "Param",
    "Params", "ParamType", "Shape", "ShapeError", "fmt_shape", "fmt_value", "size",
]
