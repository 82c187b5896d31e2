"""The one training step: what `rnndsl compile --train`, the Python API and the benchmarks all run.

Losses and metrics follow each output's target: a class (softmax cross-entropy; accuracy),
a real vector (MSE or MAE; both reported), independent labels (sigmoid cross-entropy;
binary accuracy).  Per-step targets average over the valid steps only: padded steps of a
shorter sequence never enter a loss or a metric.

The losses and metrics are written once, in `keras.ops`; the step around them is one small
function per Keras backend: TensorFlow (`tf.function`, `tf.GradientTape`, and tf.distribute),
JAX (`jax.jit` over `model.stateless_call` and `optimizer.stateless_apply`, the state passed
explicitly and written back to the Keras variables after each step) and PyTorch (autograd:
`loss.backward()`, then `optimizer.apply` on the model's variables).  Every step takes numpy
arrays and returns python floats: `(loss, [(metric sum, count), ...])`.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
from keras import ops

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
        return ops.cast(mask, "float32")
    return ops.ones(ops.shape(y)[:2] if head.output.per_step else ops.shape(y)[:1], "float32")


def _sigmoid_ce(labels, logits):
    """Sigmoid cross-entropy from logits, elementwise, in its stable form (tf.nn's): max(l, 0) - l y + log(1 + e^-|l|)."""
    return ops.relu(logits) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))


def _head_terms(head: Head, out, y, mask) -> tuple[Any, list[tuple[Any, Any]]]:
    """(loss, [(metric sum, count), ...]) of one output on one batch (keras.ops: every backend)."""
    target, loss_kind = head.output.target, head.output.loss
    out = ops.convert_to_tensor(out)
    w = _weights(head, y, mask)
    if target is TargetKind.CLASS:
        y = ops.cast(y, "int32")
        ce = keras.losses.sparse_categorical_crossentropy(y, out, from_logits=head.from_logits)
        correct = ops.cast(ops.equal(ops.cast(ops.argmax(out, axis=-1), "int32"), y), "float32")
        n = ops.sum(w)
        return ops.sum(ce * w) / ops.maximum(n, 1.0), [(ops.sum(correct * w), n)]
    y = ops.cast(y, "float32")
    if target is TargetKind.REAL:
        err = ops.cast(out, "float32") - y
        we = w[..., None] * ops.ones_like(err) if len(err.shape) > len(w.shape) else w
        n = ops.sum(we)
        se, ae = ops.sum(ops.square(err) * we), ops.sum(ops.abs(err) * we)
        loss = (ae if loss_kind is Loss.MAE else se) / ops.maximum(n, 1.0)
        return loss, [(se, n), (ae, n)]
    if head.from_logits:
        logits = out
    else:
        p = ops.clip(out, 1e-7, 1 - 1e-7)
        logits = ops.log(p / (1 - p))
    bce = _sigmoid_ce(y, logits)
    we = w[..., None] * ops.ones_like(bce)
    n = ops.sum(we)
    right = ops.cast(ops.equal(ops.cast(logits > 0, "float32"), y), "float32")
    return ops.sum(bce * we) / ops.maximum(n, 1.0), [(ops.sum(right * we), n)]


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
    """Valid steps (batch, steps) from each sequence's length; None without lengths."""
    if lengths is None:
        return None
    return ops.expand_dims(ops.arange(steps, dtype="int32"), 0) < ops.expand_dims(ops.cast(lengths, "int32"), 1)


def floats(loss, stats) -> tuple[float, list[tuple[float, float]]]:
    """A step's result as python floats (what the loop sums)."""
    return float(loss), [(float(a), float(b)) for a, b in stats]


def make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, heads: Sequence[Head] = (CLASS_HEAD,),
                    xla: bool = False, steps: int | None = None, strategy=None):
    """One training step on Keras' backend: forward, the targets' losses, gradients, update.

    `step(x, y, lengths=None)` takes numpy arrays (x a dict by input name when the model has several)
    and returns (loss, metric sums) as floats: for the default single class head the sums are
    [(correct predictions, examples)].  With a tf.distribute `strategy` (TensorFlow only),
    `step(values)` takes per-replica (x, y, lengths, share): each replica's shard of one global
    batch and its fraction of it.  Its loss is weighted by that share, the optimizer sums the
    gradients across replicas, and the loss and sums come back reduced.
    """
    heads = tuple(heads)
    backend = keras.backend.backend()
    if strategy is not None and backend != "tensorflow":
        raise ValueError("tf.distribute strategies run on the TensorFlow backend only")
    make = {"tensorflow": _tf_train_step, "jax": _jax_train_step, "torch": _torch_train_step}[backend]
    return make(model, optimizer, heads, xla, steps, strategy)


