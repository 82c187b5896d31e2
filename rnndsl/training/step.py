"""The one training step: what `rnndsl compile --train`, the Python API and the benchmarks all run.

Losses and metrics follow each output's target: a class (softmax cross-entropy; accuracy),
a real vector (MSE or MAE; both reported), independent labels (sigmoid cross-entropy;
binary accuracy).  Per-step targets average over the valid steps only: padded steps of a
shorter sequence never enter a loss or a metric.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf

from ..backends.keras import Head
from ..ir import Loss, OutputDecl, TargetKind

__all__ = ["make_optimizer", "make_train_step", "make_eval_step", "metric_names", "CLASS_HEAD"]

# The head of a model with one class output given as logits (the seeds, the benchmarks).
CLASS_HEAD = Head(OutputDecl("out", TargetKind.CLASS), from_logits=True)

_METRICS = {TargetKind.CLASS: ("acc",), TargetKind.REAL: ("mse", "mae"), TargetKind.LABELS: ("binacc",)}


def make_optimizer(name: str, params: dict[str, float]) -> keras.optimizers.Optimizer:
    """The Keras optimizer for an rnndsl `optimizer` setting."""
    if name == "adam":
        return keras.optimizers.Adam(params["lr"], beta_1=params["beta1"], beta_2=params["beta2"],
                                     epsilon=params["eps"])
    if name == "sgd":
        return keras.optimizers.SGD(params["lr"], momentum=params["momentum"])
    if name == "rmsprop":
        return keras.optimizers.RMSprop(params["lr"], rho=params["rho"])
    raise ValueError(f"unknown optimizer {name}")  # the front end rejects these before we get here


def metric_names(heads: Sequence[Head]) -> list[str]:
    """The metrics a run reports besides the loss: acc / mse, mae / binacc, prefixed by the target with several."""
    names = []
    for h in heads:
        for m in _METRICS[h.output.target]:
            names.append(m if len(heads) == 1 else f"{h.output.name}_{m}")
    return names


def _weights(head: Head, y, mask):
    """Per-element weights: 1 for a valid step (all steps without masking)."""
    if head.output.per_step and mask is not None:
        return tf.cast(mask, tf.float32)
    shape = tf.shape(y)[:2] if head.output.per_step else tf.shape(y)[:1]
    return tf.ones(shape, tf.float32)


def _head_terms(head: Head, out, y, mask) -> tuple[Any, list[tuple[Any, Any]]]:
    """(loss, [(metric sum, count), ...]) of one output on one batch."""
    target, loss_kind = head.output.target, head.output.loss
    w = _weights(head, y, mask)
    if target is TargetKind.CLASS:
        y = tf.cast(y, tf.int32)
        ce = keras.losses.sparse_categorical_crossentropy(y, out, from_logits=head.from_logits)
        correct = tf.cast(tf.equal(tf.argmax(out, axis=-1, output_type=tf.int32), y), tf.float32)
        n = tf.reduce_sum(w)
        return tf.reduce_sum(ce * w) / tf.maximum(n, 1.0), [(tf.reduce_sum(correct * w), n)]
    y = tf.cast(y, tf.float32)
    if target is TargetKind.REAL:
        err = tf.cast(out, tf.float32) - y
        we = tf.broadcast_to(w[..., None], tf.shape(err)) if len(err.shape) > len(w.shape) else w
        n = tf.reduce_sum(we)
        se, ae = tf.reduce_sum(tf.square(err) * we), tf.reduce_sum(tf.abs(err) * we)
        loss = (ae if loss_kind is Loss.MAE else se) / tf.maximum(n, 1.0)
        return loss, [(se, n), (ae, n)]
    logits = out if head.from_logits else tf.math.log(tf.clip_by_value(out, 1e-7, 1 - 1e-7) / (1 - tf.clip_by_value(out, 1e-7, 1 - 1e-7)))
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
    we = tf.broadcast_to(w[..., None], tf.shape(bce))
    n = tf.reduce_sum(we)
    right = tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), y), tf.float32)
    return tf.reduce_sum(bce * we) / tf.maximum(n, 1.0), [(tf.reduce_sum(right * we), n)]


def _terms(heads: Sequence[Head], outs, ys, mask):
    if len(heads) == 1:
        outs, ys = {heads[0].output.name: outs}, {heads[0].output.name: ys}
    total = 0.0
    stats = []
    for h in heads:
        loss, parts = _head_terms(h, outs[h.output.name], ys[h.output.name], mask)
        total += loss
        stats.extend(parts)
    return total, stats


def _mask(lengths, steps):
    return None if lengths is None else tf.sequence_mask(lengths, steps)


def make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, heads: Sequence[Head] = (CLASS_HEAD,),
                    xla: bool = False, steps: int | None = None, strategy: tf.distribute.Strategy | None = None):
    """One training step as a tf.function: forward, the targets' losses, gradients, update.

    `step(x, y, lengths=None)` returns (loss, metric sums): for the default single class head
    the sums are [(correct predictions, examples)].  With a `strategy`, `step(values)` takes
    per-replica (x, y, lengths, share): each replica's shard of one global batch and its
    fraction of it.  Its loss is weighted by that share, the optimizer sums the gradients across
    replicas, and the loss and sums come back reduced.
    """
    heads = tuple(heads)

    def body(x, y, lengths=None, share=1.0):
        with tf.GradientTape() as tape:
            outs = model(x, training=True)
            loss, stats = _terms(heads, outs, y, _mask(lengths, steps))
            scaled = loss * share
        grads = tape.gradient(scaled, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return scaled, stats

    if strategy is None:
        return tf.function(body, jit_compile=xla, reduce_retracing=True)

    @tf.function(reduce_retracing=True)
    def step(values):  # per replica: (x, y, lengths, share)
        loss, stats = strategy.run(lambda v: body(*v), args=(values,))
        total = strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
        return total, [(strategy.reduce(tf.distribute.ReduceOp.SUM, a, axis=None),
                        strategy.reduce(tf.distribute.ReduceOp.SUM, b, axis=None)) for a, b in stats]

    return step


def make_eval_step(model: keras.Model, heads: Sequence[Head] = (CLASS_HEAD,), xla: bool = False,
                   steps: int | None = None):
    """A forward pass in inference mode: (loss, metric sums) of a batch."""
    heads = tuple(heads)

    @tf.function(jit_compile=xla, reduce_retracing=True)
    def step(x, y, lengths=None):
        return _terms(heads, model(x, training=False), y, _mask(lengths, steps))

    return step
