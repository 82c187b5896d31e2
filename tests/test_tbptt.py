"""Truncated backpropagation through time: the state is carried across chunks, the gradient is not.

On each Keras backend (TensorFlow, JAX, PyTorch).  Keras picks its backend once per process, so
each backend's checks run in one child process (DRIVER below) that reports numbers; the tests
compare them.  Marked `tf`, `jax`, `torch` by backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, need_backend

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

BACKENDS = [pytest.param("tensorflow", marks=pytest.mark.tf), pytest.param("jax", marks=pytest.mark.jax),
            pytest.param("torch", marks=pytest.mark.torch)]

DRIVER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    from rnndsl.backends.keras import build_models
    from rnndsl.pipeline import analyse
    from rnndsl.semantics.symbols import Bindings
    from rnndsl.training.step import make_eval_step, make_train_step
    from rnndsl.training.tbptt import make_tbptt_step

    spec, T = sys.argv[1], int(sys.argv[2])
    found = {"backend": keras.backend.backend()}
    SGD = keras.optimizers.SGD

    def setup(text=spec, masked=False):
        checked = analyse(text, Bindings(steps=T, masked=masked)).checked
        keras.utils.set_random_seed(0)
        models = build_models(checked, "looped")
        rng = np.random.default_rng(0)
        x = rng.normal(size=(5, T, 2)).astype("float32")
        return models, x, (np.cumsum(x[..., :1], axis=1) * 0.3).astype("float32")

    def weights(models):
        return [keras.ops.convert_to_numpy(w.value).copy() for w in models.logits.trainable_weights]

    def sums(stats):
        return [[float(a), float(b)] for a, b in stats]

    # one chunk of the whole sequence against ordinary backpropagation, from the same weights
    models, x, y = setup()
    start = weights(models)
    make_tbptt_step(models, SGD(0.1), models.heads, T, T)(x, y)
    truncated = weights(models)
    for w, v in zip(models.logits.trainable_weights, start):
        w.assign(v)
    make_train_step(models.logits, SGD(0.1), models.heads, steps=T)(x, y)
    ordinary = weights(models)
    found["one_chunk"] = {"diff": max(float(np.max(np.abs(a - b))) for a, b in zip(truncated, ordinary)),
                          "moved": max(float(np.max(np.abs(a - b))) for a, b in zip(truncated, start))}

    # at lr 0 the chunks' per-step errors add up to the whole sequence's (unmasked chunks of 5, masked of 4)
    _, stats = make_tbptt_step(models, SGD(0.0), models.heads, 5, T)(x, y)
    _, whole = make_eval_step(models.logits, models.heads, steps=T)(x, y)
    found["carried"] = {"chunks": sums(stats), "whole": sums(whole)}
    models, x, y = setup(masked=True)
    lengths = np.array([T, 9, 5, 1, 7], np.int32)
    _, stats = make_tbptt_step(models, SGD(0.0), models.heads, 4, T)({"x": x, "lengths": lengths}, y, lengths)
    _, whole = make_eval_step(models.logits, models.heads, steps=T)({"x": x, "lengths": lengths}, y, lengths)
    found["masked"] = {"chunks": sums(stats), "whole": sums(whole), "valid": int(lengths.sum())}

    # g scales the input at steps 0..5 only (the first chunk of 6); the target is per sequence, so only
    # the last chunk has a loss: truncated, g gets no gradient; whole-sequence, it does
    text = spec.replace("target y[t]: real(1)", "target y: real(1)").replace("y[t] = dense(c[t], 1)",
                                                                           "y = dense(c[last], 1)")
    models, x, _ = setup(text)
    y = x[:, :, :1].sum(axis=1)
    g = next(w for w in models.logits.trainable_weights if w.path.startswith("g/") or w.path.endswith("g/value"))
    before = keras.ops.convert_to_numpy(g.value).copy()
    make_tbptt_step(models, SGD(0.5), models.heads, 6, T)(x, y)
    after_truncated = keras.ops.convert_to_numpy(g.value).copy()
    make_train_step(models.logits, SGD(0.5), models.heads, steps=T)(x, y)
    found["cut"] = {"truncated": float(np.max(np.abs(after_truncated - before))),
                    "ordinary": float(np.max(np.abs(keras.ops.convert_to_numpy(g.value) - after_truncated)))}

    # the command line trains with --tbptt on this backend (a spec reading x[t-2] and an LSTM, 20 steps in 4 chunks)
    from pathlib import Path
    from rnndsl.cli import main

    folder = Path(sys.argv[3])
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(24, 20, 2)).astype("float32")
    ys = np.cumsum(xs[..., :1], axis=1) * 0.1
    np.savez(folder / "d.npz", x_train=xs[:16], y_train=ys[:16], x_test=xs[16:], y_test=ys[16:])
    (folder / "s.rnn").write_text(spec + "train { batch 8  epochs 1  tbptt 5 }\\n")
    found["cli"] = main(["compile", str(folder / "s.rnn"), "--train", "--data", str(folder / "d.npz"),
                         "--backend", found["backend"], "--out", str(folder / "run"), "--no-summary"])
    found["cli_metrics"] = json.loads((folder / "run" / "metrics.json").read_text())
    print(json.dumps(found))
""")



