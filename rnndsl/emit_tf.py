"""Checked IR -> keras.Model, built from the unrolled graph in a deterministic topological order.

One Keras layer object per weight-sharing id (a named layer, or an inline layer of one
equation), so weights are shared across steps exactly as the spec says and gradients
flow back through time.  Layers without weights get one object per folded node, reused
at every step.  A final softmax is split off so that training can use the numerically
stable cross-entropy on logits; the saved model still ends with it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

import keras
from keras import layers

from . import tf_layers
from .check import Checked, topological_order
from .ir import INIT, UNode
from .registry import KINDS

__all__ = ["Compiled", "emit_tf"]


@dataclass(frozen=True, eq=False)
class Compiled:
    """The Keras side of a spec: `model` gives the spec's output, `logits` the pre-softmax values."""

    model: keras.Model
    logits: keras.Model
    ends_with_softmax: bool


@dataclass(frozen=True)
class _Const:
    value: float


@dataclass(frozen=True)
class _Zero:
    """A value known to be all zeros (a zero initial state and what follows from it)."""

    shape: tuple[int, ...]


# Kinds that map zeros to zeros.  conv and dense only without a bias (checked below).
_ZERO_KEEPING = {"conv", "dense", "avgpool", "maxpool", "gap", "flatten", "reshape", "row",
                 "elu", "relu", "tanh", "linear", "dropout"}


