"""The loop over steps of the looped lowering, one small function per Keras backend.

Everything else in the lowering is `keras.ops`; only the loop itself differs, because each
backend differentiates a loop in its own way:

* TensorFlow: `tf.while_loop`, the sequences it reads unstacked into TensorArrays and the
  sequences it writes collected in TensorArrays.  A TensorArray read's gradient adds into one
  step; the gradient of a gather (`ops.take(seq, t, axis=1)`) of a tensor captured by the loop
  builds a whole (batch, T, ...) tensor at every step, which made the backward pass quadratic
  in T.  (`keras.ops.scan` on TensorFlow also uses TensorArrays, but requires each step's
  output to have the carry's structure, which a loop that collects some streams does not.)
* JAX: `jax.lax.scan` over the sequences (time-major), with a static length: JAX
  differentiates `scan` in reverse mode (not `while_loop`), and the per-step slices and the
  stacked outputs are scan's own, linear in T.
* PyTorch (and any other backend): a Python loop; eager autograd records each step.

`loop` is the one entry point; it picks the function of the running backend.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
from keras import ops

__all__ = ["loop", "time_major"]

Body = Callable[[Any, Any, dict], tuple[Any, dict]]


def time_major(seq):
    """(batch, T, ...) <-> (T, batch, ...)."""
    return ops.transpose(seq, [1, 0] + list(range(2, len(seq.shape))))


def loop(body: Body, carry, xs: dict, T: int, reverse: bool, outputs: list[str]) -> tuple[Any, dict]:
    """Run `body(t, carry, x_t) -> (carry, y_t)` over the steps t = 0..T-1 (T-1..0 when `reverse`).

    `xs` are sequences (batch, T, ...) the body reads one step of (`x_t[k]` is `xs[k][:, t]`);
    `y_t` holds a value (batch, ...) for each name in `outputs`, returned as sequences (batch,
    T, ...) indexed by step.  `t` is a scalar int32 tensor; `carry` any nest of tensors.
    """
    fn = {"tensorflow": _loop_tensorflow, "jax": _loop_jax}.get(keras.backend.backend(), _loop_python)
    return fn(body, carry, xs, T, reverse, outputs)


def _loop_tensorflow(body: Body, carry, xs: dict, T: int, reverse: bool, outputs: list[str]):
    """tf.while_loop with TensorArrays in and out (see the module's docstring: linear gradients in T)."""
    import tensorflow as tf

    arrays = {k: tf.TensorArray(v.dtype, size=T, clear_after_read=False).unstack(time_major(v))
              for k, v in xs.items()}
    collected = {k: tf.TensorArray(tf.float32, size=T, element_shape=None) for k in outputs}

    def step(i, carry, collected):
        t = T - 1 - i if reverse else i
        carry, ys = body(t, carry, {k: a.read(t) for k, a in arrays.items()})
        return i + 1, carry, {k: steps.write(t, ys[k]) for k, steps in collected.items()}

    _, carry, collected = tf.while_loop(lambda i, *_: i < T, step, (tf.constant(0), carry, collected),
                                        maximum_iterations=T)
    return carry, {k: time_major(steps.stack()) for k, steps in collected.items()}


def _loop_jax(body: Body, carry, xs: dict, T: int, reverse: bool, outputs: list[str]):
    """jax.lax.scan with a static length (reverse-differentiable, unlike a while loop)."""
    import jax

    seq = {k: time_major(v) for k, v in xs.items()}
    seq["__t"] = ops.arange(T, dtype="int32")

    def step(carry, x):
        t = x.pop("__t")
        carry, ys = body(t, carry, x)
        return carry, {k: ys[k] for k in outputs}

    carry, ys = jax.lax.scan(step, carry, seq, length=T, reverse=reverse)
    return carry, {k: time_major(v) for k, v in ys.items()}


def _loop_python(body: Body, carry, xs: dict, T: int, reverse: bool, outputs: list[str]):
    """A Python loop (PyTorch: eager autograd records every step)."""
    ys: dict[str, list] = {k: [None] * T for k in outputs}
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        carry, y = body(ops.convert_to_tensor(t, "int32"), carry, {k: v[:, t] for k, v in xs.items()})
        for k in outputs:
            ys[k][t] = y[k]
    return carry, {k: ops.stack(v, axis=1) for k, v in ys.items()}
