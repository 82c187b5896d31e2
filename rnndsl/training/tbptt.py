"""Truncated backpropagation through time: long sequences in chunks, the state carried, gradients cut between.

The spec runs step by step (the step function of the looped lowering, `StepFunctions`, which
carries every stream's delay buffer and every LSTM cell state); each chunk of `k` steps is one
update: forward through its steps from the state the previous chunk left (with no gradient into
that state), the losses of the per-step targets at its valid steps, and, on the last chunk, the
per-sequence targets.  The step returns the batch's loss and metric sums like the ordinary one.

What is shared: cutting the batch into chunks, the chunk's losses and metrics (`_chunk_terms`,
keras.ops) and the sums.  What is each backend's own is one small chunk function,
`chunk(xs, ys, lengths, state, last) -> (state, loss, stats)`:
TensorFlow runs the chunk's steps in a `tf.while_loop` under a `GradientTape`; JAX runs them in a
Python loop under `jax.jit`, as a pure function of the variables' values (`keras.StatelessScope`
maps each Keras variable to its value; the new values are written back after each update, as
step.py's JAX step does); PyTorch runs them eagerly, `loss.backward()`, `optimizer.apply`, and
detaches the state it carries on.
"""

from __future__ import annotations

from functools import partial
from typing import Sequence

import keras
from keras import ops

from ..backends.keras import Head, KerasModels
from ..backends.keras.looped import LoopedProgram, StepFunctions
from .step import _METRICS, _head_terms, _mask, floats, torch_update

__all__ = ["make_tbptt_step"]


def make_tbptt_step(models: KerasModels, optimizer: keras.optimizers.Optimizer, heads: Sequence[Head], k: int,
                    steps: int):
    """`step(x, y, lengths=None) -> (loss, metric sums)` over a batch, one update per chunk of `k` steps.

    x, y and lengths are numpy arrays (x a dict by input name when the spec has several); the
    update runs on Keras' backend."""
    program = next((layer for layer in models.model.layers if isinstance(layer, LoopedProgram)), None)
    if program is None:
        raise ValueError("truncated backpropagation needs the looped lowering")
    fns = StepFunctions(program)  # raises NotStreamable when the spec cannot run step by step
    heads = tuple(heads)
    names = [i.name for i in fns.inputs]
    backend = keras.backend.backend()
    make = {"tensorflow": _tf_chunk, "jax": _jax_chunk, "torch": _torch_chunk}[backend]
    chunk = make(models, optimizer, heads, fns)

    def step(x, y, lengths=None):
        xs = dict(x) if isinstance(x, dict) else {names[0]: x}
        xs = {name: xs[name] for name in names}  # (a masked spec's lengths come separately)
        ys = dict(y) if isinstance(y, dict) else {heads[0].output.name: y}
        lengths = None if lengths is None else ops.convert_to_tensor(lengths, "int32")
        state = fns.initial(int(xs[names[0]].shape[0]))
        total, sums = 0.0, None
        chunks = -(-steps // k)
        for t0 in range(0, steps, k):
            t1 = min(steps, t0 + k)
            xc = {name: ops.convert_to_tensor(v[:, t0:t1]) for name, v in xs.items()}
            yc = {h.output.name: ops.convert_to_tensor(ys[h.output.name][:, t0:t1] if h.output.per_step
                                                       else ys[h.output.name]) for h in heads}
            state, loss, stats = chunk(xc, yc, lengths, state, t1 == steps)
            total += float(loss) / chunks  # the mean of the chunks' losses
            sums = [[a, b] for a, b in stats] if sums is None else [[s[0] + a, s[1] + b] for s, (a, b) in zip(sums, stats)]
        return floats(total, [(a, b) for a, b in sums or []])

    return step


def _has_target(heads, last: bool) -> bool:
    """Whether a chunk has a loss: a per-step target, or the last chunk (a chunk with none only carries the state)."""
    return last or any(h.output.per_step for h in heads)


def _chunk_terms(heads, outs: dict, final: dict, ys: dict, lengths, t0, n: int, last: bool):
    """(loss, [(metric sum, count), ...]) of one chunk: `outs` the per-step outputs (batch, n, ...), `final`
    the per-sequence outputs at the chunk's last step, `t0` the step it started at (keras.ops)."""
    loss = 0.0
    stats = []
    for h in heads:  # in the heads' order, as the metric names are
        name = h.output.name
        if h.output.per_step:
            valid = None if lengths is None else _mask(lengths - t0, n)
            term, parts = _head_terms(h, outs[name], ys[name], valid)
        elif last:
            term, parts = _head_terms(h, final[name], ys[name], None)
        else:  # a per-sequence target counts on the last chunk only
            zero = ops.convert_to_tensor(0.0)
            term, parts = 0.0, [(zero, zero)] * len(_METRICS[h.output.target])
        loss += term
        stats.extend(parts)
    return ops.convert_to_tensor(loss), stats


def _run_steps(heads, fns: StepFunctions, xs: dict, lengths, state, n: int):
    """The chunk's steps one after another (a Python loop): per-step outputs stacked (batch, n, ...), the
    per-sequence ones at its last step, and the state it leaves."""
    per_step = [h.output.name for h in heads if h.output.per_step]
    steps_out = {name: [] for name in per_step}
    outs = {}
    for i in range(n):
        outs, state = fns.advance({name: v[:, i] for name, v in xs.items()}, state, lengths, True, logits=True)
        for name in per_step:
            steps_out[name].append(outs[name])
    stacked = {name: ops.stack(v, axis=1) for name, v in steps_out.items()}
    final = {h.output.name: outs[h.output.name] for h in heads if not h.output.per_step}
    return stacked, final, state


# ---- the chunk on each backend ---------------------------------------------------------------------------------
def _tf_chunk(models, optimizer, heads, fns: StepFunctions):
    """TensorFlow: the chunk's steps in a tf.while_loop (TensorArrays), under a GradientTape; one tf.function."""
    import tensorflow as tf

    program = fns.program
    names = [i.name for i in fns.inputs]
    weights = models.logits.trainable_weights
    per_step = [h for h in heads if h.output.per_step]
    per_seq = [h for h in heads if not h.output.per_step]

    def chunk(xs, ys, lengths, state, last: bool):
        n = tf.shape(xs[names[0]])[1]
        with tf.GradientTape() as tape:
            tas = {h.output.name: tf.TensorArray(tf.float32, size=n) for h in per_step}
            batch = tf.shape(xs[names[0]])[0]
            final = {h.output.name: tf.zeros((batch, *program.shapes[h.output.name])) for h in per_seq}

            def body(i, state, tas, final):
                outs, state = fns.advance({k_: v[:, i] for k_, v in xs.items()}, state, lengths, True, logits=True)
                tas = {name: ta.write(i, outs[name]) for name, ta in tas.items()}
                return i + 1, state, tas, {name: outs[name] for name in final}

            _, new_state, tas, final = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), state, tas, final))
            outs = {name: tf.transpose(ta.stack(), [1, 0] + list(range(2, len(program.shapes[name]) + 2)))
                    for name, ta in tas.items()}
            loss, stats = _chunk_terms(heads, outs, final, ys, lengths, state["t"], n, last)
        if _has_target(heads, last):
            grads = tape.gradient(loss, weights)
            optimizer.apply_gradients([(g, w) for g, w in zip(grads, weights) if g is not None])
        return tf.nest.map_structure(tf.stop_gradient, new_state), loss, stats

    return tf.function(chunk, reduce_retracing=True)


