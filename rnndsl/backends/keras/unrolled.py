"""Prepared IR -> keras.Model, built from the unrolled graph in a deterministic topological order.

One Keras layer object per weight-sharing id (a named layer, or an inline layer of one
equation), so weights are shared across steps exactly as the spec says and gradients
flow back through time.  Layers without weights get one object per folded node, reused
at every step.  A final softmax is split off so that training can use the numerically
stable cross-entropy on logits; the saved model still ends with it.  Nodes the passes
found to be all zeros are never computed (see passes/zero_state.py).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping

import keras
from keras import layers

from ...catalogue import KINDS, StepRule
from ...ir import INIT, Loss, OutputDecl, Role, TargetKind, UNode, Window, inputs_of, port_sources, topological_order
from ...passes import Prepared
from . import layers as custom
from .builders import build

__all__ = ["KerasModels", "Head", "emit_keras", "build_models", "LENGTHS"]

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


@dataclass(frozen=True)
class _Const:
    value: float


@dataclass(frozen=True)
class _Zero:
    """A value known to be all zeros (never computed unless something needs the tensor)."""

    shape: tuple[int, ...]


def keras_name(ident: str, names: set[str]) -> str:
    """A Keras layer name for an rnndsl id, unique among `names` (which it joins)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", ident)
    name, n = base, 1
    while name in names:
        n += 1
        name = f"{base}_{n}"
    names.add(name)
    return name


def model_inputs(p) -> dict[str, Any]:
    """The Keras inputs of a program: each declared input (a sequence with its steps), and `lengths` when masked."""
    inputs = {}
    for decl in p.inputs:
        shape = (p.steps, *decl.shape) if decl.sequence else decl.shape
        inputs[decl.name] = keras.Input(shape=shape, name=decl.name)
    if p.masked:
        inputs[LENGTHS] = keras.Input(shape=(), dtype="int32", name=LENGTHS)
    return inputs


class _Empty:
    """A range of steps that holds no step at this step (`h[0..t-1]` at t = 0): reduced, it gives zeros."""


_EMPTY = _Empty()


