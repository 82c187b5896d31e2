"""Long sequences: the unrolled and the looped lowering as T grows, and the looped one against Keras' LSTM / GRU.

    python benchmarks/long_sequences.py            # T up to 10,000 (unrolled up to 1,000): about 15 minutes on 2 CPU cores
    python benchmarks/long_sequences.py --quick    # T up to 1,000 (unrolled up to 300): a few minutes

Growth: a two-layer spec (a GRU, then a tanh layer reading its own state 2 steps back), batch 16,
8 inputs per step, 32 units, class head on the last step.  Each (lowering, T) runs in a fresh
process: build time (the Keras model), first step (trace + the first training step: forward,
loss, gradients, Adam update, the step `rnndsl compile --train` runs), steady step time (the
median of timed rounds), and the process's peak resident memory above what it held before
building (CPU; TensorFlow's peak GPU memory on a GPU).

Peers: `h[t] = lstm(x[t], 64)` (and `gru`) with a dense head, against `keras.layers.LSTM(64)` (and
GRU) with the same head, same data (batch 32, 16 inputs per step), same train step, side by side
in one process, rounds alternating which goes first; the figure is the median step time ratio.
The last three lines are `looped first step at T=1000: X s`, `lstm T=1000: rnndsl/keras step time
ratio X` and `gru T=1000: rnndsl/keras step time ratio X`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

GROWTH_SPEC = """model growth
input x[t]: (8,)
target y: class(4)
steps {T}
h1[t] = gru(x[t], 32)
h2[t] = tanh(dense(h1[t], 32) + dense(h2[t-2], 32))
y = h2[last] | dense(4)
"""

PEER_SPEC = """model peer_{cell}
input x[t]: (16,)
target y: class(10)
steps {T}
h[t] = {cell}(x[t], 64)
y = h[last] | dense(10)
"""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_steps(step, args, min_s: float, min_steps: int) -> float:
    """Seconds per step over one round (at least min_steps steps and min_s seconds)."""
    n, started = 0, time.perf_counter()
    while n < min_steps or time.perf_counter() - started < min_s:
        loss, _ = step(*args)
        float(loss)
        n += 1
    return (time.perf_counter() - started) / n


def child_growth(lowering: str, T: int, rounds: int) -> dict:
    import keras
    import tensorflow as tf

    from rnndsl.backends.keras import build_models
    from rnndsl.pipeline import analyse
    from rnndsl.training.step import make_optimizer, make_train_step

    gpu = bool(tf.config.list_physical_devices("GPU"))
    base = _rss_mb()
    checked = analyse(GROWTH_SPEC.format(T=T)).checked
    keras.utils.set_random_seed(0)
    t0 = time.perf_counter()
    models = build_models(checked, lowering)
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(16, T, 8)).astype("float32"))
    y = tf.constant(rng.integers(0, 4, 16).astype("int32"))
    step = make_train_step(models.logits, make_optimizer("adam", {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999,
                                                                   "eps": 1e-8}), models.heads, steps=T)
    t0 = time.perf_counter()
    loss, _ = step(x, y)
    float(loss)
    first_s = time.perf_counter() - t0
    times = [_timed_steps(step, (x, y), 0.5, 2) for _ in range(rounds)]
    peak = (tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20) if gpu else _rss_mb() - base
    return {"lowering": lowering, "T": T, "build_s": build_s, "first_step_s": first_s,
            "step_s": statistics.median(times), "peak_mb": peak, "graph_nodes": checked.program.unrolled.number_of_nodes(),
            "device": "GPU" if gpu else "CPU"}


def child_peer(cell: str, T: int, rounds: int) -> dict:
    import keras
    import tensorflow as tf

    from rnndsl.backends.keras import build_models
    from rnndsl.pipeline import analyse
    from rnndsl.training.step import CLASS_HEAD, make_optimizer, make_train_step

    checked = analyse(PEER_SPEC.format(cell=cell, T=T)).checked
    keras.utils.set_random_seed(0)
    ours = build_models(checked, "looped")
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    inp = keras.Input((T, 16))
    # reset_after=False: the GRU that rnndsl's cell is (one bias; r applied to h before the product)
    rnn = layer(64, reset_after=False) if cell == "gru" else layer(64)
    theirs = keras.Model(inp, keras.layers.Dense(10)(rnn(inp)))
    assert theirs.count_params() == checked.total_params, (theirs.count_params(), checked.total_params)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(32, T, 16)).astype("float32"))
    y = tf.constant(rng.integers(0, 10, 32).astype("int32"))
    adam = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    steps = {"rnndsl": make_train_step(ours.logits, make_optimizer("adam", adam), ours.heads, steps=T),
             "keras": make_train_step(theirs, make_optimizer("adam", adam), (CLASS_HEAD,), steps=T)}
    first = {}
    for name, step in steps.items():
        t0 = time.perf_counter()
        float(step(x, y)[0])
        first[name] = time.perf_counter() - t0
    times = {name: [] for name in steps}
    for r in range(rounds):
        order = list(steps) if r % 2 == 0 else list(reversed(steps))
        for name in order:
            times[name].append(_timed_steps(steps[name], (x, y), 0.5, 2))
    med = {name: statistics.median(v) for name, v in times.items()}
    return {"cell": cell, "T": T, "rnndsl_step_s": med["rnndsl"], "keras_step_s": med["keras"],
            "ratio": med["rnndsl"] / med["keras"], "rnndsl_first_s": first["rnndsl"], "keras_first_s": first["keras"]}


def _run_child(kind: str, a: str, T: int, rounds: int, timeout: float) -> dict | None:
    cmd = [sys.executable, __file__, "--child", kind, a, str(T), str(rounds)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    print(done.stderr[-2000:], file=sys.stderr)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, a, T, rounds = args.child
        fn = child_growth if kind == "growth" else child_peer
        print(json.dumps(fn(a, int(T), int(rounds))))
        return
    quick = args.quick
    rounds = 3 if quick else 5
    unrolled_T = [4, 100, 300] if quick else [4, 32, 100, 316, 1000]
    looped_T = [4, 100, 1000] if quick else [4, 32, 100, 316, 1000, 3162, 10000]
    peer_T = [100, 1000]
    results = {"growth": [], "peers": []}
    print("growth with T (two-layer GRU + lag-2 spec, batch 16; each row a fresh process)")
    print(f"{'lowering':9} {'T':>6} {'graph nodes':>11} {'build s':>8} {'first step s':>12} {'step ms':>9} {'peak MB':>8}")
    for lowering, Ts in (("unrolled", unrolled_T), ("looped", looped_T)):
        for T in Ts:
            r = _run_child("growth", lowering, T, rounds, 1500)
            if r is None or "timeout" in r:
                print(f"{lowering:9} {T:>6}  (failed or timed out)")
                continue
            results["growth"].append(r)
            print(f"{lowering:9} {T:>6} {r['graph_nodes']:>11,} {r['build_s']:>8.2f} {r['first_step_s']:>12.2f} "
                  f"{1000 * r['step_s']:>9.1f} {r['peak_mb']:>8.0f}", flush=True)
    print("\nagainst Keras' fused layers (batch 32, 16 inputs, 64 units; same train step, side by side)")
    print(f"{'cell':5} {'T':>6} {'rnndsl ms':>10} {'keras ms':>9} {'ratio':>6}")
    for cell in ("lstm", "gru"):
        for T in peer_T:
            r = _run_child("peer", cell, T, rounds, 1500)
            if r is None or "timeout" in r:
                print(f"{cell:5} {T:>6}  (failed or timed out)")
                continue
            results["peers"].append(r)
            print(f"{cell:5} {T:>6} {1000 * r['rnndsl_step_s']:>10.1f} {1000 * r['keras_step_s']:>9.1f} "
                  f"{r['ratio']:>6.2f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print()
    first = next((r["first_step_s"] for r in results["growth"] if r["lowering"] == "looped" and r["T"] == 1000), None)
    print(f"looped first step at T=1000: {first:.2f} s" if first is not None else "looped first step at T=1000: n/a")
    for cell in ("lstm", "gru"):
        r = next((r for r in results["peers"] if r["cell"] == cell and r["T"] == 1000), None)
        print(f"{cell} T=1000: rnndsl/keras step time ratio {r['ratio']:.2f}" if r else
              f"{cell} T=1000: rnndsl/keras step time ratio n/a")


if __name__ == "__main__":
    main()
