"""The abstract syntax tree: frozen dataclasses whose spans stay out of equality."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ..errors import Span

__all__ = [
    "Spec", "Stmt", "Expr", "Value", "Cond", "Index",
    "Model", "About", "Data", "Steps", "Init", "Defaults", "LayerDef", "ValueDef",
    "StreamDef", "Train", "TrainItem", "When", "Otherwise", "InputDecl", "TargetDecl",
    "ParamDecl", "CondIn", "CondMod", "CondCmp", "CondAnd", "CondOr", "CondNot",
    "Name", "Ref", "Window", "Num", "Call", "Stage", "Pipe", "BinOp", "Neg", "Kwarg",
    "Word", "Str", "Range", "VCall", "Rel", "Abs", "Last",
]


def _span() -> Span:
    return field(default_factory=Span.unknown, compare=False, repr=False)  # type: ignore[return-value]


# ---- time indices -----------------------------------------------------------------
@dataclass(frozen=True)
class Rel:
    """`t + offset`: offset -1 reads the previous step, +1 the next."""

    offset: int


@dataclass(frozen=True)
class Abs:
    """An absolute step `h[3]`."""

    step: int


@dataclass(frozen=True)
class Last:
    """`h[last]` or `h[last-k]` (offset is -k)."""

    offset: int = 0


Index = Union[Rel, Abs, Last]


# ---- literal values (layer parameters, train settings) -----------------------------
@dataclass(frozen=True)
class Num:
    value: float | int
    span: Span = _span()


@dataclass(frozen=True)
class Word:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Str:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Range:
    lo: float | int
    hi: float | int
    span: Span = _span()


@dataclass(frozen=True)
class Kwarg:
    name: str
    value: "Value"
    span: Span = _span()


@dataclass(frozen=True)
class VCall:
    """A call among literal values, such as `normal(0.05)` or `adam(lr=1e-3)`."""

    func: str
    items: tuple[Union["Value", Kwarg], ...]
    span: Span = _span()


Value = Union[Num, Word, Str, Range, VCall]


# ---- tensor expressions --------------------------------------------------------------
@dataclass(frozen=True)
class Name:
    id: str
    span: Span = _span()


@dataclass(frozen=True)
class Ref:
    """A time-indexed read `h[t-1]`."""

    id: str
    index: Index
    span: Span = _span()


@dataclass(frozen=True)
class Window:
    """A read of a range of steps `h[0..t-1]` (both ends included), reduced by sum, mean, max, ..."""

    id: str
    lo: Index
    hi: Index
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    """`f(args)` inside an expression: tensors first, then layer parameters."""

    func: str
    args: tuple[Union["Expr", Kwarg], ...]
    span: Span = _span()


@dataclass(frozen=True)
class Stage:
    """One stage of a pipeline, `| f(params) @mode`; `args` are parameters only."""

    func: str
    args: tuple[Union["Expr", Kwarg], ...] = ()
    parens: bool = False
    mode: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Pipe:
    value: "Expr"
    stage: Stage
    span: Span = _span()


@dataclass(frozen=True)
class BinOp:
    op: str  # '+', '-', '*', '/'
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Neg:
    """Unary minus `-h[last]` (a minus before a number is part of the number)."""

    value: "Expr"
    span: Span = _span()


Expr = Union[Name, Ref, Window, Num, Call, Pipe, BinOp, Neg]


# ---- guards --------------------------------------------------------------------------
@dataclass(frozen=True)
class CondIn:
    steps: tuple[int, ...]
    span: Span = _span()


@dataclass(frozen=True)
class CondMod:
    modulus: int
    op: str
    rhs: int
    span: Span = _span()


@dataclass(frozen=True)
class CondCmp:
    op: str
    rhs: int
    span: Span = _span()


@dataclass(frozen=True)
class CondAnd:
    left: "Cond"
    right: "Cond"
    span: Span = _span()


@dataclass(frozen=True)
class CondOr:
    left: "Cond"
    right: "Cond"
    span: Span = _span()


@dataclass(frozen=True)
class CondNot:
    cond: "Cond"
    span: Span = _span()


Cond = Union[CondIn, CondMod, CondCmp, CondAnd, CondOr, CondNot]


@dataclass(frozen=True)
class When:
    cond: Cond
    otherwise: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Otherwise:
    span: Span = _span()


# ---- statements ----------------------------------------------------------------------
@dataclass(frozen=True)
class Model:
    name: str
    title: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class About:
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Data:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Steps:
    count: int
    span: Span = _span()


@dataclass(frozen=True)
class Init:
    """`init h = learned(normal(0.1))`: kind zeros, learned or none; `fill` the learned state's initialiser.

    `fill` is a tuple when the call does not hold exactly one item (`learned()`, `learned(a, b)`):
    the items as written, which symbol collection reports."""

    stream: str
    kind: str
    fill: "Value | tuple[Value | Kwarg, ...] | None" = None
    span: Span = _span()


@dataclass(frozen=True)
class Defaults:
    kwargs: tuple[Kwarg, ...]
    span: Span = _span()


@dataclass(frozen=True)
class LayerDef:
    name: str
    stages: tuple[Stage, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ValueDef:
    name: str
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class StreamDef:
    name: str
    expr: Expr
    guard: When | Otherwise | None = None
    span: Span = _span()


@dataclass(frozen=True)
class InputDecl:
    """`input x[t]: (12,)` (a sequence: one value of `shape` per step) or `input image: (28, 28, 1)`.

    `shape` is None when the spec leaves it to the data (`input x[t]`)."""

    name: str
    shape: tuple[int, ...] | None
    timed: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class TargetDecl:
    """`target y[t]: real(1) loss=mae`: what the value (or stream) `name` is trained against."""

    name: str
    kind: str  # class | real | labels
    size: int | None = None  # classes (class), values (real), labels (labels); None: from the data
    timed: bool = False
    options: tuple[Kwarg, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class ParamDecl:
    """`param u: (64,) init=uniform(1)`: a learned tensor of that shape, read by name like a value."""

    name: str
    shape: tuple[int, ...]
    options: tuple[Kwarg, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class TrainItem:
    key: str
    value: Value
    span: Span = _span()


@dataclass(frozen=True)
class Train:
    items: tuple[TrainItem, ...]
    span: Span = _span()


Stmt = Union[Model, About, Data, Steps, Init, Defaults, LayerDef, ValueDef, StreamDef, Train, InputDecl, TargetDecl,
             ParamDecl]


@dataclass(frozen=True)
class Spec:
    """A parsed spec: its statements in source order."""

    statements: tuple[Stmt, ...]
