"""The one training step: what `rnndsl compile --train`, the Python API and the benchmarks all run."""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["make_optimizer", "make_train_step", "make_eval_step"]


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


def _loss_and_correct(y, logits):
    loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=y.dtype), y), tf.float32))
    return loss, correct


def make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, xla: bool = False):
    """One training step as a tf.function: forward, cross-entropy on logits, gradients, update.

    Returns (mean loss, number of correct predictions) of the batch.
    """

    @tf.function(jit_compile=xla, reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss, correct = _loss_and_correct(y, logits)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return loss, correct

    return step


def make_eval_step(model: keras.Model, xla: bool = False):
    """A forward pass in inference mode: (mean loss, correct predictions) of a batch."""

    @tf.function(jit_compile=xla, reduce_retracing=True)
    def step(x, y):
        return _loss_and_correct(y, model(x, training=False))

    return step
