"""The language's arithmetic against NumPy: broadcasting, element-wise functions, reductions over ranges of
steps (with and without masking), the softmax over steps, params and learned-state initialisers.

Each test builds the Keras model of a small spec, reads its weights back, and computes the same
thing in NumPy from the spec's equations.  Marked `tf`.
"""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from rnndsl.backends.keras import build_models  # noqa: E402
from rnndsl.pipeline import analyse, compile_text  # noqa: E402
from rnndsl.semantics.symbols import Bindings  # noqa: E402

pytestmark = pytest.mark.tf

RNG = np.random.default_rng(7)


def _model(text: str):
    keras.utils.set_random_seed(0)
    checked = compile_text(text)
    models = build_models(checked)
    assert models.model.count_params() == checked.total_params
    return models.model


def _weights(model, name: str) -> list[np.ndarray]:
    """The weights of the layer called `name` (a param `u` is the layer `u`; `h.dense` is `h_dense`)."""
    return [w.numpy() for w in model.get_layer(name).weights]


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_broadcasting_params_and_numbers_like_numpy() -> None:
    model = _model("""
model bc
input img: (4, 5, 3)
target y: real(3)
param v: (3,) init=normal(1)
param w: (5, 1) init=normal(1)
param s: (1,) init=normal(1)
y = img * v + w - s / (abs(img) + 1) | gap
""")
    img = RNG.normal(size=(2, 4, 5, 3)).astype("float32")
    (v,), (w,), (s,) = _weights(model, "v"), _weights(model, "w"), _weights(model, "s")
    want = (img * v + w - s / (np.abs(img) + 1)).mean(axis=(1, 2))
    np.testing.assert_allclose(model(img).numpy(), want, rtol=1e-5, atol=1e-5)


def test_element_wise_functions_and_unary_minus_like_numpy() -> None:
    model = _model("""
model fns
input x: (6,)
target y: real(48)
y = concat(exp(x), log(abs(x) + 1), sqrt(abs(x)), abs(x), softplus(x), clip(x, -0.5, 0.5), -x, 1 / (2 - x))
""")
    x = RNG.normal(size=(3, 6)).astype("float32")
    softplus = np.log1p(np.exp(x))
    want = np.concatenate([np.exp(x), np.log(np.abs(x) + 1), np.sqrt(np.abs(x)), np.abs(x), softplus,
                           np.clip(x, -0.5, 0.5), -x, 1 / (2 - x)], axis=-1)
    np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-5, atol=1e-5)


_REDUCE = """
model reduce
input x[t]: (2,)
target y[t]: real(10)
steps 6
h[t] = x[t]
y[t] = concat(sum(h[0..t-1]), mean(h[t-2..t]), max(h[0..last]), sum(h[t+1..last]), mean(h[2..4]))
"""


def _reduce_reference(x: np.ndarray, length: int) -> np.ndarray:
    """y[t] for one sequence of `length` valid steps (the rest is padding), t < length."""
    out = []
    for t in range(length):
        past = x[:t].sum(0) if t > 0 else np.zeros(2)  # an empty range gives zeros
        window = x[max(0, t - 2):t + 1].mean(0)
        whole = x[:length].max(0)
        ahead = x[t + 1:length].sum(0) if t + 1 < length else np.zeros(2)
        fixed = x[2:min(5, length)].mean(0) if length > 2 else np.zeros(2)
        out.append(np.concatenate([past, window, whole, ahead, fixed]))
    return np.stack(out)


def test_sum_mean_max_over_ranges_of_steps_like_numpy() -> None:
    model = _model(_REDUCE)
    x = RNG.normal(size=(3, 6, 2)).astype("float32")
    got = model(x).numpy()
    for b in range(3):
        np.testing.assert_allclose(got[b], _reduce_reference(x[b], 6), rtol=1e-5, atol=1e-5)


