"""The custom Keras layers the builders need, registered for `.keras` saving and loading."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from ...catalogue import Init

__all__ = ["initializer", "ZeroState", "LearnedState", "Constant", "Elementwise", "Function", "StepReduce",
           "StepSoftmax", "Row", "Cell", "Freeze", "StackSteps", "CUSTOM_OBJECTS", "hold", "masked_reduce",
           "masked_softmax"]

_PKG = "rnndsl"


def initializer(init: Init) -> keras.initializers.Initializer:
    """The Keras initialiser for an rnndsl `init=` value."""
    a = init.args
    return {
        "glorot": lambda: keras.initializers.GlorotUniform(),
        "he": lambda: keras.initializers.HeNormal(),
        "zeros": lambda: keras.initializers.Zeros(),
        "ones": lambda: keras.initializers.Ones(),
        "normal": lambda: keras.initializers.RandomNormal(0.0, a[0]),
        "truncnormal": lambda: keras.initializers.TruncatedNormal(0.0, a[0]),
        "uniform": lambda: keras.initializers.RandomUniform(-a[0], a[0]),
    }[init.name]()


# ---- custom layers ---------------------------------------------------------------------
class _TrainOnly(layers.Layer):
    """A random transform that may be train-only (`@train`): the identity when not training.

    Subclasses define `transform(x)`.
    """

    def __init__(self, train_only: bool = False, **kw: Any):
        super().__init__(**kw)
        self.train_only = train_only
        self.seed_gen = keras.random.SeedGenerator()

    def call(self, x, training=None):
        if self.train_only and not training:
            return x
        return self.transform(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "train_only": self.train_only}


@keras.saving.register_keras_serializable(_PKG)
class GaussianNoise(_TrainOnly):
    def __init__(self, std: float, **kw: Any):
        super().__init__(**kw)
        self.std = std

    def transform(self, x):
        return x + self.std * keras.random.normal(ops.shape(x), seed=self.seed_gen)

    def get_config(self) -> dict:
        return {**super().get_config(), "std": self.std}


@keras.saving.register_keras_serializable(_PKG)
class UniformNoise(_TrainOnly):
    def __init__(self, scale: float, low: float, high: float, **kw: Any):
        super().__init__(**kw)
        self.scale, self.low, self.high = scale, low, high

    def transform(self, x):
        return x + self.scale * keras.random.uniform(ops.shape(x), self.low, self.high, seed=self.seed_gen)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "low": self.low, "high": self.high}


@keras.saving.register_keras_serializable(_PKG)
class PoissonNoise(_TrainOnly):
    def __init__(self, scale: float, lam: float, **kw: Any):
        super().__init__(**kw)
        self.scale, self.lam = scale, lam

    def transform(self, x):
        # Inverse-CDF sampling over k = 0..K-1 (K >= lam + 8 sqrt(lam) + 12, so the mass
        # left out is below float precision): plain element-wise ops, so it also compiles
        # under XLA, where tf.random.poisson does not.
        K = int(self.lam + 8 * self.lam ** 0.5 + 12)
        k = np.arange(K)
        log_pmf = -self.lam + k * np.log(max(self.lam, 1e-30)) - np.array([math.lgamma(i + 1) for i in k])
        cdf = ops.convert_to_tensor(np.cumsum(np.exp(log_pmf))[:-1].astype("float32"))
        u = keras.random.uniform(ops.shape(x), seed=self.seed_gen)
        noise = ops.sum(ops.cast(u[..., None] > cdf, x.dtype), axis=-1)
        return x + self.scale * noise

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "lam": self.lam}


@keras.saving.register_keras_serializable(_PKG)
class FlipLR(_TrainOnly):
    def __init__(self, p: float, **kw: Any):
        super().__init__(**kw)
        self.p = p

    def transform(self, x):
        flipped = ops.flip(x, axis=2)
        if self.p >= 1.0:
            return flipped
        pick = keras.random.uniform((ops.shape(x)[0], 1, 1, 1), seed=self.seed_gen) < self.p
        return ops.where(pick, flipped, x)

    def get_config(self) -> dict:
        return {**super().get_config(), "p": self.p}


def _pad_symmetric(x, axis: int):
    """x padded by 2 on both sides of `axis`, mirrored with the edge repeated (NumPy's `symmetric`; the Keras
    backends do not all pad that way, so it is two flipped slices)."""
    n = x.shape[axis]
    first = ops.flip(ops.take(x, [0, 1], axis=axis), axis=axis)
    end = ops.flip(ops.take(x, [n - 2, n - 1], axis=axis), axis=axis)
    return ops.concatenate([first, x, end], axis=axis)


@keras.saving.register_keras_serializable(_PKG)
class Blur(_TrainOnly):
    """Separable Gaussian blur, radius 2, sigma ~ U(lo, hi) per example, applied with probability p."""

    def __init__(self, sigma: tuple[float, float], p: float, **kw: Any):
        super().__init__(**kw)
        self.sigma, self.p = tuple(sigma), p

    def transform(self, x):
        n = ops.shape(x)[0]
        lo, hi = self.sigma
        sigma = keras.random.uniform((n, 1), lo, hi, seed=self.seed_gen) + 1e-6
        d = ops.convert_to_tensor([-2.0, -1.0, 0.0, 1.0, 2.0])
        w = ops.exp(-(d[None, :] ** 2) / (2.0 * sigma ** 2))
        w = w / ops.sum(w, axis=1, keepdims=True)  # [n, 5]
        pad = _pad_symmetric(_pad_symmetric(x, 1), 2)
        h, wd = ops.shape(x)[1], ops.shape(x)[2]
        rows = sum(w[:, i, None, None, None] * pad[:, 2:2 + h, i:i + wd, :] for i in range(5))
        rows = _pad_symmetric(rows, 1)
        out = sum(w[:, i, None, None, None] * rows[:, i:i + h, :, :] for i in range(5))
        if self.p >= 1.0:
            return out
        pick = keras.random.uniform((n, 1, 1, 1), seed=self.seed_gen) < self.p
        return ops.where(pick, out, x)

    def get_config(self) -> dict:
        return {**super().get_config(), "sigma": list(self.sigma), "p": self.p}


@keras.saving.register_keras_serializable(_PKG)
class Standardize(layers.Layer):
    """Per pixel and channel: (x - batch mean) / (batch std + eps), in training and at test."""

    def __init__(self, eps: float = 1e-10, **kw: Any):
        super().__init__(**kw)
        self.eps = eps

    def call(self, x):
        mean = ops.mean(x, axis=0, keepdims=True)
        std = ops.std(x, axis=0, keepdims=True)
        return (x - mean) / (std + self.eps)

    def get_config(self) -> dict:
        return {**super().get_config(), "eps": self.eps}


@keras.saving.register_keras_serializable(_PKG)
class Row(layers.Layer):
    """Row `index` of each example: the `row` kind's slice of an image, and step t of a sequence input."""

    def __init__(self, index: int, **kw: Any):
        super().__init__(**kw)
        self.index = index

    def call(self, x):
        return x[:, self.index]

    def get_config(self) -> dict:
        return {**super().get_config(), "index": self.index}


