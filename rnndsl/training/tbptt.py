"""Truncated backpropagation through time: long sequences in chunks, the state carried, gradients cut between.

The spec runs step by step (the step function of the looped lowering, which carries every
stream's delay buffer and every LSTM cell state); each chunk of `k` steps is one update:
forward through its steps from the state the previous chunk left (with no gradient into that
state), the losses of the per-step targets at its valid steps, and, on the last chunk, the
per-sequence targets.  The step returns the batch's loss and metric sums like the ordinary one.

TensorFlow only for now: the step function is keras.ops, but the chunk around it is a tf.while_loop
under a GradientTape (fit and prepare_spec refuse tbptt on the other backends, saying so).
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from ..backends.keras import Head, KerasModels
from ..backends.keras.looped import LoopedProgram, StepFunctions
from .step import _METRICS, _head_terms, floats

__all__ = ["make_tbptt_step"]


def make_tbptt_step(models: KerasModels, optimizer: keras.optimizers.Optimizer, heads: Sequence[Head], k: int,
                    steps: int):
    """`step(x, y, lengths=None) -> (loss, metric sums)` over a batch, one update per chunk of `k` steps."""
    program = next((layer for layer in models.model.layers if isinstance(layer, LoopedProgram)), None)
    if program is None:
        raise ValueError("truncated backpropagation needs the looped lowering")
    fns = StepFunctions(program)  # raises NotStreamable when the spec cannot run step by step
    heads = tuple(heads)
    names = [i.name for i in fns.inputs]
    weights = models.logits.trainable_weights
    per_step = [h for h in heads if h.output.per_step]
    per_seq = [h for h in heads if not h.output.per_step]

    def chunk(xs, ys, lengths, state, last: bool):
        """One chunk: run its steps, its losses, one update; the state it leaves (no gradient through it)."""
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
            loss = tf.constant(0.0)
            stats = []
            t0 = state["t"]
            for h in heads:  # in the heads' order, as the metric names are
                name = h.output.name
                if h.output.per_step:
                    out = tf.transpose(tas[name].stack(), [1, 0] + list(range(2, len(program.shapes[name]) + 2)))
                    valid = None if lengths is None else tf.sequence_mask(lengths - t0, n)
                    term, parts = _head_terms(h, out, ys[name], valid)
                elif last:
                    term, parts = _head_terms(h, final[name], ys[name], None)
                else:  # a per-sequence target counts on the last chunk only
                    term, parts = 0.0, [(tf.constant(0.0), tf.constant(0.0))] * len(_METRICS[h.output.target])
                loss += term
                stats.extend(parts)
        if per_step or last:  # (a chunk with no target in it only carries the state forward)
            grads = tape.gradient(loss, weights)
            optimizer.apply_gradients([(g, w) for g, w in zip(grads, weights) if g is not None])
        return tf.nest.map_structure(tf.stop_gradient, new_state), loss, stats

    chunk_fn = tf.function(chunk, reduce_retracing=True)

    def step(x, y, lengths=None):
        xs = {name: tf.constant(x[name]) for name in names} if isinstance(x, dict) else {names[0]: tf.constant(x)}
        ys = {k: tf.constant(v) for k, v in y.items()} if isinstance(y, dict) else {heads[0].output.name: tf.constant(y)}
        lengths = None if lengths is None else tf.constant(lengths)
        batch = tf.shape(xs[names[0]])[0]
        state = fns.initial(batch)
        total, sums = 0.0, None
        chunks = -(-steps // k)
        for t0 in range(0, steps, k):
            t1 = min(steps, t0 + k)
            xc = {name: v[:, t0:t1] for name, v in xs.items()}
            yc = {h.output.name: (ys[h.output.name][:, t0:t1] if h.output.per_step else ys[h.output.name])
                  for h in heads}
            state, loss, stats = chunk_fn(xc, yc, lengths, state, t1 == steps)
            total += float(loss) / chunks  # the mean of the chunks' losses
            sums = [[a, b] for a, b in stats] if sums is None else [[s[0] + a, s[1] + b] for s, (a, b) in zip(sums, stats)]
        return floats(total, [(a, b) for a, b in sums or []])

    return step
