"""The one catalogue of layer kinds: every fact about a kind is on its row.

A row says what the front end, the passes and every backend need to know:
parameters and their checks, the shape rule, the weights (so parameter counts and weight
sharing can be checked), FLOPs per sample, the diagram label, whether it is element-wise
(and its infix operator), how it treats zeros (for zero-state elision), how many states
a cell carries and how many gates it has, and how to fold it over constants.  A backend
adds one builder per kind (backends/keras/builders.py); a test checks none is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Mapping

from .params import Param, Params, ParamType, Shape, ShapeError, fmt_shape, fmt_value, size, Init

__all__ = [
    "Category", "ZeroRule", "StepRule", "LayerKind", "KINDS", "BY_OPERATOR", "kind", "ACTIVATIONS",
    "UNARY_FUNCTIONS", "REDUCTIONS", "broadcast_shapes",
]

ShapeFn = Callable[[tuple[Shape, ...], Params, int], Shape]
WeightFn = Callable[[tuple[Shape, ...], Params], tuple[tuple[str, Shape], ...]]
FlopFn = Callable[[tuple[Shape, ...], Params, Shape], int]
LabelFn = Callable[[Params], str]
FoldFn = Callable[..., float]


class Category(str, Enum):
    LAYER = "layer"
    ACTIVATION = "activation"
    POOL = "pool"
    SHAPE = "shape"
    MERGE = "merge"
    TRANSFORM = "transform"
    NORM = "norm"
    CELL = "cell"
    FUNCTION = "function"
    TIME = "time"

    def __str__(self) -> str:
        return self.value


class ZeroRule(str, Enum):
    """What a kind does with an all-zero input (zero-state elision reads this)."""

    NONE = "none"  # f(0) is not known to be 0
    KEEPS = "keeps"  # f(0) == 0
    KEEPS_WITHOUT_BIAS = "keeps-without-bias"  # f(0) == 0 when bias=false
    ABSORBS = "absorbs"  # any zero operand gives 0 (a * b)
    IDENTITY = "identity"  # a zero operand drops out (a + b)
    RIGHT_IDENTITY = "right-identity"  # a zero right operand drops out (a - b)

    def __str__(self) -> str:
        return self.value


class StepRule(str, Enum):
    """What a kind does with a read of a range of steps (`h[0..t-1]`)."""

    NONE = "none"  # refuses one: reduce the range first
    EACH = "each"  # applies to each step of the range (element-wise kinds, dense): the result is a range
    REDUCE = "reduce"  # needs one, and reduces over its steps (sum, mean, max)
    NORMALISE = "normalise"  # needs one, and normalises over its steps (softmax_steps): the result is a range

    def __str__(self) -> str:
        return self.value


def _no_weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
    return ()


def _elementwise_flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
    return size(out)


def _zero_flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
    return 0


@dataclass(frozen=True)
class LayerKind:
    """One row of the catalogue."""

    name: str
    category: Category
    doc: str
    shape: ShapeFn
    params: tuple[Param, ...] = ()
    arity: int | None = 1  # tensor inputs; None means two or more
    weights: WeightFn = _no_weights
    flops: FlopFn = _elementwise_flops
    label: LabelFn | None = None
    operator: str | None = None  # infix spelling (+, -, *) of an element-wise merge
    elementwise: bool = False  # output element i depends only on input element i
    zero: ZeroRule = ZeroRule.NONE
    fold: FoldFn | None = None  # value over numbers, for constant folding
    states: int = 0  # states a cell carries from step to step (lstm: h and c)
    gates: int = 0  # gate blocks of a cell's kernels
    random: bool = False  # draws random numbers when it runs
    uses_step: bool = False  # its result depends on the step index t
    over_steps: StepRule = StepRule.NONE  # what it does with a range of steps
    batch_stats: bool = False  # its result for one example depends on the others in the batch (while training)

    @property
    def has_weights(self) -> bool:
        return self.weights is not _no_weights

    @property
    def is_cell(self) -> bool:
        return self.category is Category.CELL

    @property
    def min_inputs(self) -> int:
        return 2 if self.arity is None else self.arity

    @property
    def ports(self) -> int:
        """Input ports of one application: tensors, then the cell's state."""
        return self.min_inputs + (1 if self.is_cell else 0)

    def keeps_zero(self, p: Params) -> bool:
        """Whether an all-zero input gives an all-zero output with these parameters."""
        if self.zero in (ZeroRule.KEEPS, ZeroRule.ABSORBS, ZeroRule.IDENTITY, ZeroRule.RIGHT_IDENTITY):
            return True
        return self.zero is ZeroRule.KEEPS_WITHOUT_BIAS and not p.get("bias", False)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def describe(self, p: Params) -> str:
        """The short label used in diagrams and the check table."""
        if self.label is not None:
            return self.label(p)
        shown = []
        for k, v in p.items():
            spec = self.param(k)
            if spec is not None and spec.positional:
                shown.append(fmt_value(v))
        return f"{self.name}({', '.join(shown)})" if shown else self.name

    def n_params(self, inputs: tuple[Shape, ...], p: Params) -> int:
        return sum(size(s) for _, s in self.weights(inputs, p))