def hold(new, previous, t, lengths):
    """Masking at step t (a number, or a tensor inside a loop): `new` where the sequence is still running
    (t < its length), else `previous`."""
    running = ops.cast(ops.cast(lengths, "int32") > ops.cast(t, "int32"), new.dtype)
    running = ops.reshape(running, (-1,) + (1,) * (len(new.shape) - 1))
    return running * new + (1.0 - running) * previous


@keras.saving.register_keras_serializable(_PKG)
class Freeze(layers.Layer):
    """Masking: at step `index`, keep the new value where the sequence is still running, else the previous one.

    Called on [new, previous, lengths]; past a sequence's end its states stop changing, so a
    read of the last step gives each example's own last step.
    """

    def __init__(self, index: int, **kw: Any):
        super().__init__(**kw)
        self.index = index

    def call(self, inputs):
        new, previous, lengths = inputs
        return hold(new, previous, self.index, lengths)

    def get_config(self) -> dict:
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(_PKG)
class StackSteps(layers.Layer):
    """A per-step output: the values of every step stacked on a time axis (batch, T, ...)."""

    def call(self, xs):
        return ops.stack(list(xs), axis=1)


@keras.saving.register_keras_serializable(_PKG)
class Elementwise(layers.Layer):
    """a + b, a - b, a * b or a / b over tensors, where either side may be a fixed number.

    Operands broadcast like NumPy over their per-example shapes: `expand` lists, per tensor
    operand, the axes to insert so that every operand has the batch axis first, then (over a
    range of steps) the steps axis, then its own axes aligned on the right.
    """

    def __init__(self, op: str, const: float | None = None, const_left: bool = False,
                 expand: list[list[int]] | None = None, **kw: Any):
        super().__init__(**kw)
        self.op, self.const, self.const_left = op, const, const_left
        self.expand = [list(e) for e in expand] if expand else None

    def call(self, inputs):
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if self.expand:
            for i, axes in enumerate(self.expand):
                for axis in axes:
                    xs[i] = ops.expand_dims(xs[i], axis)
        if self.const is not None:
            xs.insert(0 if self.const_left else 1, self.const)
        a, b = xs
        if self.op == "add":
            return a + b
        if self.op == "sub":
            return a - b
        return a * b if self.op == "mul" else a / b

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "const": self.const, "const_left": self.const_left,
                "expand": self.expand}


