"""Sequence inputs, masking and targets of every kind, through the Keras backend and the train step."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from conftest import ROOT  # noqa: E402
from rnndsl.backends.keras import build_models  # noqa: E402
from rnndsl.cli import main  # noqa: E402
from rnndsl.pipeline import Bindings, analyse  # noqa: E402

pytestmark = pytest.mark.tf
SHARED = ROOT.parent / "shared" / "data" / "timeseries"

# A forward GRU, a backward stream, a stream that reads both, a per-step output and a last-step output.
MIXED = """model mixed
input x[t]: (3,)
target y[t]: real(2)
target c: class(4)
f[t] = gru(x[t], 5)
g[t] = tanh(dense(x[t], 4) + dense(g[t+1], 4, bias=false))
h[t] = tanh(dense(concat(f[t], g[t]), 6) + dense(h[t-1], 6))
y[t] = dense(h[t], 2)
c = concat(h[last], g[0]) | dense(4)
"""


def _models(steps: int, masked: bool):
    analysed = analyse(MIXED, Bindings(steps=steps, masked=masked))
    keras.utils.set_random_seed(0)
    return build_models(analysed.checked)


def test_masked_batch_equals_each_sequence_alone() -> None:
    rng = np.random.default_rng(0)
    lengths = np.array([7, 3, 1, 5], np.int32)
    T = int(lengths.max())
    x = rng.normal(size=(4, T, 3)).astype(np.float32)
    for i, n in enumerate(lengths):
        x[i, n:] = 0.0  # padding
    batch = _models(T, masked=True)
    got = batch.model({"x": x, "lengths": lengths}, training=False)
    for i, n in enumerate(lengths):
        alone = _models(int(n), masked=False)
        alone.model.set_weights(batch.model.get_weights())
        want = alone.model({"x": x[i:i + 1, :n]}, training=False) if len(alone.input_names) > 1 \
            else alone.model(x[i:i + 1, :n], training=False)
        np.testing.assert_allclose(got["c"][i], want["c"][0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got["y"][i, :n], want["y"][0], rtol=1e-5, atol=1e-6)


def test_padded_steps_never_enter_the_loss_or_the_metrics() -> None:
    from rnndsl.training.step import make_eval_step

    models = _models(6, masked=True)
    step = make_eval_step(models.logits, models.heads, steps=6)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, 3)).astype(np.float32)
    lengths = np.array([6, 2], np.int32)
    y = {"y": rng.normal(size=(2, 6, 2)).astype(np.float32), "c": np.array([1, 2], np.int32)}
    loss_a, stats_a = step({"x": x, "lengths": lengths}, y, lengths)
    y["y"][1, 2:] = 1e6  # garbage in the padding of the second sequence
    x[1, 2:] = 1e6
    loss_b, stats_b = step({"x": x, "lengths": lengths}, y, lengths)
    assert float(loss_a) == pytest.approx(float(loss_b), rel=1e-6)
    for (s1, c1), (s2, c2) in zip(stats_a, stats_b):
        assert float(s1) == pytest.approx(float(s2), rel=1e-6) and float(c1) == float(c2)
    assert float(stats_a[0][1]) == 2 * (6 + 2)  # MSE counted over valid steps x 2 values


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/timeseries is not beside the checkout")
def test_japanese_vowels_trains_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    rc = main(["compile", str(ROOT / "specs" / "sequences" / "japanese_vowels.rnn"), "--train", "--data",
               str(SHARED / "JapaneseVowels_TRAIN.ts"), "--epochs", "2", "--out", str(out), "--no-summary"])
    assert rc == 0
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"]["masked"] and manifest["steps"] == 29
    assert manifest["targets"] == [{"name": "speaker", "kind": "class", "per_step": False, "size": 9,
                                    "loss": "crossentropy"}]


def test_a_users_npz_trains_without_python(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n, T = 64, 12
    x = rng.normal(size=(n, T, 2)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)  # the sign of a sum over time
    np.savez(tmp_path / "sums.npz", x_train=x[:48], y_train=y[:48], x_test=x[48:], y_test=y[48:])
    spec = tmp_path / "sums.rnn"
    spec.write_text("model sums\ninput x[t]: (2,)\ntarget y: class\nh[t] = rnn(x[t], 8)\ny = h[last] | dense(2)\n"
                    "train { optimizer adam(lr=1e-2)  batch 16  epochs 3 }\n")
    out = tmp_path / "run"
    assert main(["compile", str(spec), "--train", "--data", str(tmp_path / "sums.npz"), "--out", str(out),
                 "--no-summary"]) == 0
    assert (out / "curves.png").exists()


def test_a_regression_reports_mse_and_mae_not_accuracy(tmp_path: Path) -> None:
    series = np.sin(np.arange(120) / 5.0) * 10 + 50
    (tmp_path / "wave.csv").write_text("t,value\n" + "".join(f"{i},{v:.4f}\n" for i, v in enumerate(series)))
    out = tmp_path / "run"
    spec = ROOT / "specs" / "sequences" / "airline.rnn"
    assert main(["compile", str(spec), "--train", "--data", str(tmp_path / "wave.csv"), "--window", "12",
                 "--epochs", "2", "--out", str(out), "--no-summary"]) == 0
    header = next(csv.reader(open(out / "metrics.csv")))
    assert header == ["epoch", "train_loss", "train_mse", "train_mae", "test_loss", "test_mse", "test_mae", "seconds"]
    assert json.loads((out / "manifest.json").read_text())["metrics"] == ["loss", "mse", "mae"]


def test_data_that_does_not_fit_the_spec_is_a_usage_error_before_training(tmp_path: Path, capsys) -> None:
    np.savez(tmp_path / "d.npz", x_train=np.zeros((4, 5, 3), np.float32), y_train=np.zeros(4, np.int64),
             x_test=np.zeros((2, 5, 3), np.float32), y_test=np.zeros(2, np.int64))
    spec = tmp_path / "s.rnn"
    spec.write_text("model s\ninput x[t]: (2,)\ntarget y: class\nh[t] = rnn(x[t], 8)\ny = h[last] | dense(2)\n")
    assert main(["compile", str(spec), "--train", "--data", str(tmp_path / "d.npz"), "--out",
                 str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "declares input 'x' of shape (2,) per step, but the data gives (3,) per step" in err


def test_the_python_api_trains_on_arrays_and_on_tf_data() -> None:
    import rnndsl

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6, 2)).astype(np.float32)
    y = (x[:, :, 1].mean(axis=1) > 0).astype(np.int32)
    spec = rnndsl.loads("model api\ninput x[t]: (2,)\ntarget y: class(2)\nh[t] = gru(x[t], 8)\ny = h[last] | dense(2)\n")
    trained = spec.fit(x, y, epochs=2, batch_size=8, progress=False)
    assert [h["epoch"] for h in trained.history] == [1, 2] and "test_acc" in trained.history[-1]
    assert trained.model(x[:3]).shape == (3, 2)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    again = spec.fit(ds, validation_data=(x[:8], y[:8]), epochs=1, progress=False)
    assert len(again.data.train) == 40 and len(again.data.test) == 8
    model = spec.keras_model()
    assert model.count_params() == spec.checked.total_params


def test_the_worked_example_in_docs_data_md_runs(tmp_path: Path, monkeypatch) -> None:
    import re

    doc = (ROOT / "docs" / "data.md").read_text()
    worked = doc.split("## A worked example")[1].split("## A series")[0]
    code = re.search(r"```python\n(.*?)```", worked, re.S).group(1)
    spec = re.search(r"```rnn\n(.*?)```", worked, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/data.md", "exec"), {})
    (tmp_path / "sums.rnn").write_text(spec)
    assert main(["compile", "sums.rnn", "--train", "--data", "sums.npz", "--out", "run", "--no-summary"]) == 0
    final = json.loads((tmp_path / "run" / "manifest.json").read_text())["final"]
    assert final["test_acc"] > 0.8  # chance is 0.5


@pytest.mark.skipif(not (ROOT.parent / "shared" / "data" / "mnist").exists(), reason="no ../shared/data/mnist")
def test_seq_mnist_has_a_loss_at_every_step(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["compile", str(ROOT / "specs" / "sequences" / "seq_mnist.rnn"), "--train", "--data", "mnist",
                 "--data-dir", str(ROOT.parent / "shared" / "data" / "mnist"), "--limit", "512", "--epochs", "1",
                 "--out", str(out), "--no-summary"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["targets"][0]["per_step"] and manifest["metrics"] == ["loss", "acc"]
    assert 0.0 < manifest["final"]["test_acc"] < 1.0  # the accuracy over all 28 steps of every test image


def test_a_multi_label_target_trains_with_sigmoid_cross_entropy(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(48, 5, 3)).astype(np.float32)
    labels = np.stack([x[:, :, 0].mean(1) > 0, x[:, :, 1].mean(1) > 0, x[:, -1, 2] > 0], axis=1)
    np.savez(tmp_path / "l.npz", x_train=x[:40], y_train=labels[:40], x_test=x[40:], y_test=labels[40:])
    spec = tmp_path / "l.rnn"
    spec.write_text("model tags\ninput x[t]: (3,)\ntarget y: labels(3)\nh[t] = gru(x[t], 8)\n"
                    "y = h[last] | dense(3) | sigmoid\ntrain { optimizer adam(lr=1e-2)  batch 8  epochs 2 }\n")
    out = tmp_path / "run"
    assert main(["compile", str(spec), "--train", "--data", str(tmp_path / "l.npz"), "--out", str(out),
                 "--no-summary"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["metrics"] == ["loss", "binacc"] and manifest["targets"][0]["loss"] == "sigmoid"


@pytest.mark.skipif(not (SHARED / "Airline.csv").exists(), reason="../shared/data/timeseries is not beside the checkout")
def test_the_csv_command_in_docs_data_md_runs(tmp_path: Path, monkeypatch) -> None:
    import re
    import shlex

    doc = (ROOT / "docs" / "data.md").read_text()
    command = re.search(r"## A series.*?```sh\n(.*?)\n```", doc, re.S).group(1)
    argv = shlex.split(command)
    assert argv[:2] == ["rnndsl", "compile"]
    monkeypatch.chdir(ROOT)
    out = tmp_path / "run"
    assert main([*argv[1:], "--epochs", "2", "--out", str(out), "--no-summary"]) == 0
    assert json.loads((out / "manifest.json").read_text())["metrics"] == ["loss", "mse", "mae"]


def test_an_input_shape_left_to_the_data_is_taken_from_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 7, 5)).astype(np.float32)
    y = (x[:, :, 4].sum(1) > 0).astype(np.int64)
    np.savez(tmp_path / "d.npz", x_train=x[:24], y_train=y[:24], x_test=x[24:], y_test=y[24:])
    spec = tmp_path / "s.rnn"
    spec.write_text("model free\ninput x[t]\ntarget y: class\nh[t] = gru(x[t], 8)\ny = h[last] | dense(2)\n")
    out = tmp_path / "run"
    assert main(["compile", str(spec), "--train", "--data", str(tmp_path / "d.npz"), "--epochs", "1",
                 "--out", str(out), "--no-summary"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["steps"] == 7 and manifest["parameters"] == 3 * (5 * 8 + 8 * 8 + 8) + 8 * 2 + 2