class _Emitter:
    def __init__(self, prep: Prepared):
        self.prep = prep
        self.c = prep.checked
        self.p = prep.checked.program
        self.objects: dict[str, layers.Layer] = {}  # weight id or folded node -> Keras layer
        self.names: set[str] = set()
        self.tensors: dict[UNode, Any] = {}
        self.cell_state: dict[tuple[str, int], Any] = {}  # lstm: (stream, step) -> c

    def keras_name(self, ident: str) -> str:
        return keras_name(ident, self.names)

    def layer_for(self, node: UNode) -> layers.Layer:
        a = self.p.node(node[0])
        kind = KINDS[a.kind or ""]
        if kind.uses_step:  # row: a different slice at every step
            return custom.Row(int(node[1] or 0), name=self.keras_name(f"{a.name}_{node[1]}"))
        key = a.layer or a.name
        if key not in self.objects:
            self.objects[key] = build(kind, a.params, self.keras_name(key), a.mode == "train")
        return self.objects[key]

    def materialize(self, value: Any) -> Any:
        """A real tensor for a symbolic zero or a number (sized to the batch of the first input)."""
        if isinstance(value, _Zero):
            key = f"zeros{value.shape}"
            if key not in self.objects:
                self.objects[key] = custom.ZeroState(value.shape, name=self.keras_name("zeros"))
            return self.objects[key](self.reference)
        if isinstance(value, _Const):
            key = f"const{value.value!r}"
            if key not in self.objects:
                self.objects[key] = custom.Constant(value.value, name=self.keras_name("const"))
            return self.objects[key](self.reference)
        return value

    def inputs(self, node: UNode) -> list[tuple[Any, str, Window | None]]:
        """(value, source folded node, range of steps or None) per input port; a range read is stacked
        on a steps axis (batch, steps, ...); a range with no step here is _EMPTY."""
        groups = {port: (group, e) for port, group, e in port_sources(self.p, node)}
        out = []
        for src, _, port, data in sorted(self.p.folded.in_edges(node[0], keys=True, data=True), key=lambda x: x[2]):
            e = data["attr"]
            window = e.window or self.p.node(src).window
            if port not in groups:
                if e.window is not None:
                    out.append((_EMPTY, src, window))
                continue  # a read the unrolling left out (a guard's step): not an input at this step
            group, _ = groups[port]
            if e.window is None:
                out.append((self.tensors[group[0]], src, window))
                continue
            key = f"{node[0]}:{port}.stack"
            if key not in self.objects:
                self.objects[key] = custom.StackSteps(name=self.keras_name(f"{node[0]}_{port}_steps"))
            out.append((self.objects[key]([self.materialize(self.tensors[g]) for g in group]), src, window))
        return out

    def learned(self, key: str, shape: tuple[int, ...], init) -> Any:
        """A learned tensor broadcast over the batch (a param, or a learned initial state)."""
        if key not in self.objects:
            fill = [init.name, *init.args] if init is not None else None
            self.objects[key] = custom.LearnedState(shape, fill, name=self.keras_name(key.replace(".", "_")))
        return self.objects[key](self.reference)

    def init_state(self, name: str) -> Any:
        if self.p.inits.get(name) == "learned":
            return self.learned(f"{name}.init", tuple(self.c.shapes[name]), self.p.init_fills.get(name))
        key = f"{name}.init"
        if key not in self.objects:
            self.objects[key] = custom.ZeroState(self.c.shapes[name], name=self.keras_name(f"{name}_init"))
        return self.objects[key](self.reference)

    def op(self, node: UNode) -> Any:
        a = self.p.node(node[0])
        kind = KINDS[a.kind or ""]
        ins = self.inputs(node)
        if any(x is _EMPTY for x, _, _ in ins):
            return _Zero(tuple(self.c.shapes[a.name])) if kind.over_steps is StepRule.REDUCE else _EMPTY
        if kind.operator:
            return self.elementwise(node, kind.name, ins)
        xs = [self.materialize(x) for x, _, _ in ins]
        if kind.over_steps in (StepRule.REDUCE, StepRule.NORMALISE):
            return self.over_steps(node, kind.name, xs[0], ins[0][2])
        layer = self.layer_for(node)
        if kind.is_cell:
            return self.cell(node, layer, xs)
        return layer(xs if kind.arity is None else xs[0])

    def over_steps(self, node: UNode, kind_name: str, x: Any, window: Window | None) -> Any:
        """A reduction or a softmax over a range's steps; with masking, over the steps each sequence has."""
        if not self.p.masked:
            return self.layer_for(node)(x)
        assert window is not None, "the front end gives these kinds a range"
        steps = list(window.steps(node[1], self.p.steps))
        name = self.keras_name(f"{node[0]}_{node[1]}")
        layer = (custom.StepSoftmax(steps, name=name) if kind_name == "softmax_steps"
                 else custom.StepReduce(kind_name, steps, name=name))
        return layer([x, self.lengths])

    def elementwise(self, node: UNode, op: str, ins: list[tuple[Any, str, Window | None]]) -> Any:
        a = self.p.node(node[0])
        xs = [x if not isinstance(x, _Zero) else self.materialize(x) for x, _, _ in ins]
        if all(isinstance(x, _Const) for x in xs):  # the folding pass leaves only what it could not fold safely
            xs = [self.materialize(xs[0]), xs[1]]
        consts = [x for x in xs if isinstance(x, _Const)]
        key = a.name
        if key not in self.objects:
            const = consts[0].value if consts else None
            self.objects[key] = custom.Elementwise(op, const, bool(consts) and isinstance(xs[0], _Const),
                                                   self._expand(a, [(x, src, w) for x, (_, src, w) in zip(xs, ins)
                                                                    if not isinstance(x, _Const)]),
                                                   name=self.keras_name(key))
        tensors = [x for x in xs if not isinstance(x, _Const)]
        return self.objects[key](tensors if len(tensors) > 1 else tensors[0])

    def _expand(self, a, operands: list[tuple[Any, str, Window | None]]) -> list[list[int]] | None:
        """Axes to insert in each tensor operand so that it broadcasts as its per-example shape does:
        batch first, then the steps axis of a range, then the example's axes aligned on the right."""
        rank = len(self.c.shapes[a.name])
        lead = 2 if a.window is not None else 1
        expand = []
        for x, src, window in operands:
            own = 0 if isinstance(x, _Const) or self.p.node(src).role is Role.CONST else len(self.c.shapes[src])
            axes = [1] if a.window is not None and window is None else []
            axes += [lead] * (rank - own)
            expand.append(axes)
        return expand if any(expand) else None

    def cell(self, node: UNode, layer: layers.Layer, xs: list[Any]) -> Any:
        a = self.p.node(node[0])
        kind = KINDS[a.kind or ""]
        if kind.states == 1:
            return layer(xs)
        stream, t = a.owner, int(node[1] or 0)
        c_prev = self.cell_state.get((stream, t - 1))
        if c_prev is None:
            c_prev = self.materialize(_Zero(tuple(self.c.shapes[stream])))
        h, c = layer([xs[0], xs[1], c_prev])
        self.cell_state[(stream, t)] = c
        return h

    def run(self) -> KerasModels:
        p = self.p
        assert p.inputs and p.outputs, "check() guarantees an input and an output"
        inputs = model_inputs(p)
        if p.masked:
            self.lengths = inputs[LENGTHS]
        self.reference = next(iter(inputs.values()))
        backward = self._backward_streams()
        for node in topological_order(p):
            name, t = node
            a = p.node(name)
            if node in self.prep.zero and a.window is None:  # (an op over a range is computed: it has a steps axis)
                self.tensors[node] = _Zero(tuple(self.c.shapes[name]))
            elif node in self.prep.forward:
                self.tensors[node] = self.tensors[self.prep.forward[node]]
            elif a.role is Role.INPUT:
                self.tensors[node] = self.input_step(inputs[name], name, t)
            elif a.role is Role.CONST:
                self.tensors[node] = _Const(float(a.params["value"]))
            elif a.role is Role.PARAM:
                self.tensors[node] = self.learned(name, tuple(a.params["shape"]), a.params["init"])
            elif t == INIT:
                self.tensors[node] = self.init_state(name)
            elif a.role in (Role.STREAM, Role.VALUE):
                (src,) = [s for s, _ in p.unrolled.in_edges(node)]
                self.tensors[node] = self.tensors[src]
            else:
                self.tensors[node] = self.op(node)
            if p.masked and a.role is Role.STREAM and t not in (None, INIT) and node not in self.prep.zero:
                self.tensors[node] = self.freeze(name, t, name in backward, inputs[LENGTHS])
        outs, logits, heads = {}, {}, []
        for decl in p.outputs:
            out, pre = self.output(decl)
            outs[decl.name], logits[decl.name] = out, pre
            heads.append(Head(decl, pre is not out or decl.target is not TargetKind.REAL))
        model_in = next(iter(inputs.values())) if len(inputs) == 1 else inputs
        single = len(outs) == 1
        model = keras.Model(model_in, next(iter(outs.values())) if single else outs, name=self.keras_name(p.name))
        logit_model = keras.Model(model_in, next(iter(logits.values())) if single else logits,
                                  name=self.keras_name(f"{p.name}_logits"))
        weighted = {k: v for k, v in self.objects.items() if v.weights}
        return KerasModels(model, logit_model, tuple(heads), tuple(inputs), "unrolled", weighted)

    def input_step(self, tensor: Any, name: str, t: int | None) -> Any:
        if t is None:
            return tensor
        key = f"{name}@{t}"
        if key not in self.objects:
            self.objects[key] = custom.Row(t, name=self.keras_name(f"{name}_{t}"))
        return self.objects[key](tensor)

    def freeze(self, name: str, t: int, backward: bool, lengths: Any) -> Any:
        """Past a sequence's end a stream keeps its last value (a backward stream keeps its initial state)."""
        first = self.p.steps - 1 if backward else 0
        if t == first and not backward:
            return self.tensors[(name, t)]  # every sequence has at least one step
        prev_node = (name, INIT) if t == first else (name, t + 1 if backward else t - 1)
        prev = self.tensors.get(prev_node)
        if prev is None:
            prev = _Zero(tuple(self.c.shapes[name])) if self.p.inits.get(name) != "learned" else self.init_state(name)
        layer = custom.Freeze(t, name=self.keras_name(f"{name}_freeze_{t}"))
        return layer([self.materialize(self.tensors[(name, t)]), self.materialize(prev), lengths])

    def _backward_streams(self) -> set[str]:
        """Streams that read their own later steps run backward in time."""
        out = set()
        for src, dst, data in self.p.folded.edges(data=True):
            e = data["attr"]
            if src in self.p.streams and self.p.node(dst).owner == src and e.lag is not None and e.lag < 0:
                out.add(src)
        return out

    def output(self, decl: OutputDecl) -> tuple[Any, Any]:
        """The output tensor as written, and the one the loss reads (before a final softmax or sigmoid)."""
        final = {TargetKind.CLASS: "softmax", TargetKind.LABELS: "sigmoid"}.get(decl.target)
        if not decl.per_step:
            out = self.materialize(self.tensors[(decl.name, None)])
            root = self._root_op(decl.name, None)
            if final and root is not None and self.p.node(root[0]).kind == final:
                return out, self.materialize(self.inputs(root)[0][0])
            return out, out
        outs, pre = [], []
        for t in range(self.p.steps):
            out = self.materialize(self.tensors[(decl.name, t)])
            root = self._root_op(decl.name, t)
            outs.append(out)
            pre.append(self.materialize(self.inputs(root)[0][0]) if final and root is not None
                       and self.p.node(root[0]).kind == final else out)
        stacked = custom.StackSteps(name=self.keras_name(f"{decl.name}_steps"))(outs)
        if all(a is b for a, b in zip(outs, pre)):
            return stacked, stacked
        return stacked, custom.StackSteps(name=self.keras_name(f"{decl.name}_logits"))(pre)

    def _root_op(self, value: str, t: int | None) -> UNode | None:
        """The op whose result a value (or a stream at step t) is, if it is one op."""
        preds = [s for s, _ in self.p.unrolled.in_edges((value, t))]
        return preds[0] if len(preds) == 1 and self.p.node(preds[0][0]).role is Role.OP else None


def emit_keras(prep: Prepared) -> KerasModels:
    """Build the Keras models (output and logits, sharing every layer) for a prepared spec."""
    # Keras maps a functional graph recursively, a few frames per layer of depth: a long
    # unrolling (T in the hundreds) needs more than Python's default 1,000 frames.
    needed = 20 * prep.program.unrolled.number_of_nodes() + 1000
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, needed))
    try:
        return _Emitter(prep).run()
    finally:
        sys.setrecursionlimit(old)


def build_models(checked, lowering: str = "auto") -> KerasModels:
    """Build the Keras models (the usual way in) of a checked program, or of a prepared one.

    A `Checked` program runs the passes first with `lowering` (`unrolled`, `looped`, or `auto`:
    chosen by this backend's cost facts); a `Prepared` one is built as its schedule says.
    """
    from ...passes import Prepared, ScheduleKind, prepare
    from ..costs import KERAS_TENSORFLOW
    from .looped import emit_looped

    prep = checked if isinstance(checked, Prepared) else prepare(checked, lowering=lowering, costs=KERAS_TENSORFLOW)
    if prep.schedule.kind is ScheduleKind.LOOPED:
        return emit_looped(prep)
    return emit_keras(prep)