@keras.saving.register_keras_serializable(_PKG)
class Function(layers.Layer):
    """An element-wise function: neg, exp, log, sqrt, abs, softplus, or clip to lo..hi."""

    def __init__(self, fn: str, lo: float | None = None, hi: float | None = None, **kw: Any):
        super().__init__(**kw)
        self.fn, self.lo, self.hi = fn, lo, hi

    def call(self, x):
        if self.fn == "clip":
            return ops.clip(x, self.lo, self.hi)
        return {"neg": ops.negative, "exp": ops.exp, "log": ops.log, "sqrt": ops.sqrt, "abs": ops.abs,
                "softplus": ops.softplus}[self.fn](x)

    def get_config(self) -> dict:
        return {**super().get_config(), "fn": self.fn, "lo": self.lo, "hi": self.hi}


def _step_mask(steps: list[int], lengths):
    """(batch, steps): whether each step of a range lies inside each sequence."""
    return ops.convert_to_tensor(np.asarray(steps, dtype="int32"))[None, :] < ops.cast(lengths, "int32")[:, None]


def _on_steps_axis(mask, x):
    """A (batch, steps) mask shaped to broadcast over x (batch, steps, ...)."""
    return ops.reshape(mask, (ops.shape(mask)[0], ops.shape(mask)[1]) + (1,) * (len(x.shape) - 2))


def masked_reduce(op: str, x, mask):
    """sum / mean / max over the steps axis (axis 1) of the steps where `mask` (batch, steps) holds;
    zeros where it holds at no step (as an empty range gives)."""
    mask = _on_steps_axis(mask, x)
    fmask = ops.cast(mask, x.dtype)
    count = ops.sum(fmask, axis=1)
    if op == "max":
        out = ops.max(ops.where(mask, x, ops.full_like(x, -3.0e38)), axis=1)
        return ops.where(count > 0, out, ops.zeros_like(out))
    total = ops.sum(x * fmask, axis=1)
    return total if op == "sum" else total / ops.maximum(count, 1.0)


def masked_softmax(x, mask):
    """Softmax over the steps axis (axis 1), per element, of the steps where `mask` (batch, steps) holds."""
    mask = _on_steps_axis(mask, x)
    x = ops.where(mask, x, ops.full_like(x, -1.0e30))
    e = ops.exp(x - ops.max(x, axis=1, keepdims=True)) * ops.cast(mask, x.dtype)
    return e / ops.maximum(ops.sum(e, axis=1, keepdims=True), 1e-30)


@keras.saving.register_keras_serializable(_PKG)
class StepReduce(layers.Layer):
    """sum / mean / max over the steps axis (axis 1) of a range; with lengths, over the steps each sequence has.

    A sequence with none of the range's steps gets zeros (as an empty range does).
    """

    def __init__(self, op: str, steps: list[int], **kw: Any):
        super().__init__(**kw)
        self.op, self.steps = op, [int(s) for s in steps]

    def call(self, inputs):
        x, lengths = (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) else (inputs, None)
        if lengths is None:
            return {"sum": ops.sum, "mean": ops.mean, "max": ops.max}[self.op](x, axis=1)
        return masked_reduce(self.op, x, _step_mask(self.steps, lengths))

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "steps": self.steps}


@keras.saving.register_keras_serializable(_PKG)
class StepSoftmax(layers.Layer):
    """Softmax over the steps axis (axis 1) of a range, per element; with lengths, over each sequence's steps."""

    def __init__(self, steps: list[int], **kw: Any):
        super().__init__(**kw)
        self.steps = [int(s) for s in steps]

    def call(self, inputs):
        x, lengths = (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) else (inputs, None)
        if x.shape[1] == 1:  # one step: its weight is 1 (where the sequence has it)
            ones = ops.ones_like(x)
            return ones if lengths is None else ones * ops.cast(_on_steps_axis(_step_mask(self.steps, lengths), x),
                                                                x.dtype)
        if lengths is None:
            return ops.softmax(x, axis=1)
        return masked_softmax(x, _step_mask(self.steps, lengths))

    def get_config(self) -> dict:
        return {**super().get_config(), "steps": self.steps}


@keras.saving.register_keras_serializable(_PKG)
class ZeroState(layers.Layer):
    """The zero initial state of a stream, sized to the batch of `reference`."""

    def __init__(self, state_shape: tuple[int, ...], **kw: Any):
        super().__init__(**kw)
        self.state_shape = tuple(state_shape)

    def call(self, reference):
        return ops.zeros((ops.shape(reference)[0], *self.state_shape), dtype=reference.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "state_shape": list(self.state_shape)}


