"""The tensor rules of the Keras backend, shared by every lowering.

A lowering is a *driver*: it decides where each input of a node comes from (a step of the
unrolled graph, a loop's carried state, a sequence computed before the loop) and in what order
nodes run.  Everything else is decided here, once:

* `Layers`: the layer objects of a program, one per weight id (a named layer, or an inline
  layer of one equation), one per weightless folded node, one per learned param and learned
  initial state, each named as Keras sees it; for `+ - * /` which side a number is on and
  the axes that line the operands up for broadcasting.
* `apply`: a kind's rule on its inputs (tensors, numbers, and `Ranged` reads of a range of
  steps) in a `Context` (the step, each sequence's length, training): element-wise operators,
  reductions and softmax over a range's steps (masked to the steps each sequence has), `row`,
  cells, and every other kind through its builder's layer.
* `hold`: masking past a sequence's end; `initial_state`; `final_split`: which node the
  loss reads when an output ends with the softmax (sigmoid) it takes off.

The rules use `keras.ops` only, never TensorFlow, so that any driver (and any Keras backend)
can run them.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from keras import layers as keras_layers
from keras import ops

from ...catalogue import KINDS, LayerKind, StepRule
from ...checks import Checked
from ...ir import EdgeAttr, OutputDecl, Program, Range, Role, TargetKind
from . import layers as custom
from .builders import build
from .models import keras_name

__all__ = ["Context", "Ranged", "Layers", "apply", "evaluate", "hold", "initial_state", "in_edges", "kind_of",
           "final_split", "carries_cell"]

_FINAL = {TargetKind.CLASS: "softmax", TargetKind.LABELS: "sigmoid"}  # the activation a target's loss takes off


class Context(NamedTuple):
    """Where a rule runs: the step `t` (an int, a scalar tensor inside a loop, or None for an untimed value
    or for all steps at once), each sequence's `lengths` (None unless masked), `training`, and a
    `reference` tensor whose first axis is the batch (numbers and zeros are sized to it)."""

    t: Any = None
    lengths: Any = None
    training: Any = None
    reference: Any = None


class Ranged(NamedTuple):
    """A read of a range of steps: the values on a steps axis (batch, S, ...) and which of them count:
    `steps`, the S steps themselves when the driver knows them (masking then asks each sequence's
    length), or `mask`, (batch, S) booleans, when they are known only as the program runs."""

    value: Any
    steps: tuple[int, ...] | None = None
    mask: Any = None


def in_edges(p: Program, n: str) -> list[tuple[str, EdgeAttr]]:
    """(source, read) of each input of a folded node, by port."""
    return [(src, d["attr"]) for src, _, _, d in sorted(p.folded.in_edges(n, keys=True, data=True),
                                                        key=lambda x: x[2])]


def kind_of(p: Program, n: str) -> LayerKind:
    return KINDS[p.node(n).kind or ""]


def carries_cell(p: Program, n: str) -> bool:
    """Whether an op is a cell with a second state (an LSTM's c): its rule takes it last and gives [h, c]."""
    return p.node(n).role is Role.OP and kind_of(p, n).states == 2


def final_split(p: Program, decl: OutputDecl) -> str | None:
    """The op that ends an output with the softmax (sigmoid) its loss takes off, if one does: the loss
    reads that op's input instead (the logits), the model its result."""
    final = _FINAL.get(decl.target)
    root = list(p.folded.predecessors(decl.name))
    if final and len(root) == 1 and p.node(root[0]).role is Role.OP and p.node(root[0]).kind == final:
        return root[0]
    return None


class Layers:
    """The layer objects of one program, made on first use (or all at once, `make_all`) under stable keys,
    so that every lowering of a spec holds the same weights under the same names."""

    def __init__(self, checked: Checked):
        self.p: Program = checked.program
        self.shapes = checked.shapes
        self.objects: dict[str, keras_layers.Layer] = {}  # key (a weight id, a folded node, ...) -> its layer
        self.names: set[str] = set()

    def get(self, key: str, make: Callable[[str], keras_layers.Layer], ident: str | None = None
            ) -> keras_layers.Layer:
        """The layer under `key`, made by `make(name)` the first time (named after `ident`, else the key)."""
        if key not in self.objects:
            self.objects[key] = make(keras_name(ident or key, self.names))
        return self.objects[key]

    def weighted(self) -> dict[str, keras_layers.Layer]:
        """Weight id -> the layer holding its weights (what KerasModels.layers gives)."""
        return {k: v for k, v in self.objects.items() if v.weights}

    # ---- one layer per weight id, learned tensor and operator ------------------------------------------------
    def of_kind(self, n: str) -> keras_layers.Layer:
        """The builder's layer of an op, one per weight id (a named layer shares it between its uses)."""
        a = self.p.node(n)
        return self.get(a.layer or a.name, lambda name: build(kind_of(self.p, n), a.params, name, a.mode == "train"))

    def learned(self, key: str, shape: tuple[int, ...], fill) -> keras_layers.Layer:
        """A learned tensor broadcast over the batch: a param (key: its name) or a learned initial state."""
        init = [fill.name, *fill.args] if fill is not None else None
        return self.get(key, lambda name: custom.LearnedState(shape, init, name=name))

    def param(self, n: str) -> keras_layers.Layer:
        a = self.p.node(n)
        return self.learned(n, tuple(a.params["shape"]), a.params["init"])

    def learned_init(self, s: str) -> keras_layers.Layer:
        return self.learned(f"{s}.init", tuple(self.shapes[s]), self.p.init_fills.get(s))

    def elementwise(self, n: str) -> keras_layers.Layer:
        """`a + b` (- * /) with its number, if any, kept in the layer on its side, and the tensors lined up."""
        number, left = self.number_side(n)
        op = kind_of(self.p, n).name
        return self.get(n, lambda name: custom.Elementwise(op, number, left, self.expand(n), name=name))

    def make_all(self) -> None:
        """Every layer with a weight or a fixed configuration, in the folded graph's order (a lowering that
        runs inside one layer needs them before it runs)."""
        p = self.p
        for n in sorted(p.folded.nodes, key=p.order):
            a = p.node(n)
            if a.role is Role.PARAM:
                self.param(n)
            elif a.role is Role.STREAM and p.inits.get(n) == "learned":
                self.learned_init(n)
            elif a.role is Role.OP:
                kind = kind_of(p, n)
                if kind.operator:
                    self.elementwise(n)
                elif not (kind.uses_step or kind.over_steps in (StepRule.REDUCE, StepRule.NORMALISE)):
                    self.of_kind(n)  # (row and the range kinds get a layer per step, or none, as the driver runs)

    def build_all(self) -> None:
        """Create every weight from the checked shapes (before anything runs, and before a saved model loads)."""
        p = self.p
        done: set[str] = set()
        for n in sorted(p.folded.nodes, key=p.order):
            a = p.node(n)
            if a.role is not Role.OP or kind_of(p, n).operator:
                continue
            key = a.layer or a.name
            layer = self.objects.get(key)
            if layer is None or key in done or layer.built:
                continue
            done.add(key)
            shapes = [(None, *self.shapes[src]) for src, _ in in_edges(p, n)]
            kind = kind_of(p, n)
            if kind.is_cell:
                layer.build(shapes[:2] + ([shapes[1]] if kind.states == 2 else []))
            else:
                layer.build(shapes if kind.arity is None else shapes[0])

    # ---- tensors for numbers and zeros ---------------------------------------------------------------------
    def tensor(self, x: Any, cx: Context) -> Any:
        """A number as a tensor of one value per example; a tensor as it is."""
        if not isinstance(x, float):
            return x
        return self.get(f"const{x!r}", lambda name: custom.Constant(x, name=name), "const")(cx.reference)

    def zeros(self, shape: tuple[int, ...], cx: Context) -> Any:
        return self.get(f"zeros{shape}", lambda name: custom.ZeroState(shape, name=name), "zeros")(cx.reference)

    # ---- decisions over the folded graph ---------------------------------------------------------------------
    def number(self, n: str) -> float | None:
        """The number a node is (a constant, or a value or stream that is one), else None."""
        a = self.p.node(n)
        if a.role is Role.CONST:
            return float(a.params["value"])
        if a.role in (Role.VALUE, Role.STREAM):
            ins = in_edges(self.p, n)
            return self.number(ins[0][0]) if len(ins) == 1 else None
        return None

    def number_side(self, n: str) -> tuple[float | None, bool]:
        """The number an operator keeps, and whether it is on the left.  Of two numbers (what the folding pass
        could not fold safely) the first becomes a tensor and the second stays a number."""
        numbers = [(i, v) for i, (src, _) in enumerate(in_edges(self.p, n)) if (v := self.number(src)) is not None]
        if not numbers:
            return None, False
        if len(numbers) == 2:
            return numbers[1][1], False
        i, v = numbers[0]
        return v, i == 0

    def kept_number(self, n: str) -> int | None:
        """The operand (by position) that the operator's layer keeps as a number, if one does."""
        numbers = [i for i, (src, _) in enumerate(in_edges(self.p, n)) if self.number(src) is not None]
        return numbers[-1] if numbers else None

    def expand(self, n: str) -> list[list[int]] | None:
        """Axes to insert in each tensor operand so that it broadcasts as its per-example shape does:
        batch first, then the steps axis of a range, then the example's axes aligned on the right."""
        p = self.p
        a = p.node(n)
        rank = len(self.shapes[n])
        lead = 2 if a.window is not None else 1
        kept = self.kept_number(n)
        out = []
        for i, (src, e) in enumerate(in_edges(p, n)):
            if i == kept:
                continue
            own = 0 if self.number(src) is not None else len(self.shapes[src])
            ranged = isinstance(e.read, Range) or p.node(src).window is not None  # the operand has a steps axis
            axes = [1] if a.window is not None and not ranged else []
            out.append(axes + [lead] * (rank - own))
        return out if any(out) else None


# ---- the rules -------------------------------------------------------------------------------------------------
def _call(layer: keras_layers.Layer, x: Any, cx: Context) -> Any:
    return layer(x) if cx.training is None else layer(x, training=cx.training)


def _static(t: Any) -> bool:
    """Whether the step is known while building (the unrolled graph), not a tensor of a running loop."""
    return t is None or isinstance(t, int)


def _elementwise(table: Layers, n: str, kind: LayerKind, xs: list, cx: Context) -> Any:
    kept = table.kept_number(n)
    tensors = [table.tensor(x, cx) for i, x in enumerate(xs) if i != kept]
    layer = table.elementwise(n)
    return layer(tensors if len(tensors) > 1 else tensors[0])


def _over_steps(table: Layers, n: str, kind: LayerKind, x: Any, r: Ranged, cx: Context) -> Any:
    """A reduction or a softmax over a range's steps; with masking, over the steps each sequence has."""
    assert r is not None, "the front end gives these kinds a range"
    if r.mask is not None:
        if kind.over_steps is StepRule.REDUCE:
            return custom.masked_reduce(kind.name, x, r.mask)
        return custom.masked_softmax(x, r.mask)
    if cx.lengths is None:
        return table.of_kind(n)(x)
    steps = list(r.steps or ())
    make = ((lambda name: custom.StepSoftmax(steps, name=name)) if kind.over_steps is StepRule.NORMALISE
            else (lambda name: custom.StepReduce(kind.name, steps, name=name)))
    return table.get(f"{n}@{cx.t}", make, f"{n}_{cx.t}")([x, cx.lengths])


def _row(table: Layers, n: str, x: Any, cx: Context) -> Any:
    """Row t of the input at step t."""
    if _static(cx.t):
        t = int(cx.t or 0)
        return table.get(f"{n}@{t}", lambda name: custom.Row(t, name=name), f"{n}_{t}")(x)
    return ops.take(x, ops.cast(cx.t, "int32"), axis=1)


def _layer(table: Layers, n: str, kind: LayerKind, xs: list, cx: Context) -> Any:
    xs = [table.tensor(x, cx) for x in xs]
    layer = table.of_kind(n)
    if kind.is_cell:
        return _call(layer, xs, cx)  # [x, h] -> h; an lstm's [x, h, c] -> [h, c]
    return _call(layer, xs if kind.arity is None else xs[0], cx)


def apply(table: Layers, n: str, xs: list, cx: Context) -> Any:
    """The value of op `n` from its inputs (by port; numbers as floats, ranges as Ranged; an LSTM's cell state
    last).  Over a range whose steps are known only as it runs, the result is Ranged too."""
    kind = kind_of(table.p, n)
    ranged = next((x for x in xs if isinstance(x, Ranged)), None)
    xs = [x.value if isinstance(x, Ranged) else x for x in xs]
    if kind.over_steps is StepRule.REDUCE:
        return _over_steps(table, n, kind, table.tensor(xs[0], cx), ranged, cx)
    if kind.over_steps is StepRule.NORMALISE:
        out = _over_steps(table, n, kind, table.tensor(xs[0], cx), ranged, cx)
    elif kind.uses_step:
        out = _row(table, n, xs[0], cx)
    elif kind.operator:
        out = _elementwise(table, n, kind, xs, cx)
    else:
        out = _layer(table, n, kind, xs, cx)
    return Ranged(out, ranged.steps, ranged.mask) if ranged is not None and ranged.mask is not None else out


def hold(table: Layers, s: str, new: Any, previous: Any, cx: Context) -> Any:
    """Masking: past its sequence's end (t >= its length) a stream keeps its previous value."""
    if _static(cx.t):
        t = int(cx.t or 0)
        return table.get(f"{s}@freeze{t}", lambda name: custom.Freeze(t, name=name),
                         f"{s}_freeze_{t}")([new, previous, cx.lengths])
    return custom.hold(new, previous, cx.t, cx.lengths)


def initial_state(table: Layers, s: str, cx: Context) -> Any:
    """A stream's initial state (zeros, or its learned tensor); zeros before a sequence input's first step."""
    p = table.p
    if p.inits.get(s) == "learned" and p.node(s).role is Role.STREAM:
        return table.learned_init(s)(cx.reference)
    shape = tuple(table.shapes[s])
    return table.get(f"{s}.init", lambda name: custom.ZeroState(shape, name=name), f"{s}_init")(cx.reference)


def evaluate(table: Layers, n: str, cx: Context, read: Callable[[], list]) -> Any:
    """A folded node's value by its role: a number stays a float, a param is its learned tensor, a stream or a
    named value is its one input, an op its kind's rule; `read()` gives the inputs (asked only when needed)."""
    a = table.p.node(n)
    if a.role is Role.CONST:
        return float(a.params["value"])
    if a.role is Role.PARAM:
        return table.param(n)(cx.reference)
    xs = read()
    if a.role in (Role.STREAM, Role.VALUE):
        return xs[0]
    return apply(table, n, xs, cx)
