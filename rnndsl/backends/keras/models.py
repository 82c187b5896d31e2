"""What the Keras backend gives: the models of a spec, their inputs, heads and names.

Every lowering (a driver over the rules of ops.py) builds its outputs and hands them to
`assemble`, so the models, their names, inputs and heads are made in one place.  The drivers
import this module; `build_models` (build.py), which picks a driver, imports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import keras

from ...ir import OutputDecl, Program, TargetKind

__all__ = ["KerasModels", "Head", "LENGTHS", "keras_name", "model_inputs", "assemble"]

LENGTHS = "lengths"  # the model input that holds each sequence's length when the data is masked


@dataclass(frozen=True)
class Head:
    """One output as training sees it: its target, and whether the training model gives logits."""

    output: OutputDecl
    from_logits: bool  # the model's output is a score before softmax / sigmoid


@dataclass(frozen=True, eq=False)
class KerasModels:
    """The Keras side of a spec.

    `model` gives the spec's outputs as written; `logits` shares every layer and gives what
    the losses read (a final softmax or sigmoid split off).  Inputs are a single tensor when
    the spec has one input and no masking, else a dict by name (with `lengths` when masked);
    outputs a single tensor for one target, else a dict by target name.
    """

    model: keras.Model
    logits: keras.Model
    heads: tuple[Head, ...]
    input_names: tuple[str, ...]
    lowering: str = "unrolled"
    layers: Mapping[str, Any] = field(default_factory=dict)  # weight id -> the Keras layer holding its weights

    def copy_weights_from(self, other: "KerasModels") -> None:
        """Give these models the weights of `other`, built from the same spec (maybe by the other lowering)."""
        for key, layer in other.layers.items():
            if layer.weights:
                self.layers[key].set_weights(layer.get_weights())


def keras_name(ident: str, names: set[str]) -> str:
    """A Keras layer name for an rnndsl id, unique among `names` (which it joins)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", ident)
    name, n = base, 1
    while name in names:
        n += 1
        name = f"{base}_{n}"
    names.add(name)
    return name


def model_inputs(p: Program) -> dict[str, Any]:
    """The Keras inputs of a program: each declared input (a sequence with its steps), and `lengths` when masked."""
    inputs = {}
    for decl in p.inputs:
        shape = (p.steps, *decl.shape) if decl.sequence else decl.shape
        inputs[decl.name] = keras.Input(shape=shape, name=decl.name)
    if p.masked:
        inputs[LENGTHS] = keras.Input(shape=(), dtype="int32", name=LENGTHS)
    return inputs


def assemble(p: Program, inputs: dict[str, Any], outs: dict[str, Any], logits: dict[str, Any], lowering: str,
             layers: Mapping[str, Any], names: set[str]) -> KerasModels:
    """The output and logits models over `inputs` (by output name), sharing every layer; `names` are the
    layer names taken so far (the models' names join them)."""
    # A class or labels target's loss reads scores: the input of a final softmax (sigmoid) the lowering split off.
    heads = tuple(Head(d, d.target is not TargetKind.REAL) for d in p.outputs)
    model_in = next(iter(inputs.values())) if len(inputs) == 1 else inputs

    def one_or_all(values: dict[str, Any]) -> Any:
        return next(iter(values.values())) if len(values) == 1 else values

    model = keras.Model(model_in, one_or_all(outs), name=keras_name(p.name, names))
    logit_model = keras.Model(model_in, one_or_all(logits), name=keras_name(f"{p.name}_logits", names))
    return KerasModels(model, logit_model, heads, tuple(inputs), lowering, dict(layers))