# ---- shape helpers ------------------------------------------------------------------------
def _rank(inputs: tuple[Shape, ...], ranks: tuple[int, ...], what: str) -> Shape:
    x = inputs[0]
    if len(x) not in ranks:
        want = " or ".join(f"rank {r}" for r in ranks)
        raise ShapeError(f"{what} needs an input of {want} (height, width, channels), got shape {fmt_shape(x)}"
                         if 3 in ranks else f"{what} needs an input of {want}, got shape {fmt_shape(x)}")
    return x


def _conv_out(n: int, k: int, stride: int, padding: str, dilation: int = 1) -> int:
    eff = (k - 1) * dilation + 1
    if padding == "same":
        return -(-n // stride)
    return (n - eff) // stride + 1


def broadcast_shapes(shapes: tuple[Shape, ...], what: str) -> Shape:
    """NumPy broadcasting: align on the right; a 1 (or a missing axis) stretches."""
    out: list[int] = []
    for s in shapes:
        width = max(len(out), len(s))
        a = [1] * (width - len(out)) + out
        b = [1] * (width - len(s)) + list(s)
        merged = []
        for x, y in zip(a, b):
            if x != y and 1 not in (x, y):
                raise ShapeError(f"'{what}' needs operands of the same shape, or shapes that broadcast; "
                                 f"got {fmt_shape(tuple(out))} and {fmt_shape(s)}")
            merged.append(max(x, y) if 1 in (x, y) else x)
        out = merged
    return tuple(out)


# ---- conv / dense -----------------------------------------------------------------------
_BIAS = Param("bias", ParamType.BOOL, True, positional=False, doc="add a bias")
_INIT = Param("init", ParamType.INIT, Init("glorot"), positional=False, doc="weight initialiser")
_MAX_UNITS = 65_536  # channels, units and kernel sizes beyond this are mistakes, not models
_MAX_KERNEL = 1_024


def _conv_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    h, w, _ = _rank(inputs, (3,), "conv")
    k, s, d = p["kernel"], p["stride"], p["dilation"]
    ho, wo = (_conv_out(h, k, s, p["padding"], d), _conv_out(w, k, s, p["padding"], d))
    if ho < 1 or wo < 1:
        raise ShapeError(f"conv kernel {k} with padding {p['padding']} does not fit an input of shape "
                         f"{fmt_shape(inputs[0])}")
    return (ho, wo, p["filters"])


def _conv_weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
    cin = inputs[0][-1]
    k = p["kernel"]
    ws: tuple[tuple[str, Shape], ...] = (("kernel", (k, k, cin, p["filters"])),)
    return ws + ((("bias", (p["filters"],)),) if p["bias"] else ())


def _conv_flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
    k, cin = p["kernel"], inputs[0][-1]
    return 2 * k * k * cin * size(out) + (size(out) if p["bias"] else 0)


def _dense_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    x = inputs[0]
    if not x:
        raise ShapeError("dense needs an input with at least one axis, got a scalar")
    return x[:-1] + (p["units"],)


def _dense_weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
    ws: tuple[tuple[str, Shape], ...] = (("kernel", (inputs[0][-1], p["units"])),)
    return ws + ((("bias", (p["units"],)),) if p["bias"] else ())


def _dense_flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
    return 2 * inputs[0][-1] * size(out) + (size(out) if p["bias"] else 0)


# ---- pooling and shape ----------------------------------------------------------------
def _pool_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    h, w, c = _rank(inputs, (3,), "pooling")
    k = p["size"]
    s = p["stride"] or k
    ho, wo = _conv_out(h, k, s, p["padding"]), _conv_out(w, k, s, p["padding"])
    if ho < 1 or wo < 1:
        raise ShapeError(f"pool size {k} does not fit an input of shape {fmt_shape(inputs[0])}")
    return (ho, wo, c)


def _pool_flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
    return p["size"] * p["size"] * size(out)


def _gap_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    return (_rank(inputs, (3,), "gap")[-1],)


def _flatten_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    if not inputs[0]:
        raise ShapeError("flatten needs an input with at least one axis, got a scalar")
    return (size(inputs[0]),)


def _reshape_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    dims = tuple(p["dims"])
    if size(dims) != size(inputs[0]):
        raise ShapeError(f"reshape to {fmt_shape(dims)} needs {size(dims)} elements, "
                         f"but the input {fmt_shape(inputs[0])} has {size(inputs[0])}")
    return dims


def _row_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    x = inputs[0]
    if len(x) < 2:
        raise ShapeError(f"row needs an input of rank 2 or more, got shape {fmt_shape(x)}")
    if t >= x[0]:
        raise ShapeError(f"row takes row t of the input, but step {t} is past its {x[0]} rows")
    return x[1:]


# ---- merges ----------------------------------------------------------------------------
def _concat_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    first = inputs[0]
    if any(not s for s in inputs):
        raise ShapeError("concat needs inputs with at least one axis, got a scalar")
    if any(len(s) != len(first) for s in inputs):
        raise ShapeError("concat needs inputs of the same rank, got "
                         + " and ".join(fmt_shape(s) for s in inputs))
    if not -len(first) <= p["axis"] < len(first):
        raise ShapeError(f"concat axis {p['axis']} is outside the input's {len(first)} axes")
    axis = p["axis"] % len(first)
    for other in inputs[1:]:
        if any(a != b for i, (a, b) in enumerate(zip(first, other)) if i != axis):
            raise ShapeError(f"concat needs inputs that agree except on axis {p['axis']}, "
                             f"got {fmt_shape(first)} and {fmt_shape(other)}")
    return first[:axis] + (sum(s[axis] for s in inputs),) + first[axis + 1:]


def _broadcast_rule(op: str) -> ShapeFn:
    def rule(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
        return broadcast_shapes(inputs, op)
    return rule


# ---- activations, transforms, norms ------------------------------------------------------
def _same_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    return inputs[0]


def _nonscalar(what: str) -> ShapeFn:
    def rule(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
        if not inputs[0]:
            raise ShapeError(f"{what} needs an input with at least one axis, got a scalar")
        return inputs[0]
    return rule


def _image_shape(what: str) -> ShapeFn:
    def rule(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
        return _rank(inputs, (3,), what)
    return rule


def _batchnorm_weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
    c = inputs[0][-1]
    return (("gamma", (c,)), ("beta", (c,)), ("moving_mean", (c,)), ("moving_variance", (c,)))


# ---- cells ---------------------------------------------------------------------------------
def _cell_shape(name: str) -> ShapeFn:
    def rule(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
        x = inputs[0]
        if len(x) == 3:
            return (x[0], x[1], p["units"])
        if len(x) == 1:
            return (p["units"],)
        raise ShapeError(f"{name} needs an input of rank 3 (conv cell) or rank 1 (dense cell), got shape {fmt_shape(x)}")
    return rule


def _cell_weights(gates: int) -> WeightFn:
    def weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
        x, u = inputs[0], p["units"]
        if len(x) == 3:
            k = p["kernel"]
            return (("kernel", (k, k, x[-1], gates * u)), ("recurrent_kernel", (k, k, u, gates * u)),
                    ("bias", (gates * u,)))
        return (("kernel", (x[-1], gates * u)), ("recurrent_kernel", (u, gates * u)), ("bias", (gates * u,)))
    return weights


def _cell_flops(gates: int) -> FlopFn:
    def flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
        x, u = inputs[0], p["units"]
        positions = size(out) // u
        taps = p["kernel"] ** 2 if len(x) == 3 else 1
        return positions * (2 * taps * (x[-1] + u) * gates * u + 4 * gates * u)
    return flops


def _cell(name: str, gates: int, states: int, doc: str) -> LayerKind:
    return LayerKind(
        name, Category.CELL, doc, _cell_shape(name),
        params=(Param("units", ParamType.INT, minimum=1, maximum=_MAX_UNITS, doc="state channels"),
                Param("kernel", ParamType.INT, 3, positional=False, minimum=1, maximum=_MAX_KERNEL,
                      doc="kernel size of a conv cell")),
        weights=_cell_weights(gates), flops=_cell_flops(gates), gates=gates, states=states,
        label=lambda p, n=name: f"{n}({p['units']})")


def _elu(x: float) -> float:
    return x if x > 0 else math.expm1(x)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _activation(name: str, doc: str, fold: FoldFn | None, zero: ZeroRule) -> LayerKind:
    shape = _nonscalar(name) if name == "softmax" else _same_shape
    return LayerKind(name, Category.ACTIVATION, doc, shape, elementwise=name != "softmax", zero=zero, fold=fold,
                     over_steps=StepRule.NONE if name == "softmax" else StepRule.EACH)


ACTIVATIONS = ("elu", "relu", "tanh", "sigmoid", "softmax", "linear")


def _function(name: str, doc: str, fold: FoldFn | None, zero: ZeroRule, flops: int = 1,
              label: LabelFn | None = None) -> LayerKind:
    """An element-wise function of one input (exp, log, ...)."""
    return LayerKind(name, Category.FUNCTION, doc, _same_shape, elementwise=True, zero=zero, fold=fold,
                     flops=lambda i, p, o: flops * size(o), label=label, over_steps=StepRule.EACH)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _clip_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    if p["lo"] > p["hi"]:
        raise ShapeError(f"clip needs lo <= hi, got lo={fmt_value(p['lo'])} and hi={fmt_value(p['hi'])}")
    return inputs[0]


def _reduction(name: str, doc: str) -> LayerKind:
    return LayerKind(name, Category.TIME, doc, _same_shape, zero=ZeroRule.KEEPS, over_steps=StepRule.REDUCE,
                     label=lambda p, n=name: f"{n} over steps")


UNARY_FUNCTIONS = ("neg", "exp", "log", "sqrt", "abs", "softplus", "clip")
REDUCTIONS = ("sum", "mean", "max")

_POOL_PARAMS = (Param("size", ParamType.INT, 2, minimum=1, maximum=_MAX_KERNEL, doc="window size"),
                Param("stride", ParamType.INT, 0, positional=False, minimum=0, maximum=_MAX_KERNEL,
                      doc="stride (0: same as size)"),
                Param("padding", ParamType.CHOICE, "valid", positional=False, choices=("same", "valid")))

_I, _F = ParamType.INT, ParamType.FLOAT

_ROWS: tuple[LayerKind, ...] = (
    LayerKind("conv", Category.LAYER, "2-D convolution over (height, width, channels)", _conv_shape,
              params=(Param("filters", _I, minimum=1, maximum=_MAX_UNITS, doc="output channels"),
                      Param("kernel", _I, minimum=1, maximum=_MAX_KERNEL, doc="kernel size (square)"),
                      Param("stride", _I, 1, positional=False, minimum=1, maximum=_MAX_KERNEL),
                      Param("padding", ParamType.CHOICE, "same", positional=False, choices=("same", "valid")),
                      Param("dilation", _I, 1, positional=False, minimum=1, maximum=_MAX_KERNEL),
                      _BIAS, _INIT),
              weights=_conv_weights, flops=_conv_flops, zero=ZeroRule.KEEPS_WITHOUT_BIAS,
              label=lambda p: f"conv {p['kernel']}x{p['kernel']}, {p['filters']}"
              + ("" if p["stride"] == 1 else f" /{p['stride']}") + (" valid" if p["padding"] == "valid" else "")),
    LayerKind("dense", Category.LAYER, "fully connected layer on the last axis (on each step of a range)",
              _dense_shape,
              params=(Param("units", _I, minimum=1, maximum=_MAX_UNITS, doc="output units"), _BIAS, _INIT),
              weights=_dense_weights, flops=_dense_flops, zero=ZeroRule.KEEPS_WITHOUT_BIAS,
              label=lambda p: f"dense {p['units']}", over_steps=StepRule.EACH),
    LayerKind("avgpool", Category.POOL, "average pooling", _pool_shape, params=_POOL_PARAMS,
              flops=_pool_flops, zero=ZeroRule.KEEPS, label=lambda p: f"avgpool {p['size']}"),
    LayerKind("maxpool", Category.POOL, "max pooling", _pool_shape, params=_POOL_PARAMS,
              flops=_pool_flops, zero=ZeroRule.KEEPS, label=lambda p: f"maxpool {p['size']}"),
    LayerKind("gap", Category.POOL, "global average pooling: the mean over height and width", _gap_shape,
              flops=lambda i, p, o: size(i[0]), zero=ZeroRule.KEEPS),
    LayerKind("flatten", Category.SHAPE, "flatten to one axis", _flatten_shape, flops=_zero_flops,
              zero=ZeroRule.KEEPS),
    LayerKind("reshape", Category.SHAPE, "reshape to the given dimensions", _reshape_shape,
              params=(Param("dims", ParamType.INTS, doc="the new shape, e.g. reshape(26, 26, 1)"),),
              flops=_zero_flops, zero=ZeroRule.KEEPS,
              label=lambda p: "reshape " + "x".join(str(d) for d in p["dims"])),
    LayerKind("row", Category.SHAPE, "at step t, row t of the input (sequence models over image rows)",
              _row_shape, flops=_zero_flops, zero=ZeroRule.KEEPS, uses_step=True),
    LayerKind("concat", Category.MERGE, "concatenate on an axis (channels by default)", _concat_shape,
              params=(Param("axis", _I, -1, positional=False, minimum=-64, maximum=63),), arity=None,
              flops=_zero_flops),
    LayerKind("add", Category.MERGE, "element-wise sum, written a + b (shapes broadcast)", _broadcast_rule("+"),
              arity=2, label=lambda p: "+", operator="+", elementwise=True, zero=ZeroRule.IDENTITY,
              fold=lambda a, b: a + b, over_steps=StepRule.EACH),
    LayerKind("sub", Category.MERGE, "element-wise difference, written a - b (shapes broadcast)",
              _broadcast_rule("-"), arity=2, label=lambda p: "-", operator="-", elementwise=True,
              zero=ZeroRule.RIGHT_IDENTITY, fold=lambda a, b: a - b, over_steps=StepRule.EACH),
    LayerKind("mul", Category.MERGE, "element-wise product, written a * b (gates; shapes broadcast)",
              _broadcast_rule("*"), arity=2, label=lambda p: "*", operator="*", elementwise=True,
              zero=ZeroRule.ABSORBS, fold=lambda a, b: a * b, over_steps=StepRule.EACH),
    LayerKind("div", Category.MERGE, "element-wise quotient, written a / b (shapes broadcast; IEEE rules for 0)",
              _broadcast_rule("/"), arity=2, label=lambda p: "/", operator="/", elementwise=True,
              fold=lambda a, b: a / b, over_steps=StepRule.EACH),
    _activation("elu", "exponential linear unit", _elu, ZeroRule.KEEPS),
    _activation("relu", "rectified linear unit", lambda x: max(x, 0.0), ZeroRule.KEEPS),
    _activation("tanh", "hyperbolic tangent", math.tanh, ZeroRule.KEEPS),
    _activation("sigmoid", "logistic sigmoid", _sigmoid, ZeroRule.NONE),
    _activation("softmax", "softmax over the last axis", None, ZeroRule.NONE),
    _activation("linear", "identity", lambda x: x, ZeroRule.KEEPS),
    _function("neg", "negation, written -x", lambda x: -x, ZeroRule.KEEPS, label=lambda p: "negate"),
    _function("exp", "e to the x", math.exp, ZeroRule.NONE),
    _function("log", "natural logarithm (log 0 is -inf, as in IEEE arithmetic)", math.log, ZeroRule.NONE),
    _function("sqrt", "square root", math.sqrt, ZeroRule.KEEPS),
    _function("abs", "absolute value", abs, ZeroRule.KEEPS),
    _function("softplus", "log(1 + exp(x)), a smooth relu", _softplus, ZeroRule.NONE, flops=3),
    LayerKind("clip", Category.FUNCTION, "limit every element to lo..hi", _clip_shape,
              params=(Param("lo", _F, doc="smallest value"), Param("hi", _F, doc="largest value")),
              elementwise=True, over_steps=StepRule.EACH,
              label=lambda p: f"clip {fmt_value(p['lo'])}..{fmt_value(p['hi'])}"),
    _reduction("sum", "the sum over a range of steps, such as sum(h[0..t]) (an empty range gives zeros)"),
    _reduction("mean", "the mean over a range of steps, such as mean(h[t-3..t]) (an empty range gives zeros)"),
    _reduction("max", "the element-wise maximum over a range of steps (an empty range gives zeros)"),
    LayerKind("softmax_steps", Category.TIME,
              "softmax over the steps of a range, per element: attention weights, such as "
              "softmax_steps(score[0..last])", _same_shape, flops=lambda i, p, o: 3 * size(o),
              over_steps=StepRule.NORMALISE, label=lambda p: "softmax over steps"),
    LayerKind("dropout", Category.NORM, "dropout while training", _same_shape,
              params=(Param("rate", _F, minimum=0.0, maximum=0.999),), random=True, zero=ZeroRule.KEEPS,
              over_steps=StepRule.EACH),
    LayerKind("batchnorm", Category.NORM, "batch normalisation on the last axis", _nonscalar("batchnorm"),
              params=(Param("momentum", _F, 0.99, positional=False, minimum=0.0, maximum=1.0),
                      Param("eps", _F, 1e-3, positional=False, minimum=0.0)),
              weights=_batchnorm_weights, batch_stats=True),
    LayerKind("standardize", Category.TRANSFORM,
              "per pixel and channel, subtract the batch mean and divide by the batch std",
              _same_shape, params=(Param("eps", _F, 1e-10, positional=False, minimum=0.0),), batch_stats=True),
    LayerKind("gaussian_noise", Category.TRANSFORM, "add std * N(0, 1)", _same_shape,
              params=(Param("std", _F, minimum=0.0),), random=True),
    LayerKind("poisson_noise", Category.TRANSFORM, "add scale * Poisson(lam)", _same_shape,
              params=(Param("scale", _F, minimum=0.0),
                      Param("lam", _F, 1.0, positional=False, minimum=0.0, maximum=1e4)),
              random=True),
    LayerKind("uniform_noise", Category.TRANSFORM, "add scale * U(low, high)", _same_shape,
              params=(Param("scale", _F, minimum=0.0), Param("low", _F, 0.0, positional=False),
                      Param("high", _F, 1.0, positional=False)),
              random=True),
    LayerKind("flip_lr", Category.TRANSFORM, "mirror left-right with probability p", _image_shape("flip_lr"),
              params=(Param("p", _F, 1.0, positional=False, minimum=0.0, maximum=1.0),),
              flops=_zero_flops, random=True),
    LayerKind("blur", Category.TRANSFORM, "Gaussian blur, sigma drawn from a range, applied with probability p",
              _image_shape("blur"),
              params=(Param("sigma", ParamType.FLOATRANGE, positional=False, minimum=0.0),
                      Param("p", _F, 1.0, positional=False, minimum=0.0, maximum=1.0)),
              flops=lambda i, p, o: 2 * 5 * 2 * size(o), random=True),
    _cell("rnn", 1, 1, "simple recurrent cell: tanh(W x + U h[t-1] + b); conv or dense by input rank"),
    _cell("gru", 3, 1, "gated recurrent unit; conv or dense by input rank"),
    _cell("lstm", 4, 2, "long short-term memory (cell state carried inside); conv or dense by input rank"),
)

KINDS: Mapping[str, LayerKind] = {k.name: k for k in _ROWS}
BY_OPERATOR: Mapping[str, LayerKind] = {k.operator: k for k in _ROWS if k.operator}


def kind(name: str) -> LayerKind | None:
    """The catalogue row for a layer kind, or None."""
    return KINDS.get(name)
