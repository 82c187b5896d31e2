"""Training on each Keras backend (TensorFlow, JAX, PyTorch): the same run folder, checkpoints and resume.

Keras picks its backend once per process, so each backend's runs are one child process (the
driver below) that calls the command line in-process: a run of 2 epochs, the same run stopped
by a real SIGINT inside epoch 2 (after a mid-epoch checkpoint) and resumed, and a resume that
asks for another backend.  The resumed run's metrics.json and weights must equal the whole
run's exactly.  The spec has masked sequences, a class target from the last step and a real
target at every step, and dropout (a random generator whose state the checkpoint carries).
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

SPEC = """\
model heads "two targets on masked sequences: a class from the last step, a level at every step"
input x[t]: (3,)
target y_label: class(3)
target y_level[t]: real(1)
h[t] = gru(x[t], 8)
y_label = h[last] | dropout(0.2) | dense(3)
y_level[t] = dense(h[t], 1)
train { optimizer adam(lr=1e-2)  batch 8  epochs 2  seed 1 }
"""

BACKENDS = [pytest.param("tensorflow", marks=pytest.mark.tf), pytest.param("jax", marks=pytest.mark.jax),
            pytest.param("torch", marks=pytest.mark.torch)]
# the resume test's lowering on each backend (the looped one runs a tf.while_loop, a jax.lax.scan, a Python loop)
LOWERING = {"tensorflow": "unrolled", "jax": "looped", "torch": "looped"}

DRIVER = textwrap.dedent("""
    import json, os, signal, sys
    from rnndsl.cli import main
    import rnndsl.training.loop as loop

    spec, data, folder, backend, other, lowering = sys.argv[1:7]
    common = [spec, "--train", "--data", data, "--lowering", lowering, "--checkpoint-every", "2",
              "--no-summary"]
    # KERAS_BACKEND (set by the test) is the backend when no flag names one
    assert main(["compile", *common, "--out", folder + "/whole"]) == 0
    import keras
    assert keras.backend.backend() == backend, keras.backend.backend()

    real = loop.make_train_step
    calls = []

    def stopping(*a, **kw):  # a real Ctrl-C (SIGINT) during the 8th batch: epoch 2, after its batch-2 checkpoint
        step = real(*a, **kw)

        def run(*args):
            calls.append(1)
            if len(calls) == 8:
                os.kill(os.getpid(), signal.SIGINT)
            return step(*args)

        return run

    loop.make_train_step = stopping
    assert main(["compile", *common, "--backend", backend, "--out", folder + "/stopped"]) == 130
    loop.make_train_step = real
    state = json.load(open(folder + "/stopped/checkpoints/state.json"))
    assert (state["epoch"], state["step"]) == (2, 3), state
    assert main(["compile", "--resume", folder + "/stopped"]) == 0
    assert main(["compile", "--resume", folder + "/stopped", "--backend", other, "--epochs", "3"]) == 2