def make_eval_step(model: keras.Model, heads: Sequence[Head] = (CLASS_HEAD,), xla: bool = False,
                   steps: int | None = None):
    """A forward pass in inference mode: (loss, metric sums) of a batch, as floats."""
    heads = tuple(heads)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        fn = tf.function(lambda x, y, lengths=None: _terms(heads, model(x, training=False), y, _mask(lengths, steps)),
                         jit_compile=xla, reduce_retracing=True)
        return lambda x, y, lengths=None: floats(*fn(*_tf_tensors(x, y, lengths)))
    if backend == "jax":
        import jax

        @jax.jit
        def forward(trainable, non_trainable, x, y, lengths):
            outs, _ = model.stateless_call(trainable, non_trainable, x, training=False)
            return _terms(heads, outs, y, _mask(lengths, steps))

        def step(x, y, lengths=None):
            return floats(*forward([v.value for v in model.trainable_variables],
                                   [v.value for v in model.non_trainable_variables], x, y, lengths))

        return step
    import torch

    def torch_step(x, y, lengths=None):
        with torch.no_grad():
            x, y, lengths = _torch_tensors(x, y, lengths)
            return floats(*_terms(heads, model(x, training=False), y, _mask(lengths, steps)))

    return torch_step


def _tf_tensors(*values):
    import tensorflow as tf

    def convert(v):
        return {k: tf.convert_to_tensor(a) for k, a in v.items()} if isinstance(v, dict) else tf.convert_to_tensor(v)

    return tuple(None if v is None else convert(v) for v in values)


def _tf_train_step(model, optimizer, heads, xla, steps, strategy):
    import tensorflow as tf

    def body(x, y, lengths=None, share=1.0):
        with tf.GradientTape() as tape:
            outs = model(x, training=True)
            loss, stats = _terms(heads, outs, y, _mask(lengths, steps))
            scaled = loss * share
        grads = tape.gradient(scaled, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return scaled, stats

    if strategy is None:
        fn = tf.function(body, jit_compile=xla, reduce_retracing=True)
        return lambda x, y, lengths=None: floats(*fn(*_tf_tensors(x, y, lengths)))

    @tf.function(reduce_retracing=True)
    def step(values):  # per replica: (x, y, lengths, share)
        loss, stats = strategy.run(lambda v: body(*v), args=(values,))
        total = strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
        return total, [(strategy.reduce(tf.distribute.ReduceOp.SUM, a, axis=None),
                        strategy.reduce(tf.distribute.ReduceOp.SUM, b, axis=None)) for a, b in stats]

    return lambda values: floats(*step(values))


def _jax_train_step(model, optimizer, heads, xla, steps, strategy):
    """Keras' "custom training loop in JAX": a pure function of the variables' values, jitted; the new
    values are written back to the Keras variables after each step, so checkpoints, the eval step and
    saving read them as on any backend."""
    import jax

    trainable, non_trainable = model.trainable_variables, model.non_trainable_variables
    optimizer.build(trainable)

    def loss_fn(tv, ntv, x, y, lengths):
        outs, ntv = model.stateless_call(tv, ntv, x, training=True)
        loss, stats = _terms(heads, outs, y, _mask(lengths, steps))
        return loss, (stats, ntv)

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    @jax.jit
    def update(tv, ntv, ov, x, y, lengths):
        (loss, (stats, ntv)), grads = grad_fn(tv, ntv, x, y, lengths)
        tv, ov = optimizer.stateless_apply(ov, grads, tv)
        return loss, stats, tv, ntv, ov

    def step(x, y, lengths=None):
        loss, stats, tv, ntv, ov = update([v.value for v in trainable], [v.value for v in non_trainable],
                                          [v.value for v in optimizer.variables], x, y, lengths)
        for variables, values in ((trainable, tv), (non_trainable, ntv), (optimizer.variables, ov)):
            for v, value in zip(variables, values):
                v.assign(value)
        return floats(loss, stats)

    return step


def _torch_tensors(x, y, lengths):
    convert = keras.ops.convert_to_tensor
    x = {k: convert(v) for k, v in x.items()} if isinstance(x, dict) else convert(x)
    y = {k: convert(v) for k, v in y.items()} if isinstance(y, dict) else convert(y)
    return x, y, None if lengths is None else convert(lengths)


def _torch_train_step(model, optimizer, heads, xla, steps, strategy):
    """Keras' "custom training loop in PyTorch": autograd through the forward pass, then optimizer.apply."""
    trainable = model.trainable_variables
    optimizer.build(trainable)

    def step(x, y, lengths=None):
        x, y, lengths = _torch_tensors(x, y, lengths)
        outs = model(x, training=True)
        loss, stats = _terms(heads, outs, y, _mask(lengths, steps))
        torch_update(loss, trainable, optimizer)
        return floats(loss.detach(), [(a.detach(), b.detach()) for a, b in stats])

    return step


def torch_update(loss, trainable, optimizer) -> None:
    """PyTorch: the gradients of `loss` by autograd, then one optimizer update of the variables that have one."""
    import torch

    for v in trainable:
        v.value.grad = None
    loss.backward()
    pairs = [(v.value.grad, v) for v in trainable if v.value.grad is not None]
    with torch.no_grad():
        optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
