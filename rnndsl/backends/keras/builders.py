"""One Keras builder per catalogue kind: adding a kind is its catalogue row plus a builder here.

`build(kind, params, name, train_only)` returns a Keras layer.  A test checks that every
kind in the catalogue has a builder.
"""

from __future__ import annotations

from typing import Callable

from keras import layers

from ...catalogue import ACTIVATIONS, REDUCTIONS, UNARY_FUNCTIONS, LayerKind, Params
from .layers import (Blur, Cell, Elementwise, FlipLR, Function, GaussianNoise, PoissonNoise, Row, Standardize,
                     StepReduce, StepSoftmax, UniformNoise, initializer)

__all__ = ["BUILDERS", "build"]

Builder = Callable[[str, Params, str, bool], layers.Layer]


def _conv(kind: str, p: Params, name: str, train_only: bool) -> layers.Layer:
    return layers.Conv2D(p["filters"], p["kernel"], strides=p["stride"], padding=p["padding"],
                         dilation_rate=p["dilation"], use_bias=p["bias"],
                         kernel_initializer=initializer(p["init"]), name=name)


def _dense(kind: str, p: Params, name: str, train_only: bool) -> layers.Layer:
    return layers.Dense(p["units"], use_bias=p["bias"], kernel_initializer=initializer(p["init"]), name=name)


def _pool(cls: type) -> Builder:
    def build_pool(kind: str, p: Params, name: str, train_only: bool) -> layers.Layer:
        return cls(pool_size=p["size"], strides=p["stride"] or p["size"], padding=p["padding"], name=name)
    return build_pool


def _cell(kind: str, p: Params, name: str, train_only: bool) -> layers.Layer:
    return Cell(kind, p["units"], p["kernel"], name=name)


BUILDERS: dict[str, Builder] = {
    "conv": _conv,
    "dense": _dense,
    "avgpool": _pool(layers.AveragePooling2D),
    "maxpool": _pool(layers.MaxPooling2D),
    "gap": lambda k, p, n, tr: layers.GlobalAveragePooling2D(name=n),
    "flatten": lambda k, p, n, tr: layers.Flatten(name=n),
    "reshape": lambda k, p, n, tr: layers.Reshape(tuple(p["dims"]), name=n),
    "row": lambda k, p, n, tr: Row(0, name=n),  # the emitter sets the step's index
    "concat": lambda k, p, n, tr: layers.Concatenate(axis=p["axis"], name=n),
    "add": lambda k, p, n, tr: Elementwise("add", name=n),
    "sub": lambda k, p, n, tr: Elementwise("sub", name=n),
    "mul": lambda k, p, n, tr: Elementwise("mul", name=n),
    "div": lambda k, p, n, tr: Elementwise("div", name=n),
    # over a range of steps; with masking the emitter gives each step its own range of steps
    "softmax_steps": lambda k, p, n, tr: StepSoftmax([], name=n),
    **{name: (lambda k, p, n, tr: StepReduce(k, [], name=n)) for name in REDUCTIONS},
    **{name: (lambda k, p, n, tr: Function(k, p.get("lo"), p.get("hi"), name=n)) for name in UNARY_FUNCTIONS},
    "dropout": lambda k, p, n, tr: layers.Dropout(p["rate"], name=n),
    "batchnorm": lambda k, p, n, tr: layers.BatchNormalization(momentum=p["momentum"], epsilon=p["eps"], name=n),
    "standardize": lambda k, p, n, tr: Standardize(p["eps"], name=n),
    "gaussian_noise": lambda k, p, n, tr: GaussianNoise(p["std"], train_only=tr, name=n),
    "poisson_noise": lambda k, p, n, tr: PoissonNoise(p["scale"], p["lam"], train_only=tr, name=n),
    "uniform_noise": lambda k, p, n, tr: UniformNoise(p["scale"], p["low"], p["high"], train_only=tr, name=n),
    "flip_lr": lambda k, p, n, tr: FlipLR(p["p"], train_only=tr, name=n),
    "blur": lambda k, p, n, tr: Blur(p["sigma"], p["p"], train_only=tr, name=n),
    "rnn": _cell,
    "gru": _cell,
    "lstm": _cell,
    **{name: (lambda k, p, n, tr: layers.Activation(k, name=n)) for name in ACTIVATIONS},
}



def build(kind: LayerKind, params: Params, name: str, train_only: bool = False) -> layers.Layer:
    """A Keras layer for one application of a catalogue kind."""
    return BUILDERS[kind.name](kind.name, params, name, train_only)