""")



def _data(path: Path) -> Path:
    r = np.random.default_rng(0)

    def split(n: int, steps: int = 6):
        x = r.normal(size=(n, steps, 3)).astype("float32")
        lengths = r.integers(2, steps + 1, size=n).astype("int32")
        for i, n_valid in enumerate(lengths):
            x[i, n_valid:] = 0
        label = (x[:, 0, 0] > 0).astype("int64") + (x[:, 0, 1] > 0)
        level = np.cumsum(x[:, :, 2:3], axis=1).astype("float32")
        return x, lengths, label, level

    arrays = {}
    for name, n in (("train", 40), ("test", 16)):
        x, lengths, label, level = split(n)
        arrays.update({f"x_{name}": x, f"lengths_{name}": lengths, f"y_label_{name}": label,
                       f"y_level_{name}": level})
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_stopped_and_resumed_run_equals_the_whole_run_on_each_backend(backend: str, tmp_path: Path) -> None:
    need_backend(backend)
    spec = tmp_path / "heads.rnn"
    spec.write_text(SPEC)
    data = _data(tmp_path / "heads.npz")
    other = "jax" if backend != "jax" else "torch"
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(spec), str(data), str(tmp_path), backend, other,
                           LOWERING[backend]],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"it trained on the {backend} backend, --backend asks for {other}" in proc.stderr
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    a, b = (json.loads((run / "metrics.json").read_text()) for run in (whole, stopped))
    assert len(a) == 2 and strip(a) == strip(b)
    assert {"train_y_label_acc", "train_y_level_mse", "test_y_level_mae"} <= set(a[0])
    with np.load(whole / "weights.npz") as wa, np.load(stopped / "weights.npz") as wb:
        assert sorted(wa.files) == sorted(wb.files) and wa.files
        for key in wa.files:
            np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)
    for run in (whole, stopped):
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["backend"] == backend and manifest["status"] == "finished"
        assert manifest["lowering"] == LOWERING[backend]
        assert backend in manifest["versions"]
    checkpoints = sorted(p.name for p in (stopped / "checkpoints").iterdir())
    assert len([c for c in checkpoints if c.endswith(".npz")]) == 2 and "state.json" in checkpoints


def test_strategy_on_another_backend_is_a_usage_error_naming_what_it_would_offer(tmp_path: Path, capsys) -> None:
    from rnndsl.cli import main

    spec = tmp_path / "heads.rnn"
    spec.write_text(SPEC)
    data = _data(tmp_path / "heads.npz")
    for backend, offer in (("jax", "jax.sharding"), ("torch", "DistributedDataParallel")):
        code = main(["compile", str(spec), "--train", "--data", str(data), "--backend", backend,
                     "--strategy", "mirrored", "--out", str(tmp_path / backend)])
        err = capsys.readouterr().err
        assert code == 2 and "tensorflow backend only" in err and offer in err, err
        assert not (tmp_path / backend).exists()  # refused before the run folder is made
    code = main(["compile", str(spec), "--train", "--data", str(data), "--backend", "torch", "--xla",
                 "--out", str(tmp_path / "xla")])
    assert code == 2 and "--xla" in capsys.readouterr().err


def test_keras_backend_names_an_unknown_backend_in_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "heads.rnn"
    spec.write_text(SPEC)
    data = _data(tmp_path / "heads.npz")
    proc = subprocess.run([sys.executable, "-m", "rnndsl", "compile", str(spec), "--train", "--data", str(data),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "KERAS_BACKEND": "theano"})
    assert proc.returncode == 2, proc.stderr
    assert "backend 'theano' (from KERAS_BACKEND) is not one rnndsl trains on" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


@pytest.mark.tf
def test_the_python_api_refuses_a_backend_other_than_the_one_keras_runs() -> None:
    import keras

    import rnndsl
    from rnndsl.errors import RnndslError

    running = keras.backend.backend()
    other = "jax" if running != "jax" else "torch"
    spec = rnndsl.loads(SPEC)
    x = np.zeros((10, 6, 3), np.float32)
    y = {"y_label": np.zeros(10, np.int64), "y_level": np.zeros((10, 6, 1), np.float32)}
    with pytest.raises(RnndslError, match=f"keras was already imported with the {running} backend.*"
                                          f"KERAS_BACKEND={other}"):
        spec.fit(x, y, lengths=np.full(10, 6), epochs=1, progress=False, backend=other)
    with pytest.raises(RnndslError, match="already imported"):
        spec.keras_model(backend=other)


TERMS = textwrap.dedent("""
    import json, sys
    import numpy as np
    from rnndsl.backends.keras import Head
    from rnndsl.ir import Loss, OutputDecl, TargetKind
    from rnndsl.training.step import _head_terms, _mask

    r = np.random.default_rng(5)
    lengths = np.array([4, 2, 3], np.int32)
    mask = _mask(lengths, 4)
    cases = {
        "class": (Head(OutputDecl("c", TargetKind.CLASS, 5), True), r.normal(size=(3, 5)), np.array([0, 4, 2]), None),
        "class_steps": (Head(OutputDecl("c", TargetKind.CLASS, 5, per_step=True), True), r.normal(size=(3, 4, 5)),
                        r.integers(0, 5, size=(3, 4)), mask),
        "mse_steps": (Head(OutputDecl("r", TargetKind.REAL, 2, per_step=True), False), r.normal(size=(3, 4, 2)),
                      r.normal(size=(3, 4, 2)), mask),
        "mae": (Head(OutputDecl("r", TargetKind.REAL, 2, loss=Loss.MAE), False), r.normal(size=(3, 2)),
                r.normal(size=(3, 2)), None),
        "labels": (Head(OutputDecl("l", TargetKind.LABELS, 3), True), r.normal(size=(3, 3)),
                   (r.random((3, 3)) > 0.5).astype(np.float32), None),
        "labels_probs": (Head(OutputDecl("l", TargetKind.LABELS, 3), False), r.random((3, 3)) * 0.98 + 0.01,
                         (r.random((3, 3)) > 0.5).astype(np.float32), None),
    }
    found = {}
    for name, (head, out, y, m) in cases.items():
        loss, parts = _head_terms(head, out.astype(np.float32), y, m)
        found[name] = [float(loss), [[float(a), float(b)] for a, b in parts]]
    print(json.dumps(found))
