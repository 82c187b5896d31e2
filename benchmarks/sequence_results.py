"""The sequence problems: rnndsl specs against the obvious baselines, on the same splits.

    python benchmarks/sequence_results.py                 # 3 seeds, every problem (about 15 min on 2 CPU cores)
    python benchmarks/sequence_results.py --quick         # 1 seed, no seq_mnist
    python benchmarks/sequence_results.py --problems japanese_vowels gunpoint --seeds 5

For each problem: the spec in specs/sequences/ trained with its own settings through
`rnndsl.training.api.train_text` (the same step `rnndsl compile --train` runs), seeds 0..N-1;
a hand-written Keras model of similar size (GRU/LSTM + Dense, with Masking where lengths
vary, trained with Keras `fit`, same epochs, batch, optimizer and learning rate); 1-nearest-neighbour with Euclidean
distance (series padded with their last value, as ../shared/data/timeseries/README.md does);
for the forecasting problem the persistence forecast (next month = this month).
Prints a Markdown table (mean and sample standard deviation over the seeds, final epoch)
and writes the raw numbers as JSON (--json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
TS = SHARED / "timeseries"

import numpy as np  # noqa: E402

PROBLEMS = {
    # name: (spec, data, window, baseline cell, units)
    "japanese_vowels": ("japanese_vowels.rnn", TS / "JapaneseVowels_TRAIN.ts", None, "gru", 64),
    "basic_motions": ("basic_motions.rnn", TS / "BasicMotions_TRAIN.ts", None, "gru", 32),
    "gunpoint": ("gunpoint.rnn", TS / "GunPoint_TRAIN.ts", None, "gru", 32),
    "airline": ("airline.rnn", TS / "Airline.csv", 24, "lstm", 32),
    "seq_mnist": ("seq_mnist.rnn", "mnist", None, "gru", 64),
}


def load(problem: str):
    from rnndsl.data import load_builtin, read

    _, source, window, _, _ = PROBLEMS[problem]
    if source == "mnist":
        return load_builtin("mnist", str(SHARED / "mnist"))
    return read(source, window=window)


def rnndsl_run(problem: str, data, seed: int) -> tuple[dict, int, float]:
    import keras

    from rnndsl.training.api import train_text

    text = (ROOT / "specs" / "sequences" / PROBLEMS[problem][0]).read_text()
    keras.backend.clear_session()
    t = time.perf_counter()
    trained = train_text(text, data, seed=seed, progress=False)
    return trained.history[-1], trained.model.count_params(), time.perf_counter() - t


def keras_run(problem: str, data, seed: int, epochs: int, batch: int, lr: float) -> tuple[dict, int, float]:
    """The hand-written peer: Masking + GRU/LSTM + Dense, trained with Keras fit."""
    import keras

    from rnndsl.pipeline import analyse

    _, _, _, cell, units = PROBLEMS[problem]
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    train, test = data.train, data.test
    (xname, x), = [(k, v) for k, v in train.inputs.items()][:1]
    x_test = test.inputs[xname]
    (yname, y), = list(train.targets.items())[:1]
    y_test = test.targets[yname]
    layer = keras.layers.GRU if cell == "gru" else keras.layers.LSTM
    if problem == "seq_mnist":
        x, x_test = x.reshape(-1, 28, 28), x_test.reshape(-1, 28, 28)
    per_step = problem in ("airline", "seq_mnist")
    regression = problem == "airline"
    if problem == "seq_mnist":  # a class per image, at every row
        y, y_test = np.repeat(y[:, None], 28, axis=1), np.repeat(y_test[:, None], 28, axis=1)
    classes = None if regression else int(max(y.max(), y_test.max())) + 1
    # Masking only where lengths vary: Keras masks every all-zero step, and MNIST's blank top rows
    # would then drop out of its per-step loss and accuracy (an easier metric than rnndsl's).
    masking = [keras.layers.Masking(0.0)] if train.lengths is not None else []
    model = keras.Sequential([keras.Input(x.shape[1:]), *masking,
                              layer(units, return_sequences=per_step),
                              *([keras.layers.Dropout(0.2)] if problem == "japanese_vowels" else []),
                              keras.layers.Dense(1 if regression else classes)])
    loss = "mse" if regression else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    metrics = ["mae"] if regression else ["accuracy"]
    model.compile(keras.optimizers.Adam(lr), loss=loss, metrics=metrics)
    t = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, shuffle=True)
    ev = model.evaluate(x_test, y_test, verbose=0, batch_size=max(batch, 100), return_dict=True)
    out = {"test_mse": ev["loss"], "test_mae": ev["mae"]} if regression else {"test_acc": ev["accuracy"]}
    return out, model.count_params(), time.perf_counter() - t


def one_nn(data) -> float | None:
    """1-NN accuracy, Euclidean distance, each series padded with its own last value."""
    if len(data.train.targets) != 1 or next(iter(data.train.targets.values())).ndim != 1 \
            or len(data.train) * len(data.test) > 10**8:
        return None

    def padded(split):
        x = next(iter(split.inputs.values())).copy()
        if split.lengths is not None:
            for i, n in enumerate(split.lengths):
                x[i, n:] = x[i, n - 1]
        return x.reshape(len(x), -1)

    a, b = padded(data.train), padded(data.test)
    ya, yb = next(iter(data.train.targets.values())), next(iter(data.test.targets.values()))
    d = (b ** 2).sum(1)[:, None] - 2 * b @ a.T + (a ** 2).sum(1)[None, :]
    return float((ya[d.argmin(1)] == yb).mean())


def persistence(data) -> dict:
    x, y = data.test.inputs["x"], data.test.targets["y"]
    return {"test_mse": float(((x - y) ** 2).mean()), "test_mae": float(np.abs(x - y).mean())}


def _fmt(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS))
    ap.add_argument("--quick", action="store_true", help="1 seed, no seq_mnist")
    ap.add_argument("--json", default=None, help="write the raw numbers here")
    args = ap.parse_args()
    if args.quick:
        args.seeds = 1
        args.problems = [p for p in args.problems if p != "seq_mnist"]
    from rnndsl.pipeline import analyse
    from rnndsl.training.run_folder import device_description

    print(f"device: {device_description()}; seeds 0..{args.seeds - 1}", flush=True)
    raw = {}
    for problem in args.problems:
        data = load(problem)
        block = analyse((ROOT / "specs" / "sequences" / PROBLEMS[problem][0]).read_text()).train
        metric = "test_mse" if problem == "airline" else "test_acc"
        mine, theirs = [], []
        for seed in range(args.seeds):
            m, p_mine, s_mine = rnndsl_run(problem, data, seed)
            k, p_keras, s_keras = keras_run(problem, data, seed, block.epochs, block.batch,
                                            float(block.optimizer_params["lr"]))
            mine.append(m)
            theirs.append(k)
            print(f"  {problem} seed {seed}: rnndsl {metric} {m[metric]:.4f} ({s_mine:.0f} s), "
                  f"keras {k[metric]:.4f} ({s_keras:.0f} s)", flush=True)
        extra = persistence(data) if problem == "airline" else {"test_acc": one_nn(data)}
        raw[problem] = {"metric": metric, "rnndsl": mine, "keras": theirs, "reference": extra,
                        "params": {"rnndsl": p_mine, "keras": p_keras}}
    print()
    print("| problem | metric | rnndsl spec | hand-written Keras | 1-NN ED / persistence | parameters (rnndsl / Keras) |")
    print("|---|---|---|---|---|---|")
    for problem, r in raw.items():
        metric = r["metric"]
        ref = r["reference"].get(metric)
        print(f"| {problem} | {metric.replace('test_', 'test ')} | {_fmt([m[metric] for m in r['rnndsl']])} | "
              f"{_fmt([k[metric] for k in r['keras']])} | {'-' if ref is None else f'{ref:.3f}'} | "
              f"{r['params']['rnndsl']:,} / {r['params']['keras']:,} |")
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
