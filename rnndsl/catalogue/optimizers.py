"""Optimizers and train settings a spec's `train { }` block may name, with their parameters."""

from __future__ import annotations

from typing import Mapping

from .params import Param, ParamType

__all__ = ["OPTIMIZERS", "TRAIN_KEYS"]

_F = ParamType.FLOAT
_I = ParamType.INT

OPTIMIZERS: Mapping[str, tuple[Param, ...]] = {
    "adam": (Param("lr", _F, 1e-3, minimum=0.0), Param("beta1", _F, 0.9, minimum=0.0, maximum=1.0),
             Param("beta2", _F, 0.999, minimum=0.0, maximum=1.0), Param("eps", _F, 1e-8, minimum=0.0)),
    "sgd": (Param("lr", _F, 1e-2, minimum=0.0), Param("momentum", _F, 0.0, minimum=0.0, maximum=1.0)),
    "rmsprop": (Param("lr", _F, 1e-3, minimum=0.0), Param("rho", _F, 0.9, minimum=0.0, maximum=1.0)),
}

TRAIN_KEYS: Mapping[str, Param] = {
    "batch": Param("batch", _I, 32, minimum=1, maximum=1_000_000, doc="mini-batch size"),
    "epochs": Param("epochs", _I, 1, minimum=1, maximum=1_000_000, doc="passes over the training set"),
    "seed": Param("seed", _I, 0, minimum=0, maximum=2**31 - 1, doc="random seed"),
    "tbptt": Param("tbptt", _I, 0, minimum=0, maximum=10_000,
                   doc="truncated backpropagation through time: chunks of this many steps (0: off)"),
}