class _Emitter:
    def __init__(self, checked: Checked):
        self.c = checked
        self.p = checked.program
        self.objects: dict[str, layers.Layer] = {}  # weight id or folded node -> Keras layer
        self.names: set[str] = set()
        self.tensors: dict[UNode, Any] = {}
        self.cell_state: dict[tuple[str, int], Any] = {}  # lstm: (stream, step) -> c

    def keras_name(self, ident: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", ident)
        name, n = base, 1
        while name in self.names:
            n += 1
            name = f"{base}_{n}"
        self.names.add(name)
        return name

    def layer_for(self, node: UNode) -> layers.Layer:
        a = self.p.node(node[0])
        kind = KINDS[a.kind or ""]
        if kind.uses_step:  # row: a different slice at every step
            return tf_layers.Row(int(node[1] or 0), name=self.keras_name(f"{a.name}_{node[1]}"))
        key = a.layer or a.name
        if key not in self.objects:
            self.objects[key] = tf_layers.build(kind.name, a.params, self.keras_name(key), a.mode == "train")
        return self.objects[key]

    def zero_passes(self) -> set[str]:
        """Weight ids applied somewhere to a value that is not known to be zero.

        Only those layers may skip a zero input: every other layer is applied to a real
        zero tensor once, so that its weights exist (and the parameter count stays right).
        """
        zero: dict[UNode, bool] = {}
        real: set[str] = set()
        for node in topological_order(self.p):
            a = self.p.node(node[0])
            srcs = [s for s, _ in self.p.unrolled.in_edges(node)]
            if node[1] == INIT:
                zero[node] = self.p.inits[node[0]] == "zeros"
            elif a.role in ("stream", "value"):
                zero[node] = all(zero[s] for s in srcs) if srcs else False
            elif a.role == "op":
                ins = [zero[s] for s in srcs]
                if a.layer is not None and not all(ins):
                    real.add(a.layer)
                zero[node] = self._keeps_zero(a) and bool(ins) and (
                    any(ins) if a.kind == "mul" else all(ins))
            else:
                zero[node] = False
        return real

    @staticmethod
    def _keeps_zero(a) -> bool:
        if a.kind in ("add", "sub", "mul"):
            return True
        if a.kind not in _ZERO_KEEPING:
            return False
        return "bias" not in a.params or not a.params["bias"]

    def materialize(self, value: Any, image: Any) -> Any:
        if not isinstance(value, _Zero):
            return value
        key = f"zeros{value.shape}"
        if key not in self.objects:
            self.objects[key] = tf_layers.ZeroState(value.shape, name=self.keras_name("zeros"))
        return self.objects[key](image)

    def inputs_of(self, node: UNode) -> list[Any]:
        ins = []
        for src, _, data in self.p.unrolled.in_edges(node, data=True):
            for port in data["ports"]:
                ins.append((port, self.tensors[src]))
        return [t for _, t in sorted(ins, key=lambda x: x[0])]

    def init_state(self, name: str, image: Any) -> Any:
        if self.p.inits[name] == "zeros":
            return _Zero(tuple(self.c.shapes[name]))
        key = f"{name}.init"
        if key not in self.objects:
            shape = self.c.shapes[name]
            cls = tf_layers.LearnedState if self.p.inits[name] == "learned" else tf_layers.ZeroState
            self.objects[key] = cls(shape, name=self.keras_name(f"{name}_init"))
        return self.objects[key](image)

    def op(self, node: UNode, image: Any) -> Any:
        a = self.p.node(node[0])
        kind = KINDS[a.kind or ""]
        xs = self.inputs_of(node)
        out_shape = tuple(self.c.shapes[a.name])
        zeros = [isinstance(x, _Zero) for x in xs]
        if any(zeros):
            if kind.name == "mul":
                return _Zero(out_shape)
            if kind.name == "add" or (kind.name == "sub" and not zeros[0]):
                rest = [x for x in xs if not isinstance(x, _Zero)]
                if len(rest) == 1 and not isinstance(rest[0], _Const):
                    return rest[0]  # x + 0
            elif all(zeros) and self._keeps_zero(a) and (a.layer is None or a.layer in self.real_uses):
                return _Zero(out_shape)
            xs = [self.materialize(x, image) for x in xs]
        if kind.name in ("add", "sub", "mul"):
            return self.elementwise(node, kind.name, xs)
        if any(isinstance(x, _Const) for x in xs):
            raise ValueError(f"{a.name}: a number cannot be the input of {kind.name}")
        layer = self.layer_for(node)
        xs = [self.materialize(x, image) for x in xs]
        if kind.category == "cell":
            return self.cell(node, layer, xs, image)
        return layer(xs if kind.arity is None else xs[0])

    def elementwise(self, node: UNode, op: str, xs: list[Any]) -> Any:
        a = self.p.node(node[0])
        consts = [x for x in xs if isinstance(x, _Const)]
        if len(consts) == 2:
            l, r = consts[0].value, consts[1].value
            return _Const(l + r if op == "add" else l - r if op == "sub" else l * r)
        key = a.name
        if key not in self.objects:
            const = consts[0].value if consts else None
            self.objects[key] = tf_layers.Elementwise(op, const, bool(consts) and isinstance(xs[0], _Const),
                                                      name=self.keras_name(key))
        tensors = [x for x in xs if not isinstance(x, _Const)]
        return self.objects[key](tensors if len(tensors) > 1 else tensors[0])

    def cell(self, node: UNode, layer: layers.Layer, xs: list[Any], image: Any) -> Any:
        a = self.p.node(node[0])
        if a.kind != "lstm":
            return layer(xs)
        stream, t = a.owner, int(node[1] or 0)
        c_prev = self.cell_state.get((stream, t - 1))
        if c_prev is None:
            c_prev = self.zero_like_state(stream, image)
        h, c = layer([xs[0], xs[1], c_prev])
        self.cell_state[(stream, t)] = c
        return h

    def zero_like_state(self, stream: str, image: Any) -> Any:
        key = f"{stream}.cell_init"
        if key not in self.objects:
            self.objects[key] = tf_layers.ZeroState(self.c.shapes[stream], name=self.keras_name(f"{stream}_cell_init"))
        return self.objects[key](image)

    def run(self) -> Compiled:
        ds = self.p.dataset
        assert ds is not None and self.p.output is not None, "check() guarantees a dataset and an output"
        image = keras.Input(shape=ds.shape, name="image")
        self.real_uses = self.zero_passes()
        for node in topological_order(self.p):
            name, t = node
            a = self.p.node(name)
            if a.role == "input":
                self.tensors[node] = image
            elif a.role == "const":
                self.tensors[node] = _Const(float(a.params["value"]))
            elif t == INIT:
                self.tensors[node] = self.init_state(name, image)
            elif a.role in ("stream", "value"):
                (src,) = [s for s, _ in self.p.unrolled.in_edges(node)]
                self.tensors[node] = self.tensors[src]
            else:
                self.tensors[node] = self.op(node, image)
        out = self.tensors[(self.p.output, None)] = self.materialize(self.tensors[(self.p.output, None)], image)
        root = self._root_op(self.p.output)
        ends_with_softmax = root is not None and self.p.node(root).kind == "softmax"
        logits = self.materialize(self.inputs_of((root, None))[0], image) if ends_with_softmax else out
        model = keras.Model(image, out, name=self.keras_name(self.p.name))
        logit_model = keras.Model(image, logits, name=self.keras_name(f"{self.p.name}_logits"))
        return Compiled(model, logit_model, ends_with_softmax)

    def _root_op(self, value: str) -> str | None:
        preds = list(self.p.folded.predecessors(value))
        return preds[0] if len(preds) == 1 and self.p.node(preds[0]).role == "op" else None


def emit_tf(checked: Checked) -> Compiled:
    """Build the Keras models (output and logits, sharing every layer) for a checked spec."""
    # Keras maps a functional graph recursively, a few frames per layer of depth: a long
    # unrolling (T in the hundreds) needs more than Python's default 1,000 frames.
    needed = 20 * checked.program.unrolled.number_of_nodes() + 1000
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, needed))
    try:
        return _Emitter(checked).run()
    finally:
        sys.setrecursionlimit(old)
