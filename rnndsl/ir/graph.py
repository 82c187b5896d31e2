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


class EdgeKind(str, Enum):
    """How a read relates reader and source in time, derived from the lag (never declared)."""

    FEED = "feed"  # same step, or an untimed value
    SAME = "same"  # a stream reads its own previous step
    CROSS = "cross"  # a stream reads another stream's previous step
    LAG_K = "lag-k"  # t - k, k >= 2
    REVERSED = "reversed"  # a later step, t + k
    FIXED = "fixed"  # a stream equation reads one fixed step (h[3], h[last]) at every step
    WINDOW = "window"  # a range of steps h[0..t-1], reduced over time

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
class Bound:
    """One end of a range of steps: `t+offset` (base "t"), an absolute step, or `last+offset`."""

    base: str  # "t" | "abs" | "last"
    offset: int

    def at(self, t: int, steps: int) -> int:
        return {"t": t, "abs": 0, "last": steps - 1}[self.base] + self.offset

    def __str__(self) -> str:
        if self.base == "abs":
            return str(self.offset)
        sign = "" if self.offset == 0 else (f"+{self.offset}" if self.offset > 0 else str(self.offset))
        return self.base + sign


@dataclass(frozen=True)
class Window:
    """The steps lo..hi (both included) that a read of many steps covers, clipped to 0..steps-1."""

    lo: Bound
    hi: Bound

    def steps(self, t: int | None, steps: int) -> range:
        t = 0 if t is None else t
        return range(max(self.lo.at(t, steps), 0), min(self.hi.at(t, steps), steps - 1) + 1)

    def active(self, steps: int) -> tuple[int, int]:
        """The steps t (an interval a..b, empty when a > b) at which the range holds at least one step.

        Each end moves with t or not, so every condition (lo <= hi, lo <= steps-1, hi >= 0) is
        t <= c, t >= c or always/never: their intersection is an interval, found in O(1).
        """
        a, b = 0, steps - 1
        lo_t, hi_t = self.lo.base == "t", self.hi.base == "t"
        lo0, hi0 = self.lo.at(0, steps), self.hi.at(0, steps)  # the ends at t = 0
        # lo(t) <= hi(t)
        if lo_t == hi_t:
            if lo0 > hi0:
                return 1, 0
        elif lo_t:
            b = min(b, hi0 - lo0)
        else:
            a = max(a, lo0 - hi0)
        # lo(t) <= steps - 1, hi(t) >= 0
        if lo_t:
            b = min(b, steps - 1 - lo0)
        elif lo0 > steps - 1:
            return 1, 0
        if hi_t:
            a = max(a, -hi0)
        elif hi0 < 0:
            return 1, 0
        return a, b

    def live_steps(self, steps_of_reader: tuple[int, ...], steps: int) -> tuple[int, ...]:
        """The reader's steps (sorted) at which the range holds at least one step."""
        import bisect

        a, b = self.active(steps)
        return steps_of_reader[bisect.bisect_left(steps_of_reader, a):bisect.bisect_right(steps_of_reader, b)]

    @property
    def timed(self) -> bool:
        """Whether the range moves with t (it can then only be read inside a stream equation)."""
        return "t" in (self.lo.base, self.hi.base)

    def __str__(self) -> str:
        return f"[{self.lo}..{self.hi}]"


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
    """A read of `src` by `dst` on input `port`: at t - lag, at the absolute step `at`, over a
    range of steps `window`, or untimed."""

    port: int
    kind: EdgeKind
    lag: int | None = None
    at: int | None = None
    steps: tuple[int, ...] | None = None  # dst steps where the edge is live (None: all)
    span: Span = field(default_factory=Span.unknown, compare=False)
    window: Window | None = None

    @property
    def label(self) -> str:
        if self.window is not None:
            return str(self.window)
        if self.at is not None:
            return f"[{self.at}]"
        if self.lag is None or self.lag == 0:
            return ""
        return f"t-{self.lag}" if self.lag > 0 else f"t+{-self.lag}"


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
    """Classify a read: feed (same step or untimed), same, cross, lag-k (|lag| >= 2), reversed (a later
    step), fixed (a stream equation reading one fixed step), window (a range of steps)."""
    if window is not None:
        return EdgeKind.WINDOW
    if at is not None and src_is_timed and dst_is_timed:
        return EdgeKind.FIXED
    if not src_is_timed or lag is None or lag == 0:
        return EdgeKind.FEED
    if lag < 0:
        return EdgeKind.REVERSED
    if lag >= 2:
        return EdgeKind.LAG_K
    return EdgeKind.SAME if same_owner else EdgeKind.CROSS
