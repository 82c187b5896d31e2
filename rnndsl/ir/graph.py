"""The IR types: a folded networkx MultiDiGraph over named values and an unrolled DiGraph over (node, t).

Every node and edge carries exactly one attribute, `attr`, holding a frozen dataclass:
a typo in a field name is an AttributeError, never a silent new key.  Closed sets (roles,
edge kinds, target kinds) are enums.  In Keras' terms a folded op node is an *operation*
(one set of weights, `layer`), an unrolled `(op, t)` node one *call* of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping

import networkx as nx

from ..catalogue import Init, Params, Shape
from ..errors import Span
from .reads import WHOLE, Bound, EdgeKind, ReadForm, Window, form_of

__all__ = [
    "INIT", "UNode", "Role", "EdgeKind", "TargetKind", "Loss", "Bound", "Window", "NodeAttr", "EdgeAttr",
    "InputDecl", "OutputDecl",
    "Program", "node_attr", "edge_kind",
]

INIT = -1  # the step index of a stream's initial state in the unrolled graph
UNode = tuple[str, "int | None"]  # (folded node, step); step None for untimed values


class Role(str, Enum):
    INPUT = "input"  # a declared input (a whole example, such as an image)
    VALUE = "value"  # a named untimed value `o = ...`
    STREAM = "stream"  # a value per step `h[t] = ...`
    CONST = "const"  # a number
    PARAM = "param"  # a learned tensor `param u: (64,)`
    OP = "op"  # one layer application

    def __str__(self) -> str:
        return self.value


class TargetKind(str, Enum):
    """What an output is trained against."""

    CLASS = "class"  # a class index (softmax cross-entropy; metric accuracy)
    REAL = "real"  # a real vector (MSE or MAE; metrics MSE and MAE)
    LABELS = "labels"  # independent 0/1 labels (sigmoid cross-entropy; metric binary accuracy)

    def __str__(self) -> str:
        return self.value


class Loss(str, Enum):
    CROSSENTROPY = "crossentropy"
    MSE = "mse"
    MAE = "mae"
    SIGMOID = "sigmoid"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class NodeAttr:
    """A folded node: an input, a named value, a stream, a constant or a layer application (op)."""

    name: str
    role: Role
    owner: str  # the value or stream whose definition holds this node
    kind: str | None = None  # layer kind of an op
    params: Params = field(default_factory=Params)
    layer: str | None = None  # weight-sharing id (None: the op has no weights)
    steps: tuple[int, ...] | None = None  # steps where it exists; None: untimed
    mode: str | None = None  # "train": applied only while training
    span: Span = field(default_factory=Span.unknown, compare=False)
    window: Window | None = None  # an op over a range of steps: its value holds one element per step of it

    @property
    def timed(self) -> bool:
        return self.steps is not None


@dataclass(frozen=True)
class EdgeAttr:
    """A read of `src` by `dst` on input `port`, in one read form (a lag, a fixed step, a range, or
    a whole value: ir/reads.py), live at the reader's `steps` (a guarded equation's root)."""

    port: int
    kind: EdgeKind
    read: ReadForm = WHOLE
    steps: tuple[int, ...] | None = None  # dst steps where the edge is live (None: all)
    span: Span = field(default_factory=Span.unknown, compare=False)

    @property
    def label(self) -> str:
        return self.read.label


@dataclass(frozen=True)
class InputDecl:
    """A named input: one value of `shape` per example, or per step when `sequence`."""

    name: str
    shape: Shape | None  # None: taken from the data
    sequence: bool = False
    span: Span = field(default_factory=Span.unknown, compare=False)


@dataclass(frozen=True)
class OutputDecl:
    """A named output (a value, or a stream when `per_step`) and the target it is trained against."""

    name: str
    target: TargetKind
    size: int | None = None  # classes, values or labels; None: taken from the data
    per_step: bool = False
    loss: Loss = Loss.CROSSENTROPY
    span: Span = field(default_factory=Span.unknown, compare=False)

    @property
    def classes(self) -> int | None:
        return self.size if self.target is TargetKind.CLASS else None


@dataclass(frozen=True, eq=False)
class Program:
    """The lowered spec.  Built once by `lower`; later stages only read it (passes build new ones)."""

    name: str
    title: str
    about: str
    data: str | None  # the built-in dataset the spec names (the default data source)
    steps: int  # when `steps_from_data`, a stand-in for checking until the data says how many
    folded: nx.MultiDiGraph
    unrolled: nx.DiGraph
    inputs: tuple[InputDecl, ...]
    outputs: tuple[OutputDecl, ...]
    streams: tuple[str, ...]
    values: tuple[str, ...]
    inits: Mapping[str, str]
    layers: Mapping[str, str]  # weight-sharing id -> layer kind
    named_layers: tuple[str, ...]
    steps_from_data: bool = False  # the spec has no `steps` line: the data's sequence length decides
    masked: bool = False  # sequences of different lengths: a `lengths` input masks the steps past each end
    init_fills: Mapping[str, Init] = field(default_factory=dict)  # a learned initial state's initialiser
    source: str = ""  # the spec text it was lowered from (a saved looped model rebuilds from it)

    def node(self, name: str) -> NodeAttr:
        return self.folded.nodes[name]["attr"]

    def order(self, name: str) -> int:
        """Declaration order of a folded node (for deterministic iteration)."""
        return self.folded.nodes[name]["order"]

    def input(self, name: str) -> InputDecl | None:
        return next((i for i in self.inputs if i.name == name), None)

    @property
    def output(self) -> OutputDecl | None:
        """The first output (every spec today has one)."""
        return self.outputs[0] if self.outputs else None


def node_attr(graph: nx.Graph, name: object) -> NodeAttr:
    """The NodeAttr of a folded or unrolled node."""
    return graph.nodes[name]["attr"]


def edge_kind(src_is_timed: bool, same_owner: bool, lag: int | None, at: int | None = None,
              dst_is_timed: bool = False, window: Window | None = None) -> EdgeKind:
    """Classify a read given by its offsets (its read form decides: ir/reads.py)."""
    return form_of(lag, at, window).kind(src_is_timed, same_owner, dst_is_timed)
