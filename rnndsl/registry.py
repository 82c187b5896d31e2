"""The one catalogue of layer kinds.

A kind is one `LayerKind` row: its parameters and their checks, its shape rule, its
weights (so parameter counts and weight sharing can be checked), its FLOPs per sample,
its diagram label and the name of its TensorFlow builder in `rnndsl.tf_layers`
(resolved lazily so that `check` and `render` never import TensorFlow).
Adding a kind is one row here plus a builder and a spec example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

__all__ = [
    "Shape", "Params", "Param", "LayerKind", "ShapeError", "Init",
    "KINDS", "DATASETS", "Dataset", "OPTIMIZERS", "TRAIN_KEYS", "kind",
    "INIT_KINDS", "ACTIVATIONS", "fmt_value", "fmt_shape",
]

Shape = tuple[int, ...]  # one sample's shape, without the batch axis


class ShapeError(Exception):
    """A layer cannot take the shapes it was given (message is user-facing)."""


@dataclass(frozen=True)
class Init:
    """A weight initialiser such as normal(0.05) or glorot."""

    name: str
    args: tuple[float, ...] = ()

    def __str__(self) -> str:
        return self.name + (f"({', '.join(fmt_value(a) for a in self.args)})" if self.args else "")


INIT_KINDS: Mapping[str, int] = {  # name -> number of numeric arguments
    "glorot": 0, "he": 0, "zeros": 0, "ones": 0,
    "normal": 1, "truncnormal": 1, "uniform": 1,
}

REQUIRED: Any = object()


@dataclass(frozen=True)
class Param:
    """One layer parameter: `kind` is int, float, bool, choice, init, floatrange or ints."""

    name: str
    kind: str
    default: Any = REQUIRED
    positional: bool = True
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


class Params(Mapping[str, Any]):
    """Resolved parameter values of one layer use: an immutable, ordered mapping."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | tuple[tuple[str, Any], ...] = ()):
        pairs = tuple(items.items()) if isinstance(items, Mapping) else tuple(items)
        object.__setattr__(self, "_items", pairs)

    def __getitem__(self, key: str) -> Any:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Params) and self._items == other._items

    def __repr__(self) -> str:
        return "Params(" + ", ".join(f"{k}={v!r}" for k, v in self._items) + ")"


ShapeFn = Callable[[tuple[Shape, ...], Params, int], Shape]
WeightFn = Callable[[tuple[Shape, ...], Params], tuple[tuple[str, Shape], ...]]
FlopFn = Callable[[tuple[Shape, ...], Params, Shape], int]
LabelFn = Callable[[Params], str]


def _no_weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
    return ()


def _elementwise_flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
    return _size(out)


def _zero_flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
    return 0


@dataclass(frozen=True)
class LayerKind:
    """One row of the catalogue."""

    name: str
    category: str  # layer | activation | pool | shape | merge | transform | cell | norm
    doc: str
    shape: ShapeFn
    params: tuple[Param, ...] = ()
    arity: int | None = 1  # tensor inputs; None means two or more
    weights: WeightFn = _no_weights
    flops: FlopFn = _elementwise_flops
    label: LabelFn | None = None
    tf: str = ""  # builder name in rnndsl.tf_layers
    random: bool = False  # draws random numbers when it runs
    uses_step: bool = False  # its result depends on the step index t

    @property
    def has_weights(self) -> bool:
        return self.weights is not _no_weights

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def describe(self, p: Params) -> str:
        """The short label used in diagrams and the check table."""
        if self.label is not None:
            return self.label(p)
        shown = [fmt_value(v) for k, v in p.items() if self.param(k) is not None and self.param(k).positional]
        return f"{self.name}({', '.join(shown)})" if shown else self.name

    def n_params(self, inputs: tuple[Shape, ...], p: Params) -> int:
        return sum(_size(s) for _, s in self.weights(inputs, p))


# ---- helpers ------------------------------------------------------------------------
def _size(shape: Shape) -> int:
    return int(math.prod(shape)) if shape else 1


