"""The TensorFlow backend.  Marked `tf`: slower than the text-only tests, run apart with -m tf."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from conftest import ALL_SPECS, MNIST_DIR, ROOT, spec_id  # noqa: E402
from rnndsl.backends.keras import layers as tf_layers  # noqa: E402
from rnndsl.cli import main  # noqa: E402
from rnndsl.data import synthetic  # noqa: E402
from rnndsl.backends.keras import build_models as emit_tf  # noqa: E402
from rnndsl.pipeline import compile_text  # noqa: E402
from rnndsl.backends.keras.builders import BUILDERS  # noqa: E402
from rnndsl.catalogue import DATASETS, KINDS  # noqa: E402
from rnndsl.training.config import RunConfig  # noqa: E402
from rnndsl.training.loop import fit  # noqa: E402

pytestmark = pytest.mark.tf


def _grads(compiled, x, y):
    with tf.GradientTape() as tape:
        logits = compiled.logits(x, training=True)
        loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    return loss, tape.gradient(loss, compiled.logits.trainable_weights)


def test_every_catalogue_kind_has_a_keras_builder() -> None:
    assert sorted(k for k in KINDS if k not in BUILDERS) == []
    assert sorted(k for k in BUILDERS if k not in KINDS) == []


@pytest.mark.parametrize("path", ALL_SPECS, ids=[spec_id(p) for p in ALL_SPECS])
def test_spec_builds_counts_and_trains_one_step(path: Path) -> None:
    checked = compile_text(path.read_text())
    keras.utils.set_random_seed(0)
    compiled = emit_tf(checked)
    assert compiled.model.count_params() == checked.total_params
    data = synthetic(DATASETS[checked.program.data], n_train=4, n_test=4)
    x = tf.constant(data.train.inputs["image"])
    loss, grads = _grads(compiled, x, tf.constant(data.train.targets["out"]))
    assert np.isfinite(loss.numpy()).all()
    for w, g in zip(compiled.logits.trainable_weights, grads):
        assert g is not None, f"no gradient reaches {w.path}"
        assert float(tf.reduce_max(tf.abs(g))) > 0, f"zero gradient at {w.path}"
    opt = keras.optimizers.Adam(1e-3)
    opt.apply_gradients(zip(grads, compiled.logits.trainable_weights))
    assert compiled.model(x, training=False).shape == (4, DATASETS[checked.program.data].classes)


def test_gradient_reaches_the_input_at_step_zero() -> None:
    # The image enters only at step 0; every later step reads the state, so a gradient
    # at the image exists only with back-propagation through time.
    text = """model bptt
data mnist
steps 4
defaults bias=false
x[t] = image when t == 0
x[t] = 0 * image otherwise
s[t] = conv(x[t], 4, 3) + conv(s[t-1], 4, 1)
out = s[last] | elu | conv(10, 1) | gap | softmax
"""
    compiled = emit_tf(compile_text(text))
    x = tf.Variable(np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(compiled.logits(x, training=True))
    g = tape.gradient(loss, x)
    assert g is not None and float(tf.reduce_max(tf.abs(g))) > 0


def test_a_shared_layer_appears_once_however_many_steps() -> None:
    checked = compile_text((ROOT / "specs" / "vanilla.rnn").read_text())
    model = emit_tf(checked).model
    names = [layer.name for layer in model.layers]
    assert names.count("W") == 1 and names.count("H") == 1
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == len([info for info in checked.layers if info.kind == "conv"]) == 5
    dual = emit_tf(compile_text((ROOT / "specs" / "dual.rnn").read_text())).model
    assert [layer.name for layer in dual.layers].count("K") == 1  # applied twice in the head


def test_saved_model_loads_back_with_the_same_predictions(tmp_path: Path) -> None:
    checked = compile_text((ROOT / "specs" / "patterns" / "cells.rnn").read_text())
    compiled = emit_tf(checked)
    x = synthetic(DATASETS[checked.program.data], n_train=3, n_test=1).train.inputs["image"]
    before = compiled.model.predict(x, verbose=0)
    compiled.model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, rtol=1e-5, atol=1e-6)


def test_same_seed_same_run() -> None:
    checked = compile_text((ROOT / "specs" / "lag2.rnn").read_text())
    data = synthetic(DATASETS[checked.program.data], n_train=64, n_test=32, seed=3)
    settings = RunConfig("adam", {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, 16, 1, 7)
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(7)
        runs.append(fit(emit_tf(checked), data, settings, progress=False).rows[0])
    assert (runs[0].train_loss, runs[0].test_loss) == (runs[1].train_loss, runs[1].test_loss)


def test_ctrl_c_keeps_the_epochs_done() -> None:
    checked = compile_text((ROOT / "specs" / "vanilla.rnn").read_text())
    data = synthetic(DATASETS[checked.program.data], n_train=32, n_test=16)
    settings = RunConfig("adam", {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, 16, 5, 0)

    def stop_after_first(row) -> None:
        raise KeyboardInterrupt

    result = fit(emit_tf(checked), data, settings, progress=False, on_epoch=stop_after_first)
    assert result.interrupted and len(result.rows) == 1


@pytest.mark.skipif(not MNIST_DIR.exists(), reason="../shared/data/mnist is not beside the checkout")
def test_short_real_mnist_run_beats_chance_and_writes_the_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    rc = main(["compile", str(ROOT / "tests" / "data" / "quick_mnist.rnn"), "--train", "--data", "mnist",
               "--data-dir", str(MNIST_DIR), "--limit", "3000", "--seed", "1", "--out", str(out), "--no-summary"])
    assert rc == 0
    for name in ("model.keras", "spec.rnn", "resolved.rnn", "metrics.csv", "curves.png", "manifest.json",
                 "diagram.dot"):
        assert (out / name).exists(), name
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 2
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    assert float(rows[-1]["test_acc"]) > 0.8  # chance is 0.1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"]["train"] == 3000 and manifest["seed"] == 1
    assert "epochs 2" in (out / "resolved.rnn").read_text()


def test_compile_without_train_saves_the_model(tmp_path: Path, capsys) -> None:
    assert main(["compile", str(ROOT / "specs" / "twin.rnn"), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "Keras counts 1,156,512 parameters, rnndsl check counts 1,156,512" in out
    assert (tmp_path / "r" / "model.keras").exists()


def test_zero_state_elision_keeps_the_function() -> None:
    # A learned initial state starts at zero but is not elided: both models must agree.
    text = """model elide
data mnist
steps 3
defaults bias=false
a[t] = tanh(conv(image, 4, 3) + conv(b[t-1], 4, 1) + conv(a[t-2], 4, 1))
b[t] = elu(conv(a[t-1], 4, 3)) * sigmoid(conv(image, 4, 1))
out = concat(a[last], b[last]) | gap | dense(10) | softmax
"""
    elided = emit_tf(compile_text(text)).model
    plain = emit_tf(compile_text(text + "init a = learned\ninit b = learned\n")).model
    by_name = {w.path.split("/")[0] + "/" + w.name: w for w in plain.weights}
    for w in elided.weights:
        by_name[w.path.split("/")[0] + "/" + w.name].assign(w)
    x = synthetic(DATASETS[compile_text(text).program.data], n_train=2, n_test=1).train.inputs["image"]
    np.testing.assert_allclose(elided(x), plain(x), rtol=1e-5, atol=1e-6)
    assert elided.count_params() + 2 * 28 * 28 * 4 == plain.count_params()
