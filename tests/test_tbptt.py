"""Truncated backpropagation through time: the state is carried across chunks, the gradient is not.

Marked `tf`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from rnndsl.backends.keras import build_models  # noqa: E402
from rnndsl.pipeline import analyse  # noqa: E402
from rnndsl.semantics.symbols import Bindings  # noqa: E402
from rnndsl.training.step import make_eval_step, make_train_step  # noqa: E402
from rnndsl.training.tbptt import make_tbptt_step  # noqa: E402

pytestmark = pytest.mark.tf

T = 12
SPEC = """
model chunks
input x[t]: (2,)
target y[t]: real(1)
param g: (4,) init=ones
h[t] = tanh(dense(x[t], 4) * g + dense(h[t-1], 4))     when t < 6
h[t] = tanh(dense(x[t], 4) + dense(h[t-1], 4) + dense(x[t-2], 4))  otherwise
c[t] = lstm(h[t], 3)
y[t] = dense(c[t], 1)
"""


def _setup(text: str = SPEC, masked: bool = False):
    checked = analyse(text, Bindings(steps=T, masked=masked)).checked
    keras.utils.set_random_seed(0)
    models = build_models(checked, "looped")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, T, 2)).astype("float32")
    y = np.cumsum(x[..., :1], axis=1) * 0.3
    return models, tf.constant(x), tf.constant(y.astype("float32"))


def _weights(models) -> list[np.ndarray]:
    return [w.numpy().copy() for w in models.logits.trainable_weights]


def test_one_chunk_is_ordinary_backpropagation() -> None:
    models, x, y = _setup()
    start = _weights(models)
    make_tbptt_step(models, keras.optimizers.SGD(0.1), models.heads, T, T)(x, y)
    truncated = _weights(models)
    for w, v in zip(models.logits.trainable_weights, start):
        w.assign(v)
    make_train_step(models.logits, keras.optimizers.SGD(0.1), models.heads, steps=T)(x, y)
    for a, b in zip(truncated, _weights(models)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(truncated, start))  # it did train


def test_the_state_is_carried_across_chunks() -> None:
    # With a zero learning rate the chunks' per-step errors add up to the whole sequence's:
    # each chunk starts from the state the previous one left (buffers of h, x[t-2] and the LSTM's c).
    models, x, y = _setup()
    loss, stats = make_tbptt_step(models, keras.optimizers.SGD(0.0), models.heads, 5, T)(x, y)
    _, whole = make_eval_step(models.logits, models.heads, steps=T)(x, y)
    for (a, n), (b, m) in zip(stats, whole):
        assert float(n) == float(m) == 5 * T
        np.testing.assert_allclose(float(a), float(b), rtol=1e-5)


def test_no_gradient_crosses_a_chunk_boundary() -> None:
    # g scales the input at steps 0..5 only (the first chunk of 6).  The target is per sequence, so
    # only the last chunk has a loss: truncated, g gets no gradient; whole-sequence, it does.
    text = SPEC.replace("target y[t]: real(1)", "target y: real(1)").replace("y[t] = dense(c[t], 1)",
                                                                           "y = dense(c[last], 1)")
    models, x, _ = _setup(text)
    y = tf.reduce_sum(x[:, :, :1], axis=1)
    g = next(w for w in models.logits.trainable_weights if w.path.startswith("g/") or w.path.endswith("g/value"))
    before = g.numpy().copy()
    make_tbptt_step(models, keras.optimizers.SGD(0.5), models.heads, 6, T)(x, y)
    np.testing.assert_array_equal(g.numpy(), before)
    make_train_step(models.logits, keras.optimizers.SGD(0.5), models.heads, steps=T)(x, y)
    assert not np.allclose(g.numpy(), before)


def test_masked_chunks_count_only_each_sequences_own_steps() -> None:
    models, x, y = _setup(masked=True)
    lengths = tf.constant([T, 9, 5, 1, 7], tf.int32)
    loss, stats = make_tbptt_step(models, keras.optimizers.SGD(0.0), models.heads, 4, T)(
        {"x": x, "lengths": lengths}, y, lengths)
    _, whole = make_eval_step(models.logits, models.heads, steps=T)({"x": x, "lengths": lengths}, y, lengths)
    for (a, n), (b, m) in zip(stats, whole):
        assert float(n) == float(m) == float(tf.reduce_sum(lengths))
        np.testing.assert_allclose(float(a), float(b), rtol=1e-5)


def test_cli_trains_with_tbptt_and_refuses_a_spec_that_cannot_stream(tmp_path: Path, capsys) -> None:
    from rnndsl.cli import main

    data = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(24, 40, 2)).astype("float32")
    ys = np.cumsum(xs[..., :1], axis=1) * 0.1
    np.savez(data, x_train=xs[:16], y_train=ys[:16], x_test=xs[16:], y_test=ys[16:])
    spec = tmp_path / "s.rnn"
    spec.write_text(SPEC.replace("when t < 6", "when t < 20") + "train { batch 8  epochs 1  tbptt 10 }\n")
    assert main(["compile", str(spec), "--train", "--data", str(data), "--out", str(tmp_path / "run"),
                 "--no-summary"]) == 0
    assert "tbptt 10 steps" in capsys.readouterr().out
    back = tmp_path / "b.rnn"
    back.write_text("model b\ninput x[t]: (2,)\ntarget y[t]: real(1)\nh[t] = tanh(dense(x[t], 4) + dense(h[t+1], 4))\n"
                    "y[t] = dense(h[t], 1)\n")
    assert main(["compile", str(back), "--train", "--data", str(data), "--tbptt", "10", "--out",
                 str(tmp_path / "run2")]) == 2
    assert "reversed time" in capsys.readouterr().err
