"""Compile-side figures: check time per spec, Keras build time, and growth with T.

    python benchmarks/compile_scaling.py [--max-T 1024]

1. `rnndsl check` per spec: the whole command in a fresh process (Python start-up included,
   TensorFlow never imported) and the front end alone in-process (median of 5).
2. Building the Keras model from the checked IR, per spec.
3. A lag-2 stream at T = 4, 16, 64, 256, 1024: check time, unrolled graph size, Keras build
   time, first train step (trace + run) and the steady step time at batch 32.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnndsl.pipeline import compile_text  # noqa: E402

LAG2 = """model lag2_T
data mnist
steps {T}
x = image | flatten | dense(32)
s[t] = tanh(dense(x, 32) + dense(s[t-1], 32) + dense(s[t-2], 32))
out = s[last] | dense(10) | softmax
"""


def check_times() -> None:
    specs = sorted((ROOT / "specs").glob("*.rnn")) + sorted((ROOT / "specs" / "patterns").glob("*.rnn"))
    print("1. rnndsl check, per spec (no TensorFlow)")
    print(f"   {'spec':28s} {'command s':>10s} {'front end ms':>13s}")
    total_cmd = 0.0
    for path in specs:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnndsl", "check", "-q", str(path)], check=True, capture_output=True)
        cmd = time.perf_counter() - t
        total_cmd += cmd
        text = path.read_text()
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            compile_text(text)
            runs.append(time.perf_counter() - t)
        print(f"   {str(path.relative_to(ROOT / 'specs')):28s} {cmd:10.2f} {statistics.median(runs) * 1000:13.1f}")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rnndsl", "check", "-q", *map(str, specs)], check=True, capture_output=True)
    print(f"   all {len(specs)} specs in one command: {time.perf_counter() - t:.2f} s")


def build_times() -> None:
    import keras

    from rnndsl.backends.keras import build_models

    print("2. building the Keras model from the checked IR")
    for path in sorted((ROOT / "specs").glob("*.rnn")):
        checked = compile_text(path.read_text())
        keras.backend.clear_session()
        t = time.perf_counter()
        build_models(checked)
        print(f"   {path.stem:16s} {time.perf_counter() - t:6.2f} s  ({checked.program.unrolled.number_of_nodes()} unrolled nodes)")


def scaling(max_T: int) -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    from rnndsl.backends.keras import build_models
    from rnndsl.training.step import make_train_step

    print("3. a lag-2 stream (dense 32) as T grows; batch 32")
    print(f"   {'T':>5s} {'check s':>8s} {'nodes':>7s} {'edges':>7s} {'build s':>8s} {'1st step s':>11s} {'step ms':>8s}")
    x = tf.constant(np.random.default_rng(0).random((32, 28, 28, 1), dtype=np.float32))
    y = tf.constant(np.zeros(32, dtype=np.int32))
    for T in (4, 16, 64, 256, 1024):
        if T > max_T:
            break
        keras.backend.clear_session()
        t = time.perf_counter()
        checked = compile_text(LAG2.format(T=T))
        check_s = time.perf_counter() - t
        g = checked.program.unrolled
        t = time.perf_counter()
        model = build_models(checked).logits
        build_s = time.perf_counter() - t
        step = make_train_step(model, keras.optimizers.Adam(1e-3))

        t = time.perf_counter()
        step(x, y)  # (the step returns python floats: it has finished)
        first = time.perf_counter() - t
        times = []
        for _ in range(5):
            t = time.perf_counter()
            step(x, y)  # (the step returns python floats: it has finished)
            times.append(time.perf_counter() - t)
        print(f"   {T:5d} {check_s:8.2f} {g.number_of_nodes():7d} {g.number_of_edges():7d} {build_s:8.2f} "
              f"{first:11.2f} {statistics.median(times) * 1000:8.1f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-T", type=int, default=1024)
    ap.add_argument("--skip-checks", action="store_true")
    args = ap.parse_args()
    if not args.skip_checks:
        check_times()
    build_times()
    scaling(args.max_T)


if __name__ == "__main__":
    main()