_FOUND: dict[str, dict] = {}


def _found(backend: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The driver's numbers on `backend` (one child process per backend, shared by the tests)."""
    need_backend(backend)
    if backend not in _FOUND:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        folder = tmp_path_factory.mktemp(f"tbptt_{backend}")
        proc = subprocess.run([sys.executable, "-c", DRIVER, SPEC, str(T), str(folder)], capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        _FOUND[backend] = json.loads(proc.stdout.strip().splitlines()[-1]) | {"stdout": proc.stdout}
        assert _FOUND[backend]["backend"] == backend
    return _FOUND[backend]


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_chunk_is_ordinary_backpropagation(backend: str, tmp_path_factory) -> None:
    found = _found(backend, tmp_path_factory)["one_chunk"]
    assert found["diff"] < 1e-5
    assert found["moved"] > 1e-3  # it did train


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_state_is_carried_across_chunks(backend: str, tmp_path_factory) -> None:
    # With a zero learning rate the chunks' per-step errors add up to the whole sequence's:
    # each chunk starts from the state the previous one left (buffers of h, x[t-2] and the LSTM's c).
    found = _found(backend, tmp_path_factory)["carried"]
    assert len(found["chunks"]) == len(found["whole"]) == 2  # mse, mae
    for (a, n), (b, m) in zip(found["chunks"], found["whole"]):
        assert n == m == 5 * T
        assert a == pytest.approx(b, rel=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_masked_chunks_count_only_each_sequences_own_steps(backend: str, tmp_path_factory) -> None:
    found = _found(backend, tmp_path_factory)["masked"]
    assert len(found["chunks"]) == len(found["whole"]) == 2
    for (a, n), (b, m) in zip(found["chunks"], found["whole"]):
        assert n == m == found["valid"]
        assert a == pytest.approx(b, rel=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_gradient_crosses_a_chunk_boundary(backend: str, tmp_path_factory) -> None:
    found = _found(backend, tmp_path_factory)["cut"]
    assert found["truncated"] == 0.0
    assert found["ordinary"] > 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_command_line_trains_with_tbptt(backend: str, tmp_path_factory) -> None:
    found = _found(backend, tmp_path_factory)
    assert found["cli"] == 0
    assert "tbptt 5 steps" in found["stdout"]
    (row,) = found["cli_metrics"]
    assert np.isfinite(row["train_loss"]) and np.isfinite(row["test_loss"])


@pytest.mark.tf
def test_the_command_line_refuses_tbptt_on_a_spec_that_cannot_stream(tmp_path: Path, capsys) -> None:
    from rnndsl.cli import main

    data = tmp_path / "d.npz"
    xs = np.zeros((24, 40, 2), np.float32)
    np.savez(data, x_train=xs[:16], y_train=xs[:16, :, :1], x_test=xs[16:], y_test=xs[16:, :, :1])
    back = tmp_path / "b.rnn"
    back.write_text("model b\ninput x[t]: (2,)\ntarget y[t]: real(1)\nh[t] = tanh(dense(x[t], 4) + dense(h[t+1], 4))\n"
                    "y[t] = dense(h[t], 1)\n")
    assert main(["compile", str(back), "--train", "--data", str(data), "--tbptt", "10", "--out",
                 str(tmp_path / "run2")]) == 2
    assert "reversed time" in capsys.readouterr().err