@keras.saving.register_keras_serializable(_PKG)
class Constant(layers.Layer):
    """A number as a tensor of one value per example (a per-sample scalar)."""

    def __init__(self, value: float, **kw: Any):
        super().__init__(**kw)
        self.value = float(value)

    def call(self, reference):
        return ops.full((ops.shape(reference)[0],), self.value, dtype=reference.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "value": self.value}


@keras.saving.register_keras_serializable(_PKG)
class LearnedState(layers.Layer):
    """A learned tensor broadcast over the batch: an initial state (`init h = learned`) or a `param`.

    `init` is the rnndsl initialiser as [name, *args] (zeros by default, as for an initial state).
    """

    def __init__(self, state_shape: tuple[int, ...], init: list | None = None, **kw: Any):
        super().__init__(**kw)
        self.state_shape = tuple(state_shape)
        self.init = list(init) if init else ["zeros"]
        fill = initializer(Init(str(self.init[0]), tuple(float(a) for a in self.init[1:])))
        self.value = self.add_weight(name="value", shape=self.state_shape, initializer=fill)

    def call(self, reference):
        return ops.broadcast_to(self.value[None], (ops.shape(reference)[0], *self.state_shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "state_shape": list(self.state_shape), "init": self.init}


@keras.saving.register_keras_serializable(_PKG)
class Cell(layers.Layer):
    """rnn / gru / lstm cell, conv (rank-3 input, `same` padding) or dense (rank 1).

    Called on [x, h] (or [x, h, c] for lstm); returns h (or [h, c]).  Weights: kernel,
    recurrent_kernel and bias, gates stacked on the last axis, as counted by the registry.
    """

    GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # the catalogue's `gates` (a saved model needs them without it)

    def __init__(self, cell: str, units: int, kernel: int = 3, **kw: Any):
        super().__init__(**kw)
        self.cell, self.units, self.kernel_size = cell, units, kernel

    def build(self, input_shape):
        x_shape = input_shape[0]
        self.conv = len(x_shape) == 4
        g, u, k, cin = self.GATES[self.cell], self.units, self.kernel_size, x_shape[-1]
        in_shape = (k, k, cin, g * u) if self.conv else (cin, g * u)
        rec_shape = (k, k, u, g * u) if self.conv else (u, g * u)
        self.kernel = self.add_weight(name="kernel", shape=in_shape, initializer="glorot_uniform")
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=rec_shape, initializer="orthogonal"
                                                if not self.conv else "glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(g * u,), initializer="zeros")

    def _mix(self, x, w):
        if self.conv:
            return ops.conv(x, w, padding="same")
        return ops.matmul(x, w)

    def call(self, inputs):
        return self.recur(self.project(inputs[0]), *inputs[1:])

    def project(self, x):
        """The input's contribution to every gate (no state in it: the looped lowering computes it for all
        steps at once, before the loop)."""
        return self._mix(x, self.kernel) + self.bias

    def recur(self, xw, h, c=None):
        """One step from the projected input: h (or [h, c] for lstm)."""
        u = self.units
        if self.cell == "rnn":
            return ops.tanh(xw + self._mix(h, self.recurrent_kernel))
        # (one split, not a slice per gate: each slice's gradient is a zero-padded copy of all the gates)
        if self.cell == "gru":
            x_zr, x_n = ops.split(xw, [2 * u], axis=-1)
            u_zr, u_n = ops.split(self.recurrent_kernel, [2 * u], axis=-1)
            z, r = ops.split(ops.sigmoid(x_zr + self._mix(h, u_zr)), 2, axis=-1)
            n = ops.tanh(x_n + self._mix(r * h, u_n))
            return (1.0 - z) * n + z * h
        i, f, g, o = ops.split(xw + self._mix(h, self.recurrent_kernel), 4, axis=-1)
        i, f, g, o = ops.sigmoid(i), ops.sigmoid(f), ops.tanh(g), ops.sigmoid(o)
        c_new = f * c + i * g
        return [o * ops.tanh(c_new), c_new]

    def get_config(self) -> dict:
        return {**super().get_config(), "cell": self.cell, "units": self.units, "kernel": self.kernel_size}


CUSTOM_OBJECTS = {cls.__name__: cls for cls in (GaussianNoise, UniformNoise, PoissonNoise, FlipLR, Blur,
                                                Standardize, Row, Elementwise, ZeroState, LearnedState, Constant, Cell,
                                                Freeze, StackSteps, Function, StepReduce, StepSoftmax)}