def fmt_value(v: Any) -> str:
    """A parameter value as the language writes it: true, 0.05, 0..0.5."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "..".join(fmt_value(x) for x in v)
    return str(v)


def _rank(inputs: tuple[Shape, ...], ranks: tuple[int, ...], what: str) -> Shape:
    x = inputs[0]
    if len(x) not in ranks:
        want = " or ".join(f"rank {r}" for r in ranks)
        raise ShapeError(f"{what} needs an input of {want} (height, width, channels), got shape {fmt_shape(x)}"
                         if 3 in ranks else f"{what} needs an input of {want}, got shape {fmt_shape(x)}")
    return x


def fmt_shape(s: Shape) -> str:
    """A shape as users read it: (28, 28, 1), (10,)."""
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def _conv_out(n: int, k: int, stride: int, padding: str, dilation: int = 1) -> int:
    eff = (k - 1) * dilation + 1
    if padding == "same":
        return -(-n // stride)
    return (n - eff) // stride + 1


# ---- conv / dense -----------------------------------------------------------------------
_BIAS = Param("bias", "bool", True, positional=False, doc="add a bias")
_INIT = Param("init", "init", Init("glorot"), positional=False, doc="weight initialiser")


def _conv_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    h, w, _ = _rank(inputs, (3,), "conv")
    k, s, d = p["kernel"], p["stride"], p["dilation"]
    ho, wo = (_conv_out(h, k, s, p["padding"], d), _conv_out(w, k, s, p["padding"], d))
    if ho < 1 or wo < 1:
        raise ShapeError(f"conv kernel {k} with padding {p['padding']} does not fit an input of shape {fmt_shape(inputs[0])}")
    return (ho, wo, p["filters"])


def _conv_weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
    cin = inputs[0][-1]
    k = p["kernel"]
    ws: tuple[tuple[str, Shape], ...] = (("kernel", (k, k, cin, p["filters"])),)
    return ws + ((("bias", (p["filters"],)),) if p["bias"] else ())


def _conv_flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
    k, cin = p["kernel"], inputs[0][-1]
    return 2 * k * k * cin * _size(out) + (_size(out) if p["bias"] else 0)


def _dense_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    x = inputs[0]
    if not x:
        raise ShapeError("dense needs an input with at least one axis")
    return x[:-1] + (p["units"],)


def _dense_weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
    ws: tuple[tuple[str, Shape], ...] = (("kernel", (inputs[0][-1], p["units"])),)
    return ws + ((("bias", (p["units"],)),) if p["bias"] else ())


def _dense_flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
    return 2 * inputs[0][-1] * _size(out) + (_size(out) if p["bias"] else 0)


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
    return p["size"] * p["size"] * _size(out)


def _gap_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    return (_rank(inputs, (3,), "gap")[-1],)


def _flatten_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    return (_size(inputs[0]),)


def _reshape_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    dims = tuple(p["dims"])
    if _size(dims) != _size(inputs[0]):
        raise ShapeError(f"reshape to {fmt_shape(dims)} needs {_size(dims)} elements, "
                         f"but the input {fmt_shape(inputs[0])} has {_size(inputs[0])}")
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
    axis = p["axis"] % len(first) if first else 0
    for other in inputs[1:]:
        if len(other) != len(first) or any(a != b for i, (a, b) in enumerate(zip(first, other)) if i != axis):
            raise ShapeError(f"concat needs inputs that agree except on axis {p['axis']}, "
                             f"got {fmt_shape(first)} and {fmt_shape(other)}")
    return first[:axis] + (sum(s[axis] for s in inputs),) + first[axis + 1:]


def _elementwise_shape(op: str) -> ShapeFn:
    def rule(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
        shapes = [s for s in inputs if s != ()]  # () is a scalar constant
        if not shapes:
            return ()
        for other in shapes[1:]:
            if other != shapes[0]:
                raise ShapeError(f"'{op}' needs operands of the same shape, got {fmt_shape(shapes[0])} and {fmt_shape(other)}")
        return shapes[0]
    return rule


# ---- activations, transforms, norms ------------------------------------------------------
def _same_shape(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
    return inputs[0]


def _image_shape(what: str) -> ShapeFn:
    def rule(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
        return _rank(inputs, (3,), what)
    return rule


def _batchnorm_weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
    c = inputs[0][-1]
    return (("gamma", (c,)), ("beta", (c,)), ("moving_mean", (c,)), ("moving_variance", (c,)))


# ---- cells ---------------------------------------------------------------------------------
_GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def _cell_shape(name: str) -> ShapeFn:
    def rule(inputs: tuple[Shape, ...], p: Params, t: int) -> Shape:
        x = inputs[0]
        if len(x) == 3:
            out: Shape = (x[0], x[1], p["units"])
        elif len(x) == 1:
            out = (p["units"],)
        else:
            raise ShapeError(f"{name} needs an input of rank 3 (conv cell) or rank 1 (dense cell), got shape {fmt_shape(x)}")
        return out
    return rule


def _cell_weights(name: str) -> WeightFn:
    def weights(inputs: tuple[Shape, ...], p: Params) -> tuple[tuple[str, Shape], ...]:
        x, u, g = inputs[0], p["units"], _GATES[name]
        if len(x) == 3:
            k = p["kernel"]
            return (("kernel", (k, k, x[-1], g * u)), ("recurrent_kernel", (k, k, u, g * u)), ("bias", (g * u,)))
        return (("kernel", (x[-1], g * u)), ("recurrent_kernel", (u, g * u)), ("bias", (g * u,)))
    return weights


def _cell_flops(name: str) -> FlopFn:
    def flops(inputs: tuple[Shape, ...], p: Params, out: Shape) -> int:
        x, u, g = inputs[0], p["units"], _GATES[name]
        positions = _size(out) // u
        taps = p["kernel"] ** 2 if len(x) == 3 else 1
        return positions * (2 * taps * (x[-1] + u) * g * u + 4 * g * u)
    return flops


def _cell(name: str, doc: str) -> LayerKind:
    return LayerKind(
        name, "cell", doc, _cell_shape(name),
        params=(Param("units", "int", minimum=1, doc="state channels"),
                Param("kernel", "int", 3, positional=False, minimum=1, doc="kernel size of a conv cell")),
        weights=_cell_weights(name), flops=_cell_flops(name), tf=f"{name}_cell",
        label=lambda p, n=name: f"{n}({p['units']})")


def _activation(name: str, doc: str) -> LayerKind:
    return LayerKind(name, "activation", doc, _same_shape, tf="activation")


ACTIVATIONS = ("elu", "relu", "tanh", "sigmoid", "softmax", "linear")

_POOL_PARAMS = (Param("size", "int", 2, minimum=1, doc="window size"),
                Param("stride", "int", 0, positional=False, minimum=0, doc="stride (0: same as size)"),
                Param("padding", "choice", "valid", positional=False, choices=("same", "valid")))

_ROWS: tuple[LayerKind, ...] = (
    LayerKind("conv", "layer", "2-D convolution over (height, width, channels)", _conv_shape,
              params=(Param("filters", "int", minimum=1, doc="output channels"),
                      Param("kernel", "int", minimum=1, doc="kernel size (square)"),
                      Param("stride", "int", 1, positional=False, minimum=1),
                      Param("padding", "choice", "same", positional=False, choices=("same", "valid")),
                      Param("dilation", "int", 1, positional=False, minimum=1),
                      _BIAS, _INIT),
              weights=_conv_weights, flops=_conv_flops, tf="conv",
              label=lambda p: f"conv {p['kernel']}x{p['kernel']}, {p['filters']}"
              + ("" if p["stride"] == 1 else f" /{p['stride']}") + (" valid" if p["padding"] == "valid" else "")),
    LayerKind("dense", "layer", "fully connected layer on the last axis", _dense_shape,
              params=(Param("units", "int", minimum=1, doc="output units"), _BIAS, _INIT),
              weights=_dense_weights, flops=_dense_flops, tf="dense",
              label=lambda p: f"dense {p['units']}"),
    LayerKind("avgpool", "pool", "average pooling", _pool_shape, params=_POOL_PARAMS,
              flops=_pool_flops, tf="avgpool", label=lambda p: f"avgpool {p['size']}"),
    LayerKind("maxpool", "pool", "max pooling", _pool_shape, params=_POOL_PARAMS,
              flops=_pool_flops, tf="maxpool", label=lambda p: f"maxpool {p['size']}"),
    LayerKind("gap", "pool", "global average pooling: the mean over height and width", _gap_shape,
              flops=lambda i, p, o: _size(i[0]), tf="gap"),
    LayerKind("flatten", "shape", "flatten to one axis", _flatten_shape, flops=_zero_flops, tf="flatten"),
    LayerKind("reshape", "shape", "reshape to the given dimensions", _reshape_shape,
              params=(Param("dims", "ints", doc="the new shape, e.g. reshape(26, 26, 1)"),),
              flops=_zero_flops, tf="reshape",
              label=lambda p: "reshape " + "x".join(str(d) for d in p["dims"])),
    LayerKind("row", "shape", "at step t, row t of the input (sequence models over image rows)",
              _row_shape, flops=_zero_flops, tf="row", uses_step=True),
    LayerKind("concat", "merge", "concatenate on an axis (channels by default)", _concat_shape,
              params=(Param("axis", "int", -1, positional=False),), arity=None,
              flops=_zero_flops, tf="concat"),
    LayerKind("add", "merge", "element-wise sum, written a + b", _elementwise_shape("+"), arity=2,
              tf="add", label=lambda p: "+"),
    LayerKind("sub", "merge", "element-wise difference, written a - b", _elementwise_shape("-"), arity=2,
              tf="sub", label=lambda p: "-"),
    LayerKind("mul", "merge", "element-wise product, written a * b (gates)", _elementwise_shape("*"),
              arity=2, tf="mul", label=lambda p: "*"),
    _activation("elu", "exponential linear unit"),
    _activation("relu", "rectified linear unit"),
    _activation("tanh", "hyperbolic tangent"),
    _activation("sigmoid", "logistic sigmoid"),
    _activation("softmax", "softmax over the last axis"),
    _activation("linear", "identity"),
    LayerKind("dropout", "norm", "dropout while training", _same_shape,
              params=(Param("rate", "float", minimum=0.0, maximum=0.999),), tf="dropout", random=True),
    LayerKind("batchnorm", "norm", "batch normalisation on the last axis", _same_shape,
              params=(Param("momentum", "float", 0.99, positional=False, minimum=0.0, maximum=1.0),
                      Param("eps", "float", 1e-3, positional=False, minimum=0.0)),
              weights=_batchnorm_weights, tf="batchnorm"),
    LayerKind("standardize", "transform", "per pixel and channel, subtract the batch mean and divide by the batch std",
              _same_shape, params=(Param("eps", "float", 1e-10, positional=False, minimum=0.0),),
              tf="standardize"),
    LayerKind("gaussian_noise", "transform", "add std * N(0, 1)", _same_shape,
              params=(Param("std", "float", minimum=0.0),), tf="gaussian_noise", random=True),
    LayerKind("poisson_noise", "transform", "add scale * Poisson(lam)", _same_shape,
              params=(Param("scale", "float", minimum=0.0), Param("lam", "float", 1.0, positional=False, minimum=0.0)),
              tf="poisson_noise", random=True),
    LayerKind("uniform_noise", "transform", "add scale * U(low, high)", _same_shape,
              params=(Param("scale", "float", minimum=0.0), Param("low", "float", 0.0, positional=False),
                      Param("high", "float", 1.0, positional=False)),
              tf="uniform_noise", random=True),
    LayerKind("flip_lr", "transform", "mirror left-right with probability p", _image_shape("flip_lr"),
              params=(Param("p", "float", 1.0, positional=False, minimum=0.0, maximum=1.0),),
              flops=_zero_flops, tf="flip_lr", random=True),
    LayerKind("blur", "transform", "Gaussian blur, sigma drawn from a range, applied with probability p",
              _image_shape("blur"),
              params=(Param("sigma", "floatrange", positional=False, minimum=0.0),
                      Param("p", "float", 1.0, positional=False, minimum=0.0, maximum=1.0)),
              flops=lambda i, p, o: 2 * 5 * 2 * _size(o), tf="blur", random=True),
    _cell("rnn", "simple recurrent cell: tanh(W x + U h[t-1] + b); conv or dense by input rank"),
    _cell("gru", "gated recurrent unit; conv or dense by input rank"),
    _cell("lstm", "long short-term memory (cell state carried inside); conv or dense by input rank"),
)

KINDS: Mapping[str, LayerKind] = {k.name: k for k in _ROWS}


def kind(name: str) -> LayerKind | None:
    """The catalogue row for a layer kind, or None."""
    return KINDS.get(name)


# ---- datasets and training settings ---------------------------------------------------------
@dataclass(frozen=True)
class Dataset:
    name: str
    shape: Shape
    classes: int
    doc: str


DATASETS: Mapping[str, Dataset] = {
    "mnist": Dataset("mnist", (28, 28, 1), 10, "MNIST digits, 28x28x1, pixels in [0, 1]"),
    "cifar10": Dataset("cifar10", (32, 32, 3), 10, "CIFAR-10, 32x32x3, raw 0-255 values"),
}

OPTIMIZERS: Mapping[str, tuple[Param, ...]] = {
    "adam": (Param("lr", "float", 1e-3, minimum=0.0), Param("beta1", "float", 0.9, minimum=0.0, maximum=1.0),
             Param("beta2", "float", 0.999, minimum=0.0, maximum=1.0), Param("eps", "float", 1e-8, minimum=0.0)),
    "sgd": (Param("lr", "float", 1e-2, minimum=0.0), Param("momentum", "float", 0.0, minimum=0.0, maximum=1.0)),
    "rmsprop": (Param("lr", "float", 1e-3, minimum=0.0), Param("rho", "float", 0.9, minimum=0.0, maximum=1.0)),
}

TRAIN_KEYS: Mapping[str, Param] = {
    "batch": Param("batch", "int", 32, minimum=1, doc="mini-batch size"),
    "epochs": Param("epochs", "int", 1, minimum=1, doc="passes over the training set"),
    "seed": Param("seed", "int", 0, minimum=0, doc="random seed"),
}
