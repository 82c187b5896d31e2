"""The looped lowering computes what the unrolled one does: outputs and gradients, every spec (on TensorFlow;
tests/test_backends.py holds both lowerings to TensorFlow's on JAX and PyTorch).

Both models get the same weights (copied by weight id); the comparison runs in inference mode.
Random transforms cannot draw the same numbers in two different graphs, so their scale (or
probability) is set to 0 in the spec text first; everything else is the spec as written.
Marked `tf`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from conftest import ALL_SPECS, ROOT, spec_id  # noqa: E402
from test_backends import random_inputs  # noqa: E402
from rnndsl.backends.keras import build_models  # noqa: E402
from rnndsl.passes.loops import NotLoopable  # noqa: E402
from rnndsl.pipeline import analyse  # noqa: E402
from rnndsl.semantics.symbols import Bindings  # noqa: E402

pytestmark = pytest.mark.tf

# Specs that cannot loop, and why (each is a NotLoopable the planner raises; none today).
NOT_LOOPABLE: dict[str, str] = {}


def _deterministic(text: str) -> str:
    text = re.sub(r"\b(gaussian_noise|poisson_noise|uniform_noise)\(\s*[-0-9.eE]+", r"\1(0", text)
    return re.sub(r"\b(flip_lr|blur)\(([^)]*)\bp=[0-9.]+", r"\1(\2p=0", text)


def _inputs(program, rng: np.random.Generator):
    xs = random_inputs(program, rng)
    return next(iter(xs.values())) if len(xs) == 1 else xs


def _run(models, x):
    """The logits and the gradient of a scalar of them, by weight id."""
    with tf.GradientTape() as tape:
        y = models.logits(x, training=False)
        ys = list(y.values()) if isinstance(y, dict) else [y]
        loss = tf.add_n([tf.reduce_sum(tf.square(v) * 0.5 + v) for v in ys])
    keys = [(k, i) for k, layer in models.layers.items() for i in range(len(layer.trainable_weights))]
    weights = [models.layers[k].trainable_weights[i] for k, i in keys]
    grads = tape.gradient(loss, weights)
    return [np.asarray(v) for v in ys], dict(zip(keys, grads))


def _compare(text: str, bindings: Bindings | None = None) -> None:
    checked = analyse(_deterministic(text), bindings).checked
    keras.utils.set_random_seed(0)
    unrolled = build_models(checked, "unrolled")
    looped = build_models(checked, "looped")
    assert looped.lowering == "looped" and looped.model.count_params() == unrolled.model.count_params()
    looped.copy_weights_from(unrolled)
    x = _inputs(checked.program, np.random.default_rng(0))
    (yu, gu), (yl, gl) = _run(unrolled, x), _run(looped, x)
    for a, b in zip(yu, yl):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5 * (1 + np.abs(a).max()))
    assert gu.keys() == gl.keys()
    for key in gu:
        a, b = gu[key], gl[key]
        if a is None:
            assert b is None or not np.any(b), key
            continue
        a, b = np.asarray(a), np.asarray(b)
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5 * (1 + np.abs(a).max()), err_msg=str(key))


@pytest.mark.parametrize("path", ALL_SPECS, ids=[spec_id(p) for p in ALL_SPECS])
def test_looped_equals_unrolled(path: Path) -> None:
    if spec_id(path) in NOT_LOOPABLE:
        with pytest.raises(NotLoopable, match=NOT_LOOPABLE[spec_id(path)]):
            build_models(analyse(path.read_text()).checked, "looped")
        return
    _compare(path.read_text())


@pytest.mark.parametrize("name", ["japanese_vowels", "italy_power", "seq_mnist"])
def test_looped_equals_unrolled_with_masking(name: str) -> None:
    # Sequences of different lengths: streams freeze past each end (the backward stream of
    # italy_power keeps its initial state), ranges and `last` use each sequence's own steps.
    text = (ROOT / "specs" / "sequences" / f"{name}.rnn").read_text()
    steps = analyse(text).checked.program.steps
    _compare(text, Bindings(steps=steps, masked=True))


GUARDS_AND_RANGES = """
model mixed
input x[t]: (3,)
target y[t]: real(2)
steps 9
param u: (4,) init=normal(0.5)
init a = learned(normal(0.3))
a[t] = tanh(dense(x[t], 4) + u * a[t-1])                    when t % 3 == 0 or t == 4
a[t] = a[t-1] * 0.5 + dense(b[t-2], 4)                      otherwise
b[t] = tanh(dense(a[t], 4) + mean(a[t-3..t]) - b[t-1])
c[t] = sum(softmax_steps(dense(a[0..t-1] * b[t], 1)) * a[0..t-1])
r[t] = tanh(dense(x[t], 4) + dense(r[t+1], 4) + a[3])
y[t] = dense(concat(c[t], r[t], b[last]), 2)
"""


def test_looped_equals_unrolled_with_guards_lags_ranges_and_a_backward_stream() -> None:
    _compare(GUARDS_AND_RANGES)


LAST_STEP_SOFTMAX = """
model last_softmax
input x[t]: (3,)
target y: class(4)
steps 5
h[t] = tanh(dense(x[t], 4) + dense(h[t-1], 4))
y = softmax(h[last])
"""


def test_a_final_softmax_of_a_last_step_is_split_off_in_both_lowerings() -> None:
    # The loss reads the softmax's input, h[last], read as the softmax reads it (the looped
    # lowering once kept the softmax when its input was a step of a stream).
    _compare(LAST_STEP_SOFTMAX)
    checked = analyse(LAST_STEP_SOFTMAX).checked
    x = _inputs(checked.program, np.random.default_rng(0))
    for lowering in ("unrolled", "looped"):
        models = build_models(checked, lowering)
        probs, logits = models.model(x).numpy(), models.logits(x).numpy()
        np.testing.assert_allclose(probs, tf.nn.softmax(logits).numpy(), rtol=1e-5, atol=1e-6)
        assert not np.allclose(probs, logits), lowering


def test_the_looped_lowering_runs_the_schedules_plan() -> None:
    from rnndsl.backends.costs import KERAS_TENSORFLOW
    from rnndsl.backends.keras.looped import LoopedProgram
    from rnndsl.passes import prepare

    checked = analyse(GUARDS_AND_RANGES).checked
    prep = prepare(checked, lowering="looped", costs=KERAS_TENSORFLOW)
    models = build_models(prep)
    (program,) = [layer for layer in models.model.layers if isinstance(layer, LoopedProgram)]
    assert program.plan is prep.schedule.loops  # not planned again
    with pytest.raises(ValueError, match="loop plan"):
        LoopedProgram(checked.program.source, {}, checked=checked)


def test_the_lowerings_are_drivers_over_one_set_of_rules() -> None:
    # Neither driver imports the other, the shared modules import no driver, and the rules (ops.py)
    # use keras.ops, not TensorFlow: a new lowering is one more driver (and one entry in build.py).
    import ast

    package = ROOT / "rnndsl" / "backends" / "keras"

    def imports(name: str) -> set[str]:
        found = set()
        for node in ast.walk(ast.parse((package / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                found.add(("." * node.level) + (node.module or ""))
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        return found

    assert ".looped" not in imports("unrolled") and ".unrolled" not in imports("looped")
    for shared in ("models", "ops", "layers", "builders"):
        assert not {".unrolled", ".looped"} & imports(shared), shared
    assert not any(m.split(".")[0] == "tensorflow" for m in imports("ops"))
    # Only export (SavedModel, TFLite) imports TensorFlow, and control.py inside its TensorFlow loop: the
    # lowerings and the layers run on every Keras backend.
    for path in sorted(package.glob("*.py")):
        if path.stem not in ("export", "control"):
            assert not any(m.split(".")[0] == "tensorflow" for m in imports(path.stem)), path.name
    tree = ast.parse((package / "control.py").read_text())
    top = {a.name for node in tree.body if isinstance(node, ast.Import) for a in node.names}
    assert "tensorflow" not in top and "tensorflow" in imports("control")


def test_saved_looped_model_loads_back_with_the_same_predictions(tmp_path: Path) -> None:
    # A looped model is saved with its spec text and what the data bound; loading rebuilds the loop.
    from rnndsl.backends.keras import layers as custom  # noqa: F401  (registers the custom layers)

    checked = analyse(GUARDS_AND_RANGES).checked
    keras.utils.set_random_seed(1)
    models = build_models(checked, "looped")
    x = _inputs(checked.program, np.random.default_rng(1))
    models.model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x).numpy(), models.model(x).numpy(), rtol=1e-6, atol=1e-6)


def test_cli_trains_a_long_sequence_with_the_looped_lowering(tmp_path: Path, capsys) -> None:
    from rnndsl.cli import main

    data = tmp_path / "long.npz"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 500, 2)).astype("float32")
    np.savez(data, x_train=x[:32], y_train=(x[:32, :, 0].mean(1) > 0).astype("int64"),
             x_test=x[32:], y_test=(x[32:, :, 0].mean(1) > 0).astype("int64"))
    spec = tmp_path / "long.rnn"
    spec.write_text("model long\ninput x[t]: (2,)\ntarget y: class(2)\nh[t] = gru(x[t], 8)\n"
                    "y = h[last] | dense(2)\ntrain { batch 16  epochs 1 }\n")
    out = tmp_path / "run"
    assert main(["compile", str(spec), "--train", "--data", str(data), "--out", str(out), "--no-summary"]) == 0
    text = capsys.readouterr().out
    assert "looped over 500 steps" in text  # auto: 500 steps loop
    import json

    assert json.loads((out / "manifest.json").read_text())["lowering"] == "looped"


def test_a_ten_thousand_step_spec_trains_looped(tmp_path: Path) -> None:
    # The limit on steps, through the CLI: the looped graph does not grow with T.
    from rnndsl.cli import main

    data = tmp_path / "long.npz"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 10_000, 1)).astype("float32")
    y = (x[:, -100:, 0].mean(1) > 0).astype("int64")
    np.savez(data, x_train=x[:8], y_train=y[:8], x_test=x[8:], y_test=y[8:])
    spec = tmp_path / "long.rnn"
    spec.write_text("model ten_thousand\ninput x[t]: (1,)\ntarget y: class(2)\n"
                    "h[t] = tanh(dense(x[t], 8) + dense(h[t-1], 8) + dense(h[t-2], 8))\n"
                    "y = h[last] | dense(2)\ntrain { batch 8  epochs 1 }\n")
    out = tmp_path / "run"
    assert main(["compile", str(spec), "--train", "--data", str(data), "--lowering", "looped", "--out", str(out),
                 "--no-summary"]) == 0
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["lowering"] == "looped" and manifest["steps"] == 10_000 and manifest["epochs_done"] == 1
