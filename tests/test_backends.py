"""Every spec computes the same on TensorFlow, JAX and PyTorch (Keras 3), in both lowerings.

Keras fixes its backend per process (KERAS_BACKEND), so each backend runs in a subprocess of
this file (`--worker`), all cases in one process.  TensorFlow goes first: it builds each
case's models, seeds and writes their weights (by weight id, `KerasModels.layers`) and the
random inputs; JAX and PyTorch build the same spec, load those weights by the same ids (a
missing or differently shaped weight fails), run the same inputs, and every backend writes the
logits and the gradient of one fixed loss with respect to every weight.  The comparison is to
1e-5, relative, as tests/test_lowering.py compares the lowerings.

Seeded initial weights are not compared: Keras' seeded initialisers draw different numbers on
each backend (the same seed gives the same weights across lowerings, through ops.Layers, but
not across backends), which is why the weights travel from TensorFlow.

Random transforms (noise, flips, blur) have their scale or probability set to 0, as in
test_lowering.  Unrolled: every spec of specs/ and specs/patterns/ and the sequence specs with
masking.  Looped: the same.  JAX leaves out the unrolled lowering of the slowest few
(JAX_UNROLLED_SKIP, for run time only).
Marked `tf`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("tensorflow", "jax", "torch")


# ---- the worker: one backend, every case ---------------------------------------------------------------------
def random_inputs(program, rng: np.random.Generator, batch: int = 3) -> dict:
    """Normal inputs by name (and lengths when masked: all, half and one step), the same on every backend."""
    xs = {}
    for d in program.inputs:
        shape = (program.steps, *d.shape) if d.sequence else d.shape
        xs[d.name] = rng.normal(size=(batch, *shape)).astype("float32")
    if program.masked:
        xs["lengths"] = np.array([program.steps, max(1, program.steps // 2), 1][:batch], dtype="int32")
    return xs


def _loss(ops, ys: list):
    return sum(ops.sum(ops.square(v) * 0.5 + v) for v in ys)


def _logits_and_grads(backend: str, models, x, keys: list, weights: list):
    """The logits (a list) and the gradient of _loss of them with respect to each weight (None: no path)."""
    import keras
    from keras import ops

    def outputs(y):
        return list(y.values()) if isinstance(y, dict) else [y]

    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            ys = outputs(models.logits(x, training=False))
            loss = _loss(ops, ys)
        grads = tape.gradient(loss, weights)
        return [np.asarray(v) for v in ys], [None if g is None else np.asarray(g) for g in grads]
    if backend == "jax":
        import jax

        model = models.logits
        trainable = model.trainable_variables
        position = [next(j for j, v in enumerate(trainable) if v is w) for w in weights]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def f(values, x):
            y, _ = model.stateless_call(values, non_trainable, x, training=False)
            ys = outputs(y)
            return _loss(ops, ys), ys

        # (jitted: JAX's eager gradient of an unrolled graph, op by op, took minutes for the whole file)
        (_, ys), grads = jax.jit(jax.value_and_grad(f, has_aux=True))([v.value for v in trainable], x)
        return [np.asarray(v) for v in ys], [np.asarray(grads[j]) for j in position]
    ys = outputs(models.logits(x, training=False))
    _loss(ops, ys).backward()
    out = []
    for w in weights:
        g = w.value.grad
        out.append(None if g is None else keras.ops.convert_to_numpy(g))
    return [keras.ops.convert_to_numpy(v) for v in ys], out


def worker(backend: str, cases_file: Path, out: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import keras

    assert keras.backend.backend() == backend, (keras.backend.backend(), backend)
    from rnndsl.backends.keras import build_models
    from rnndsl.pipeline import analyse
    from rnndsl.semantics.symbols import Bindings

    for case in json.loads(cases_file.read_text()):
        if backend not in case["backends"]:
            continue
        started = time.perf_counter()
        b = case["bindings"]
        checked = analyse(case["text"], Bindings(steps=b["steps"], masked=True) if b else None).checked
        keras.utils.set_random_seed(0)
        models = build_models(checked, case["lowering"])
        assert models.lowering == case["lowering"]
        arrays = out / (f"{case['id']}.npz" if backend == "tensorflow" else f"{case['id']}.{backend}.npz")
        weights_file = out / f"{case['id']}.weights.npz"
        if backend == "tensorflow":
            x = random_inputs(checked.program, np.random.default_rng(0))
            weights = {f"w:{k}:{i}": w for k, layer in models.layers.items() for i, w in enumerate(layer.get_weights())}
        else:
            with np.load(weights_file) as z:
                given = dict(z)
            x = {k[2:]: v for k, v in given.items() if k.startswith("x:")}
            weights = {k: v for k, v in given.items() if k.startswith("w:")}
            mine = {f"w:{k}:{i}": tuple(w.shape) for k, layer in models.layers.items() for i, w in enumerate(layer.weights)}
            assert mine == {k: v.shape for k, v in weights.items()}, f"{case['id']}: the weight ids differ"
            for k, layer in models.layers.items():
                layer.set_weights([weights[f"w:{k}:{i}"] for i in range(len(layer.weights))])
        keys = [(k, i) for k, layer in models.layers.items() for i in range(len(layer.trainable_weights))]
        params = [models.layers[k].trainable_weights[i] for k, i in keys]
        feed = {k: keras.ops.convert_to_tensor(v) for k, v in x.items()}
        ys, grads = _logits_and_grads(backend, models, next(iter(feed.values())) if len(feed) == 1 else feed,
                                      keys, params)
        if backend == "tensorflow":
            np.savez(weights_file, **weights, **{f"x:{k}": v for k, v in x.items()})
        np.savez(arrays, **{f"y:{j}": v for j, v in enumerate(ys)},
                 **{f"g:{k}:{i}": g for (k, i), g in zip(keys, grads) if g is not None})
        print(f"{case['id']}: {time.perf_counter() - started:.2f} s", flush=True)


# ---- the test ------------------------------------------------------------------------------------------------
pytestmark = pytest.mark.tf

# Unrolled cases JAX leaves out, for the file's run time alone: Keras builds and differentiates an
# unrolled graph slowly on JAX (these took 6 to 32 s each, 73 s together, on 2 CPU cores, of the
# 120 s every unrolled spec took; the looped lowering of all of them took 29 s).  TensorFlow and
# PyTorch run them, and JAX runs their looped lowering.
JAX_UNROLLED_SKIP = frozenset({"patterns/lstmn", "patterns/peephole_lstm", "patterns/attention", "masked_seq_mnist",
                               "concat", "patterns/gated_feedback"})


def _cases() -> list[dict]:
    from conftest import ALL_SPECS, spec_id
    from test_lowering import GUARDS_AND_RANGES, _deterministic

    texts = [(spec_id(p), p.read_text(), None) for p in ALL_SPECS]
    texts.append(("guards_lags_ranges_backward", GUARDS_AND_RANGES, None))
    for name in ("japanese_vowels", "italy_power", "seq_mnist"):
        from rnndsl.pipeline import analyse

        text = (ROOT / "specs" / "sequences" / f"{name}.rnn").read_text()
        texts.append((f"masked_{name}", text, {"steps": analyse(text).checked.program.steps}))
    cases = []
    for lowering in ("unrolled", "looped"):
        for ident, text, bindings in texts:
            skip = ["jax"] if lowering == "unrolled" and ident in JAX_UNROLLED_SKIP else []
            cases.append({"id": f"{lowering}-{ident.replace('/', '-')}", "text": _deterministic(text),
                          "bindings": bindings, "lowering": lowering,
                          "backends": [b for b in BACKENDS if b not in skip]})
    return cases


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[list[dict], Path]:
    out = tmp_path_factory.mktemp("backends")
    cases = _cases()
    only = os.environ.get("RNNDSL_BACKEND_CASES")  # (a comma-separated filter of case ids, for debugging)
    if only:
        cases = [c for c in cases if any(s in c["id"] for s in only.split(","))]
    cases_file = out / "cases.json"
    cases_file.write_text(json.dumps(cases))
    for backend in BACKENDS:  # one at a time: TensorFlow first, it writes the weights and inputs
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
        done = subprocess.run([sys.executable, __file__, "--worker", backend, str(cases_file), str(out)],
                              capture_output=True, text=True, env=env, timeout=900)
        if done.returncode:
            pytest.fail(f"the {backend} worker failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
    return cases, out


def _compare(a: np.ndarray, b: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5 * (1 + np.abs(a).max(initial=0)), err_msg=what)


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_every_spec_gives_the_same_outputs_and_gradients_on_each_backend(results, backend: str) -> None:
    cases, out = results
    assert cases
    ran = [case for case in cases if backend in case["backends"]]
    assert len(ran) >= len(cases) - len(JAX_UNROLLED_SKIP)
    for case in ran:
        with np.load(out / f"{case['id']}.npz") as z:
            ref = dict(z)
        with np.load(out / f"{case['id']}.{backend}.npz") as z:
            got = dict(z)
        ys = [k for k in ref if k.startswith("y:")]
        assert ys and [k for k in got if k.startswith("y:")] == ys, case["id"]
        for k in ys:
            _compare(ref[k], got[k], f"{case['id']} {backend} {k}")
        assert any(k.startswith("g:") for k in ref), case["id"]
        for k in set(ref) | set(got):
            if not k.startswith("g:"):
                continue
            if k not in ref or k not in got:  # no path to the loss on one backend: a zero gradient on the other
                assert not np.any(ref.get(k, got.get(k))), f"{case['id']} {backend} {k}"
                continue
            _compare(ref[k], got[k], f"{case['id']} {backend} {k}")


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    _, _, name, cases_path, out_dir = sys.argv
    worker(name, Path(cases_path), Path(out_dir))