def _jax_chunk(models, optimizer, heads, fns: StepFunctions):
    """JAX: the chunk a pure function of the variables' values (keras.StatelessScope), jitted per chunk
    length; its steps a Python loop under the jit; the new values written back after each update."""
    import jax

    model = models.logits
    trainable, non_trainable = model.trainable_variables, model.non_trainable_variables
    optimizer.build(trainable)

    def forward(tv, ntv, xs, ys, lengths, state, last):
        state = jax.lax.stop_gradient(state)  # no gradient into the state the previous chunk left
        n = xs[next(iter(xs))].shape[1]
        mapping = list(zip(trainable, tv)) + list(zip(non_trainable, ntv))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            outs, final, new_state = _run_steps(heads, fns, xs, lengths, state, n)
            loss, stats = _chunk_terms(heads, outs, final, ys, lengths, state["t"], n, last)
        ntv = [scope.get_current_value(v) for v in non_trainable]  # (seed generators a dropout drew from)
        return loss, (stats, new_state, ntv)

    grad_fn = jax.value_and_grad(forward, has_aux=True)

    @partial(jax.jit, static_argnames="last")
    def update(tv, ntv, ov, xs, ys, lengths, state, last):
        (loss, (stats, state, ntv)), grads = grad_fn(tv, ntv, xs, ys, lengths, state, last)
        tv, ov = optimizer.stateless_apply(ov, grads, tv)
        return loss, stats, state, tv, ntv, ov

    @jax.jit
    def carry(tv, ntv, xs, ys, lengths, state):  # a chunk with no target in it: forward only
        loss, (stats, state, ntv) = forward(tv, ntv, xs, ys, lengths, state, False)
        return loss, stats, state, ntv

    def chunk(xs, ys, lengths, state, last: bool):
        tv, ntv = [v.value for v in trainable], [v.value for v in non_trainable]
        if not _has_target(heads, last):
            loss, stats, state, ntv = carry(tv, ntv, xs, ys, lengths, state)
            for v, value in zip(non_trainable, ntv):
                v.assign(value)
            return state, loss, stats
        loss, stats, state, tv, ntv, ov = update(tv, ntv, [v.value for v in optimizer.variables], xs, ys, lengths,
                                                 state, last=last)
        for variables, values in ((trainable, tv), (non_trainable, ntv), (optimizer.variables, ov)):
            for v, value in zip(variables, values):
                v.assign(value)
        return state, loss, stats

    return chunk


def _torch_chunk(models, optimizer, heads, fns: StepFunctions):
    """PyTorch: the chunk's steps eagerly (autograd), loss.backward(), optimizer.apply; the state detached."""
    import torch

    trainable = models.logits.trainable_variables
    optimizer.build(trainable)

    def chunk(xs, ys, lengths, state, last: bool):
        n = xs[next(iter(xs))].shape[1]
        state = {name: v.detach() for name, v in state.items()}  # no gradient into the previous chunk's state
        t0 = state["t"]
        if not _has_target(heads, last):
            with torch.no_grad():
                outs, final, state = _run_steps(heads, fns, xs, lengths, state, n)
                loss, stats = _chunk_terms(heads, outs, final, ys, lengths, t0, n, last)
            return state, loss, stats
        outs, final, state = _run_steps(heads, fns, xs, lengths, state, n)
        loss, stats = _chunk_terms(heads, outs, final, ys, lengths, t0, n, last)
        torch_update(loss, trainable, optimizer)
        state = {name: v.detach() for name, v in state.items()}
        return state, loss.detach(), [(a.detach(), b.detach()) for a, b in stats]

    return chunk