def test_reductions_use_only_each_sequences_own_steps_when_masked() -> None:
    # With masking (sequences of different lengths), `last` is each sequence's own last step and a
    # range never reaches into the padding: garbage there must not change any valid step's value.
    analysed = analyse(_REDUCE.replace("steps 6\n", ""), Bindings(steps=6, masked=True))
    assert analysed.checked.program.masked
    models = build_models(analysed.checked)
    lengths = np.array([6, 4, 1], dtype="int32")
    x = RNG.normal(size=(3, 6, 2)).astype("float32")
    for b, n in enumerate(lengths):
        x[b, n:] = 1e6  # padding that would dominate any sum or max
    got = models.model({"x": x, "lengths": lengths}).numpy()
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(got[b, :n], _reduce_reference(x[b], int(n)), rtol=1e-5, atol=1e-4)


_ATTENTION = """
model attend
input x[t]: (3,)
target y: real(3)
steps 5
h[t] = x[t]
score[t] = dense(h[t], 1)
y = sum(softmax_steps(score[0..last]) * h[0..last])
"""


def test_attention_softmax_over_steps_like_numpy() -> None:
    model = _model(_ATTENTION)
    kernel, bias = _weights(model, "score_dense")
    x = RNG.normal(size=(4, 5, 3)).astype("float32")
    weights = _softmax(x @ kernel + bias, axis=1)  # (batch, steps, 1): a softmax over the steps
    np.testing.assert_allclose(model(x).numpy(), (weights * x).sum(axis=1), rtol=1e-5, atol=1e-5)


def test_attention_over_the_past_at_every_step_like_numpy() -> None:
    # a[t] attends over h[0..t-1]; at t = 0 that range is empty and a[0] is zeros.
    model = _model("""
model past
input x[t]: (3,)
target y[t]: real(3)
steps 5
h[t] = x[t]
y[t] = sum(softmax_steps(dense(h[0..t-1] * h[t], 1, bias=false)) * h[0..t-1])
""")
    (kernel,) = _weights(model, "y_dense")
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    got = model(x).numpy()
    for t in range(5):
        if t == 0:
            np.testing.assert_allclose(got[:, 0], 0.0, atol=1e-7)
            continue
        scores = (x[:, :t] * x[:, t:t + 1]) @ kernel  # (batch, t, 1): each earlier step against this one
        want = (_softmax(scores, axis=1) * x[:, :t]).sum(axis=1)
        np.testing.assert_allclose(got[:, t], want, rtol=1e-5, atol=1e-5)


def test_indrnn_recurrence_and_learned_state_initialiser_like_numpy() -> None:
    model = _model("""
model ind
input x[t]: (3,)
target y: real(4)
steps 4
param u: (4,) init=uniform(1)
init h = learned(ones)
h[t] = relu(dense(x[t], 4) + u * h[t-1])
y = h[last]
""")
    (u,), (h0,) = _weights(model, "u"), _weights(model, "h_init")
    np.testing.assert_array_equal(h0, np.ones(4, dtype="float32"))  # `learned(ones)` starts at ones
    assert np.abs(u).max() <= 1.0 and np.abs(u).min() > 0  # uniform(1): in [-1, 1]
    kernel, bias = _weights(model, "h_dense")
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    h = np.broadcast_to(h0, (2, 4))
    for t in range(4):
        h = np.maximum(x[:, t] @ kernel + bias + u * h, 0.0)
    np.testing.assert_allclose(model(x).numpy(), h, rtol=1e-5, atol=1e-5)


NEW_PATTERNS = ("indrnn", "attention", "peephole_lstm", "convlstm", "lstmn")


@pytest.mark.parametrize("name", NEW_PATTERNS)
def test_paper_pattern_trains_one_epoch(name: str) -> None:
    # The patterns written from papers' equations (params, ranges of steps, softmax over steps):
    # one whole epoch through the same path as `rnndsl compile --train`, on a small generated set.
    from conftest import ROOT
    from rnndsl.catalogue import DATASETS
    from rnndsl.data import synthetic
    from rnndsl.training.api import train_text

    text = (ROOT / "specs" / "patterns" / f"{name}.rnn").read_text()
    data = synthetic(DATASETS["mnist"], n_train=48, n_test=16, seed=1)
    trained = train_text(text, data, epochs=1, batch_size=16, progress=False)
    (row,) = trained.history
    assert np.isfinite(row["train_loss"]) and np.isfinite(row["test_loss"]), row
    assert trained.model.count_params() == compile_text(text).total_params