""")


def _reference() -> dict:
    """The same terms in plain numpy (the test's own arithmetic, not the code under test)."""
    r = np.random.default_rng(5)
    mask = np.arange(4)[None, :] < np.array([4, 2, 3])[:, None]

    def ce(logits, y):
        z = logits - logits.max(-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        return -np.take_along_axis(logp, y[..., None], -1)[..., 0]

    out, y = r.normal(size=(3, 5)), np.array([0, 4, 2])
    ref = {"class": [ce(out, y).mean(), [[(out.argmax(-1) == y).sum(), 3]]]}
    out, y = r.normal(size=(3, 4, 5)), r.integers(0, 5, size=(3, 4))
    n = mask.sum()
    ref["class_steps"] = [(ce(out, y) * mask).sum() / n, [[((out.argmax(-1) == y) * mask).sum(), n]]]
    out, y = r.normal(size=(3, 4, 2)), r.normal(size=(3, 4, 2))
    w = np.repeat(mask[..., None], 2, -1)
    se, ae = ((out - y) ** 2 * w).sum(), (np.abs(out - y) * w).sum()
    ref["mse_steps"] = [se / w.sum(), [[se, w.sum()], [ae, w.sum()]]]
    out, y = r.normal(size=(3, 2)), r.normal(size=(3, 2))
    se, ae = ((out - y) ** 2).sum(), np.abs(out - y).sum()
    ref["mae"] = [ae / 6, [[se, 6], [ae, 6]]]
    for name, logits in (("labels", None), ("labels_probs", None)):
        if name == "labels":
            out = r.normal(size=(3, 3))
            y = (r.random((3, 3)) > 0.5).astype(np.float32)
            logits = out
        else:
            out = r.random((3, 3)) * 0.98 + 0.01
            y = (r.random((3, 3)) > 0.5).astype(np.float32)
            logits = np.log(out / (1 - out))
        bce = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
        ref[name] = [bce.mean(), [[((logits > 0) == y).sum(), 9]]]
    return ref


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_losses_and_metrics_are_the_same_on_each_backend(backend: str) -> None:
    need_backend(backend)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", TERMS], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, (loss, parts) in _reference().items():
        assert found[name][0] == pytest.approx(loss, rel=1e-5), name
        assert np.allclose(np.array(found[name][1], float), np.array(parts, float), rtol=1e-5), name


@pytest.mark.jax
def test_the_python_api_trains_on_the_backend_it_names() -> None:
    need_backend("jax")
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        import rnndsl
        r = np.random.default_rng(0)
        x = r.normal(size=(24, 6, 3)).astype(np.float32)
        y = {{"y_label": (x[:, 0, 0] > 0).astype(np.int64), "y_level": np.cumsum(x[:, :, 2:3], axis=1)}}
        trained = rnndsl.loads({SPEC!r}).fit(x, y, lengths=np.full(24, 6), epochs=2, progress=False,
                                              backend="jax")
        import keras
        assert keras.backend.backend() == "jax"
        assert len(trained.history) == 2 and np.isfinite(trained.history[-1]["test_loss"])
        out = trained.model({{"x": x[:2], "lengths": np.full(2, 6, np.int32)}}, training=False)
        print(type(out["y_label"]).__module__)
    """)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("jax")
