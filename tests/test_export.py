"""`rnndsl export`: the exported step function, fed a sequence step by step, gives the whole-sequence result.

Checked the way a server meets the files: the SavedModel loaded with tf.saved_model.load and called
through its signatures, the .tflite file run by the TFLite interpreter.  The reference is the
unrolled Keras model (independent code) with the same weights.  Marked `tf`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from conftest import ROOT  # noqa: E402
from rnndsl.backends.keras import build_models  # noqa: E402
from rnndsl.backends.keras.export import export_models  # noqa: E402
from rnndsl.cli import main  # noqa: E402
from rnndsl.pipeline import analyse  # noqa: E402
from rnndsl.semantics.symbols import Bindings  # noqa: E402

pytestmark = pytest.mark.tf

STREAMING = """
model streaming
input x[t]: (3,)
target y[t]: real(2)
target label: class(4)
param u: (6,) init=uniform(1)
init h = learned(normal(0.5))
h[t] = tanh(dense(x[t], 6) + u * h[t-1])                 when t % 2 == 0
h[t] = tanh(dense(x[t], 6) + dense(h[t-2], 6)) * 0.5     otherwise
c[t] = lstm(concat(h[t], x[t-1]), 5)
y[t] = dense(c[t], 2)
label = concat(c[last], h[last]) | dense(4) | softmax
"""


def _models(text: str, steps: int):
    checked = analyse(text, Bindings(steps=steps)).checked
    keras.utils.set_random_seed(3)
    unrolled = build_models(checked, "unrolled")
    looped = build_models(checked, "looped")
    looped.copy_weights_from(unrolled)
    return checked, unrolled, looped


def test_saved_model_step_signature_streams_the_whole_sequence(tmp_path: Path) -> None:
    T = 7
    checked, unrolled, looped = _models(STREAMING, T)
    export_models(checked, looped, tmp_path / "sm", "saved_model")
    served = tf.saved_model.load(str(tmp_path / "sm"))
    assert {"serving_default", "step", "initial_state"} <= set(served.signatures)
    x = np.random.default_rng(0).normal(size=(4, T, 3)).astype("float32")
    want = unrolled.model(x)  # {'y': (4, T, 2), 'label': (4, 4)}
    state = served.signatures["initial_state"](batch=tf.constant(4))
    ys = []
    for t in range(T):
        out = served.signatures["step"](x=tf.constant(x[:, t]), **state)
        state = {k: out[k] for k in state}
        ys.append(out["y"].numpy())
    np.testing.assert_allclose(np.stack(ys, axis=1), want["y"].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["label"].numpy(), want["label"].numpy(), rtol=1e-5, atol=1e-5)
    whole = served.signatures["serving_default"](x=tf.constant(x))
    np.testing.assert_allclose(whole["y"].numpy(), want["y"].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(whole["label"].numpy(), want["label"].numpy(), rtol=1e-5, atol=1e-5)
    # the whole-sequence signature takes any length: the first 4 steps are a 4-step model's result
    short = served.signatures["serving_default"](x=tf.constant(x[:, :4]))
    _, unrolled4, _ = _models(STREAMING, 4)
    unrolled4.copy_weights_from(unrolled)
    np.testing.assert_allclose(short["y"].numpy(), unrolled4.model(x[:, :4])["y"].numpy(), rtol=1e-5, atol=1e-5)


def test_tflite_step_function_streams_the_whole_sequence(tmp_path: Path) -> None:
    T = 6
    checked, unrolled, looped = _models(STREAMING, T)
    export_models(checked, looped, tmp_path / "m.tflite", "tflite")
    interpreter = tf.lite.Interpreter(model_path=str(tmp_path / "m.tflite"))
    step = interpreter.get_signature_runner("serving_default")
    names = interpreter.get_signature_list()["serving_default"]["inputs"]
    x = np.random.default_rng(1).normal(size=(2, T, 3)).astype("float32")
    want = unrolled.model(x)
    state = {"t": np.array(0, dtype=np.int32), "buf_h": np.zeros((2, 2, 6), np.float32),
             "buf_x": np.zeros((2, 1, 3), np.float32), "buf_c": np.zeros((2, 1, 5), np.float32),
             "cell_c": np.zeros((2, 5), np.float32)}
    assert sorted(names) == sorted(["x", *state]), names  # zeros are a valid first state: step 0 starts fresh
    ys = []
    for t in range(T):
        out = step(x=x[:, t], **state)
        state = {k: np.array(out[k]) for k in state}  # (the runner reuses its output buffers)
        ys.append(np.array(out["y"]))
    np.testing.assert_allclose(np.stack(ys, axis=1), want["y"].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.array(out["label"]), want["label"].numpy(), rtol=1e-4, atol=1e-5)


def test_cli_exports_the_japanese_vowels_spec_with_a_step_signature(tmp_path: Path, capsys) -> None:
    out = tmp_path / "jv"
    assert main(["export", str(ROOT / "specs" / "sequences" / "japanese_vowels.rnn"), "--format", "saved_model",
                 "-o", str(out)]) == 0
    assert "signatures: serving_default, step, initial_state" in capsys.readouterr().out
    served = tf.saved_model.load(str(out))
    x = np.random.default_rng(2).normal(size=(2, 9, 12)).astype("float32")
    state = served.signatures["initial_state"](batch=tf.constant(2))
    for t in range(9):
        step = served.signatures["step"](x=tf.constant(x[:, t]), **state)
        state = {k: step[k] for k in state}
    whole = served.signatures["serving_default"](x=tf.constant(x))
    np.testing.assert_allclose(step["speaker"].numpy(), whole["speaker"].numpy(), rtol=1e-5, atol=1e-6)


def test_a_spec_that_cannot_stream_says_why(tmp_path: Path, capsys) -> None:
    spec = ROOT / "specs" / "sequences" / "italy_power.rnn"  # a backward stream
    assert main(["export", str(spec), "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "reversed time" in err and "--whole-only" in err
    assert main(["export", str(spec), "--whole-only", "-o", str(tmp_path / "w")]) == 0
    assert "serving_default" in tf.saved_model.load(str(tmp_path / "w")).signatures


def test_export_from_a_trained_run_folder_keeps_its_weights(tmp_path: Path) -> None:
    spec = tmp_path / "s.rnn"
    spec.write_text("model s\ninput x[t]: (2,)\ntarget y: real(1)\nsteps 5\nh[t] = gru(x[t], 4)\n"
                    "y = dense(h[last], 1)\ntrain { epochs 1  batch 8 }\n")
    data = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(24, 5, 2)).astype("float32")
    np.savez(data, x_train=xs[:16], y_train=xs[:16, :, :1].sum(1), x_test=xs[16:], y_test=xs[16:, :, :1].sum(1))
    run = tmp_path / "run"
    assert main(["compile", str(spec), "--train", "--data", str(data), "--out", str(run), "--no-summary"]) == 0
    assert main(["export", str(run), "-o", str(tmp_path / "sm")]) == 0
    from rnndsl.backends.keras import layers as custom  # noqa: F401  (registers the custom layers)

    trained = keras.models.load_model(run / "model.keras")
    served = tf.saved_model.load(str(tmp_path / "sm"))
    got = served.signatures["serving_default"](x=tf.constant(xs[16:]))["y"].numpy()
    np.testing.assert_allclose(got, trained(xs[16:]).numpy(), rtol=1e-5, atol=1e-6)


MASKED = ("model m\ninput x[t]: (2,)\ntarget y: real(1)\nh[t] = gru(x[t], 4)\ny = dense(h[last], 1)\n"
          "train { epochs 1  batch 8 }\n")


def _masked_run(tmp_path: Path):
    """A looped run trained on sequences of different lengths (masked); its test inputs and lengths."""
    spec = tmp_path / "m.rnn"
    spec.write_text(MASKED)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(24, 6, 2)).astype("float32")
    lengths = rng.integers(2, 7, size=24).astype("int32")
    for i, n in enumerate(lengths):
        xs[i, n:] = 0.0
    ys = xs[:, :, :1].sum(1)
    data = tmp_path / "d.npz"
    np.savez(data, x_train=xs[:16], y_train=ys[:16], lengths_train=lengths[:16], x_test=xs[16:], y_test=ys[16:],
             lengths_test=lengths[16:])
    run = tmp_path / "run"
    assert main(["compile", str(spec), "--train", "--data", str(data), "--lowering", "looped", "--out", str(run),
                 "--no-summary"]) == 0
    return run, xs[16:], lengths[16:]


def test_export_of_a_masked_looped_run_keeps_masking(tmp_path: Path) -> None:
    """The export is built from the run folder's bindings exactly as the run's model was: masked included."""
    import json

    from rnndsl.backends.keras import layers as custom  # noqa: F401  (registers the custom layers)

    run, x, lengths = _masked_run(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["format"] == 2 and manifest["lowering"] == "looped" and manifest["bindings"]["masked"]
    want = keras.models.load_model(run / "model.keras")({"x": x, "lengths": lengths}).numpy()
    padded = x.copy()
    for i, n in enumerate(lengths):
        padded[i, n:] = 1e3  # what lies past a sequence's end must change nothing

    assert main(["export", str(run), "--whole-only", "-o", str(tmp_path / "whole")]) == 0
    whole = tf.saved_model.load(str(tmp_path / "whole")).signatures["serving_default"]
    assert "lengths" in whole.structured_input_signature[1]  # an unmasked export has no lengths input
    got = whole(x=tf.constant(padded), lengths=tf.constant(lengths))["y"].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

    assert main(["export", str(run), "-o", str(tmp_path / "steps")]) == 0  # streamed: each sequence to its end
    served = tf.saved_model.load(str(tmp_path / "steps"))
    for i, n in enumerate(lengths):
        state = served.signatures["initial_state"](batch=tf.constant(1))
        for t in range(int(n)):
            out = served.signatures["step"](x=tf.constant(padded[i:i + 1, t]), **state)
            state = {k: out[k] for k in state}
        np.testing.assert_allclose(out["y"].numpy()[0], want[i], rtol=1e-5, atol=1e-5)
