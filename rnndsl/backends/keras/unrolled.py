"""The unrolled lowering: a functional keras.Model with every step in the graph.

The driver walks the unrolled graph in a deterministic topological order and gives each
(node, step) its inputs: the tensors of the steps it reads, a range's steps stacked on a steps
axis.  What each kind computes, which layer object holds a weight id's weights, and how masking
holds a stream past its sequence's end are the shared rules of ops.py.  Nodes the passes found
to be all zeros are never computed (see passes/zero_state.py).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from ...catalogue import StepRule
from ...ir import INIT, OutputDecl, Role, UNode, port_sources, topological_order
from ...ir.reads import Lag, Range
from ...passes import Prepared
from . import layers as custom
from . import ops as rules
from .models import LENGTHS, KerasModels, assemble, model_inputs

__all__ = ["emit_keras"]


@dataclass(frozen=True)
class _Zero:
    """A value known to be all zeros (never computed unless something needs the tensor)."""

    shape: tuple[int, ...]


class _Empty:
    """A range of steps that holds no step at this step (`h[0..t-1]` at t = 0): reduced, it gives zeros."""


_EMPTY = _Empty()


class _Unrolled:
    def __init__(self, prep: Prepared):
        self.prep = prep
        self.p = prep.checked.program
        self.shapes = prep.checked.shapes
        self.table = rules.Layers(prep.checked)
        self.tensors: dict[UNode, Any] = {}  # a number stays a float, a known zero a _Zero
        self.cell_state: dict[tuple[str, int], Any] = {}  # lstm: (stream, step) -> c
        self.cx = rules.Context()

    def at(self, t: int | None) -> rules.Context:
        return self.cx._replace(t=t)

    def real(self, value: Any) -> Any:
        """A tensor for a symbolic zero or a number (sized to the batch of the first input)."""
        if isinstance(value, _Zero):
            return self.table.zeros(value.shape, self.cx)
        return self.table.tensor(value, self.cx)

    def inputs(self, node: UNode) -> list[Any]:
        """The value on each input port: a tensor, a number, a range's steps stacked on a steps axis
        (batch, steps, ...) as Ranged, or _EMPTY for a range with no step here."""
        p = self.p
        groups = {port: group for port, group, _ in port_sources(p, node)}
        out = []
        for src, e in rules.in_edges(p, node[0]):
            window = e.read.window if isinstance(e.read, Range) else p.node(src).window
            if e.port not in groups:
                if isinstance(e.read, Range):
                    out.append(_EMPTY)
                continue  # a read the unrolling left out (a guard's step): not an input at this step
            group = groups[e.port]
            if not isinstance(e.read, Range):
                x = self.tensors[group[0]]
            else:
                stack = self.table.get(f"{node[0]}:{e.port}.stack", lambda name: custom.StackSteps(name=name),
                                       f"{node[0]}_{e.port}_steps")
                x = stack([self.real(self.tensors[g]) for g in group])
            out.append(rules.Ranged(x, tuple(window.steps(node[1], p.steps))) if window is not None and x is not _EMPTY
                       else x)
        return out

    def op(self, node: UNode) -> Any:
        name, t = node
        ins = self.inputs(node)
        if any(x is _EMPTY for x in ins):
            return _Zero(tuple(self.shapes[name])) if rules.kind_of(self.p, name).over_steps is StepRule.REDUCE \
                else _EMPTY
        xs = [x._replace(value=self.real(x.value)) if isinstance(x, rules.Ranged)
              else self.real(x) if isinstance(x, _Zero) else x for x in ins]
        if not rules.carries_cell(self.p, name):
            return rules.apply(self.table, name, xs, self.at(t))
        stream = self.p.node(name).owner
        c_prev = self.cell_state.get((stream, int(t or 0) - 1))
        if c_prev is None:
            c_prev = self.real(_Zero(tuple(self.shapes[stream])))
        h, c = rules.apply(self.table, name, xs + [c_prev], self.at(t))
        self.cell_state[(stream, int(t or 0))] = c
        return h

    def run(self) -> KerasModels:
        p = self.p
        assert p.inputs and p.outputs, "check() guarantees an input and an output"
        inputs = model_inputs(p)
        self.cx = rules.Context(lengths=inputs.get(LENGTHS), reference=next(iter(inputs.values())))
        backward = self._backward_streams()
        for node in topological_order(p):
            name, t = node
            a = p.node(name)
            if node in self.prep.zero and a.window is None:  # (an op over a range is computed: it has a steps axis)
                self.tensors[node] = _Zero(tuple(self.shapes[name]))
            elif node in self.prep.forward:
                self.tensors[node] = self.tensors[self.prep.forward[node]]
            elif a.role is Role.INPUT:
                self.tensors[node] = self.input_step(inputs[name], name, t)
            elif a.role is Role.CONST:
                self.tensors[node] = float(a.params["value"])
            elif a.role is Role.PARAM:
                self.tensors[node] = self.table.param(name)(self.cx.reference)
            elif t == INIT:
                self.tensors[node] = rules.initial_state(self.table, name, self.cx)
            elif a.role in (Role.STREAM, Role.VALUE):
                (src,) = [s for s, _ in p.unrolled.in_edges(node)]
                self.tensors[node] = self.tensors[src]
            else:
                self.tensors[node] = self.op(node)
            if p.masked and a.role is Role.STREAM and t not in (None, INIT) and node not in self.prep.zero:
                self.tensors[node] = self.freeze(name, t, name in backward)
        outs, logits = {}, {}
        for decl in p.outputs:
            outs[decl.name], logits[decl.name] = self.output(decl)
        return assemble(p, inputs, outs, logits, "unrolled", self.table.weighted(), self.table.names)

    def input_step(self, tensor: Any, name: str, t: int | None) -> Any:
        if t is None:
            return tensor
        return self.table.get(f"{name}@{t}", lambda layer_name: custom.Row(t, name=layer_name), f"{name}_{t}")(tensor)

    def freeze(self, name: str, t: int, backward: bool) -> Any:
        """Past a sequence's end a stream keeps its last value (a backward stream keeps its initial state)."""
        first = self.p.steps - 1 if backward else 0
        if t == first and not backward:
            return self.tensors[(name, t)]  # every sequence has at least one step
        prev = self.tensors.get((name, INIT) if t == first else (name, t + 1 if backward else t - 1))
        if prev is None:
            prev = _Zero(tuple(self.shapes[name])) if self.p.inits.get(name) != "learned" \
                else rules.initial_state(self.table, name, self.cx)
        return rules.hold(self.table, name, self.real(self.tensors[(name, t)]), self.real(prev), self.at(t))

    def _backward_streams(self) -> set[str]:
        """Streams that read their own later steps run backward in time."""
        out = set()
        for src, dst, data in self.p.folded.edges(data=True):
            read = data["attr"].read
            if src in self.p.streams and self.p.node(dst).owner == src and isinstance(read, Lag) and read.k < 0:
                out.add(src)
        return out

    def output(self, decl: OutputDecl) -> tuple[Any, Any]:
        """The output tensor as written, and the one the loss reads (before a final softmax or sigmoid)."""
        split = rules.final_split(self.p, decl)

        def at(t: int | None) -> tuple[Any, Any]:
            out = self.real(self.tensors[(decl.name, t)])
            if split is None or not self.p.unrolled.has_edge((split, t), (decl.name, t)):
                return out, out
            logits = self.inputs((split, t))[0]
            return out, self.real(logits.value if isinstance(logits, rules.Ranged) else logits)

        if not decl.per_step:
            return at(None)
        outs, pre = zip(*(at(t) for t in range(self.p.steps)))
        stacked = self.table.get(f"{decl.name}.steps", lambda name: custom.StackSteps(name=name),
                                 f"{decl.name}_steps")(list(outs))
        if all(a is b for a, b in zip(outs, pre)):
            return stacked, stacked
        return stacked, self.table.get(f"{decl.name}.logits", lambda name: custom.StackSteps(name=name),
                                       f"{decl.name}_logits")(list(pre))


def emit_keras(prep: Prepared) -> KerasModels:
    """Build the Keras models (output and logits, sharing every layer) for a prepared spec, every step unrolled."""
    # Keras maps a functional graph recursively, a few frames per layer of depth: a long
    # unrolling (T in the hundreds) needs more than Python's default 1,000 frames.
    needed = 20 * prep.program.unrolled.number_of_nodes() + 1000
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, needed))
    try:
        return _Unrolled(prep).run()
    finally:
        sys.setrecursionlimit(old)
