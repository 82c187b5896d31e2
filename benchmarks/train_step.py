"""Training-step time of compiled specs against the same models written by hand in Keras.

    python benchmarks/train_step.py            # full: 7 rounds of >= 10 steps per model
    python benchmarks/train_step.py --quick    # 5 rounds of >= 3 steps: under a minute on 2 CPU cores

For each of vanilla, zigzag and twin: both models get the same tf.function train step
(forward, cross-entropy on logits, gradients, Adam update: `rnndsl.training.step.make_train_step`,
the step `rnndsl compile --train` runs) on the same batch of the spec's
size.  After a warm-up, rounds alternate which model goes first; the figure is the median
seconds per step.  First-call time is the trace plus the first step.  Peak memory is the
peak resident set of a separate process that builds one model and runs its steps (CPU),
or TensorFlow's peak GPU memory when a GPU is present.
The last lines are `<spec>: compiled/handwritten step time ratio <x.xx>`.
"""

from __future__ import annotations

import argparse
import json
import math
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
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

MIN_ROUND_S = 0.25  # each round times at least this long (or `steps` steps)


def _setup(spec: str, which: str, xla: bool = False):
    import keras
    import tensorflow as tf

    from handwritten import MODELS
    from rnndsl.backends.keras import build_models
    from rnndsl.catalogue import DATASETS
    from rnndsl.pipeline import analyse
    from rnndsl.training.step import make_optimizer, make_train_step

    analysed = analyse((ROOT / "specs" / f"{spec}.rnn").read_text())
    checked = analysed.checked
    keras.utils.set_random_seed(0)
    model = build_models(checked).logits if which.startswith("compiled") else MODELS[spec]()
    assert model.count_params() == checked.total_params, (spec, which, model.count_params())
    cfg = analysed.train
    ds = DATASETS[checked.program.data]
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((cfg.batch, *ds.shape), dtype=np.float32) * (255 if ds.name == "cifar10" else 1))
    y = tf.constant(rng.integers(0, ds.classes, cfg.batch).astype(np.int32))
    opt = make_optimizer(cfg.optimizer, dict(cfg.optimizer_params.items()))
    step = make_train_step(model, opt, xla=xla)
    return step, x, y


def _time(step, x, y, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        loss, _ = step(x, y)
    float(loss)  # (a python float already: every step has finished)
    return (time.perf_counter() - t) / n


def _memory(spec: str, which: str, steps: int) -> float:
    """Peak memory in MiB of a fresh process that builds and trains one model."""
    code = (f"import sys; sys.argv=['x']; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
            f"import train_step as b; print(b._memory_child({spec!r}, {which!r}, {steps}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return float("nan")


def _memory_child(spec: str, which: str, steps: int) -> float:
    import tensorflow as tf

    step, x, y = _setup(spec, which)
    for _ in range(steps):
        step(x, y)  # (the step returns python floats: it has finished)
    if tf.config.list_physical_devices("GPU"):
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="5 rounds of >= 3 steps, no memory figures")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--specs", nargs="+", default=["vanilla", "zigzag", "twin"])
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--xla", action="store_true", help="also time the compiled model with XLA (jit_compile)")
    args = ap.parse_args()
    rounds, steps = (5, 3) if args.quick else (args.rounds, args.steps)
    import tensorflow as tf

    from rnndsl.training.run_folder import device_description

    print(f"device: {device_description()}; TensorFlow {tf.__version__}; {rounds} rounds of >= {steps} steps "
          f"and >= {MIN_ROUND_S} s", flush=True)
    results = {}
    for spec in args.specs:
        pair = {}
        kinds = ("compiled", "handwritten") + (("compiled+xla",) if args.xla else ())
        for which in kinds:
            step, x, y = _setup(spec, which, xla=which.endswith("xla"))
            t = time.perf_counter()
            step(x, y)  # (the step returns python floats: it has finished)
            first = time.perf_counter() - t
            warm = _time(step, x, y, 2)  # warm-up, and an estimate of the step time
            n = max(steps, math.ceil(MIN_ROUND_S / warm))  # short steps: time enough of them
            pair[which] = {"step": step, "x": x, "y": y, "first_call_s": first, "times": [], "n": n}
        for r in range(rounds):
            order = kinds if r % 2 == 0 else tuple(reversed(kinds))
            for which in order:
                d = pair[which]
                d["times"].append(_time(d["step"], d["x"], d["y"], d["n"]))
        row = {}
        for which, d in pair.items():
            row[which] = {"median_step_s": statistics.median(d["times"]), "first_call_s": d["first_call_s"],
                          "spread_s": max(d["times"]) - min(d["times"])}
            if not args.quick and not which.endswith("xla"):
                row[which]["peak_mib"] = _memory(spec, which, steps)
        row["ratio"] = row["compiled"]["median_step_s"] / row["handwritten"]["median_step_s"]
        results[spec] = row
        for which in kinds:
            r = row[which]
            mem = f", peak {r['peak_mib']:.0f} MiB" if "peak_mib" in r else ""
            print(f"  {spec:8s} {which:11s} median {r['median_step_s'] * 1000:8.1f} ms/step "
                  f"(spread {r['spread_s'] * 1000:.1f} ms), first call {r['first_call_s']:.2f} s{mem}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device_description(), "results": results}, indent=1))
    for spec, row in results.items():
        if "compiled+xla" in row:
            print(f"{spec}: xla/plain step time ratio {row['compiled+xla']['median_step_s'] / row['compiled']['median_step_s']:.2f}")
    for spec, row in results.items():
        print(f"{spec}: compiled/handwritten step time ratio {row['ratio']:.2f}")


if __name__ == "__main__":
    main()
