"""Training-step time on each Keras backend (TensorFlow, JAX, PyTorch), side by side.

    python benchmarks/backends.py --quick                 # CPU here: every case, 3 rounds
    python benchmarks/backends.py --backends jax torch    # a GPU machine (benchmarks/gpu.sh): no TensorFlow there

Keras picks its backend once per process, so each backend runs in a worker process of its own,
started once and kept: the parent asks each worker in turn for one timed round of a case
(the order of the backends rotates from round to round), so all backends see the same
machine load, and the figure is the median seconds per training step (forward, loss,
gradients, Adam: `rnndsl.training.step.make_train_step`, the step `rnndsl compile --train`
runs on that backend).  The cases:

* the seeds `vanilla`, `zigzag`, `twin` compiled (unrolled, 4 steps) against the same models
  written by hand in Keras (benchmarks/handwritten.py), on the same backend, batch as the spec;
* `lstm` and `gru` peers (batch 32, 16 inputs, 64 units) at T = 100 and 1,000: the spec looped,
  against `keras.layers.LSTM` / `GRU` on the same backend (cuDNN on a GPU where Keras uses it);
* `growth`: the looped two-layer spec of benchmarks/long_sequences.py at T = 100, 1,000, 4,096.

It prints each case's median per backend, the compiled/hand-written (or rnndsl/Keras-layer)
ratio within each backend, and each backend's ratio to TensorFlow where TensorFlow ran; with
`--json FILE` it writes them with the machine, the date, the versions and the seed (0).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
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

BACKENDS = ("tensorflow", "jax", "torch")
SEEDS = ("vanilla", "zigzag", "twin")
PEER_T = (100, 1000)
GROWTH_T = (100, 1000, 4096)
MIN_ROUND_S = 0.3

from long_sequences import GROWTH_SPEC, PEER_SPEC  # noqa: E402  (the same specs as the long-sequence figures)


def cases(quick: bool, gpu: bool) -> list[dict]:
    """Every (case, variant) the workers time: a variant is one model of a pair."""
    out = []
    for spec in SEEDS:
        out += [{"case": spec, "variant": v} for v in ("compiled", "handwritten")]
    for cell in ("lstm", "gru"):
        for T in PEER_T:
            out += [{"case": f"{cell} T={T}", "cell": cell, "T": T, "variant": v} for v in ("rnndsl", "keras")]
    for T in GROWTH_T if gpu or not quick else GROWTH_T[:2]:
        out.append({"case": f"growth T={T}", "T": T, "variant": "looped"})
    return out


# ---- the worker: one backend, many models ------------------------------------------------------------
def _build(c: dict):
    """(train step, x, y) for one case variant on this process's backend."""
    import keras

    from rnndsl.backends.keras import build_models
    from rnndsl.catalogue import DATASETS
    from rnndsl.pipeline import analyse
    from rnndsl.training.step import CLASS_HEAD, make_optimizer, make_train_step

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    adam = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}
    if c["case"] in SEEDS:
        from handwritten import MODELS

        analysed = analyse((ROOT / "specs" / f"{c['case']}.rnn").read_text())
        checked, cfg = analysed.checked, analysed.train
        model = build_models(checked, "unrolled").logits if c["variant"] == "compiled" else MODELS[c["case"]]()
        ds = DATASETS[checked.program.data]
        x = rng.random((cfg.batch, *ds.shape), dtype=np.float32) * (255 if ds.name == "cifar10" else 1)
        y = rng.integers(0, ds.classes, cfg.batch).astype(np.int32)
        opt = make_optimizer(cfg.optimizer, dict(cfg.optimizer_params.items()))
        return make_train_step(model, opt), x, y
    T = c["T"]
    if c["case"].startswith("growth"):
        checked = analyse(GROWTH_SPEC.format(T=T)).checked
        models = build_models(checked, "looped")
        x = rng.normal(size=(16, T, 8)).astype(np.float32)
        y = rng.integers(0, 4, 16).astype(np.int32)
        return make_train_step(models.logits, make_optimizer("adam", adam), models.heads, steps=T), x, y
    cell = c["cell"]
    checked = analyse(PEER_SPEC.format(cell=cell, T=T)).checked
    x = rng.normal(size=(32, T, 16)).astype(np.float32)
    y = rng.integers(0, 10, 32).astype(np.int32)
    if c["variant"] == "rnndsl":
        models = build_models(checked, "looped")
        return make_train_step(models.logits, make_optimizer("adam", adam), models.heads, steps=T), x, y
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    inp = keras.Input((T, 16))
    rnn = layer(64, reset_after=False) if cell == "gru" else layer(64)  # the GRU rnndsl's cell is
    model = keras.Model(inp, keras.layers.Dense(10)(rnn(inp)))
    assert model.count_params() == checked.total_params, (model.count_params(), checked.total_params)
    return make_train_step(model, make_optimizer("adam", adam), (CLASS_HEAD,)), x, y


def worker() -> None:
    """Answer the parent's requests (one JSON line each) on stdin/stdout until stdin closes."""
    import keras

    out = sys.stdout
    sys.stdout = sys.stderr  # (whatever a library prints must not reach the protocol)
    built: dict[str, tuple] = {}
    out.write(json.dumps({"ready": keras.backend.backend(), "versions": _versions()}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        key = f"{req['case']}/{req['variant']}"
        try:
            if req["op"] == "setup":
                step, x, y = _build(req)
                t = time.perf_counter()
                step(x, y)
                first = time.perf_counter() - t
                t = time.perf_counter()
                step(x, y)
                warm = time.perf_counter() - t
                built[key] = (step, x, y, max(2, math.ceil(MIN_ROUND_S / max(warm, 1e-6))))
                answer = {"first_step_s": first}
            else:
                step, x, y, n = built[key]
                t = time.perf_counter()
                for _ in range(n):
                    step(x, y)  # (the step returns python floats: every step has finished)
                answer = {"step_s": (time.perf_counter() - t) / n}
        except Exception as err:  # a case this backend cannot run: say so, go on with the others
            answer = {"error": f"{type(err).__name__}: {str(err)[:300]}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


def _versions() -> dict[str, str]:
    import keras

    got = {"python": platform.python_version(), "keras": keras.__version__, "numpy": np.__version__}
    backend = keras.backend.backend()
    mod = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    got[backend] = __import__(mod).__version__
    return got


def _device(backend: str) -> str:
    """What the backend computes on (asked in the worker's process by the parent through a one-off run)."""
    code = {"tensorflow": "import tensorflow as tf; g = tf.config.list_physical_devices('GPU'); "
                          "print(tf.config.experimental.get_device_details(g[0]).get('device_name') if g else 'CPU')",
            "jax": "import jax; d = jax.devices()[0]; print(getattr(d, 'device_kind', d.platform))",
            "torch": "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU')"}
    proc = subprocess.run([sys.executable, "-c", code[backend]], capture_output=True, text=True)
    return proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 and proc.stdout.strip() else "?"


# ---- the parent ---------------------------------------------------------------------------------------
class Worker:
    def __init__(self, backend: str):
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONUNBUFFERED="1")
        self.backend = backend
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        hello = self._read()
        assert hello.get("ready") == backend, hello
        self.versions = hello["versions"]

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.backend} worker ended (exit {self.proc.wait()})")
        return json.loads(line)

    def ask(self, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    ap.add_argument("--quick", action="store_true", help="3 rounds, growth to T = 1,000 only")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", nargs="+", help="cases whose name starts with one of these (e.g. lstm growth)")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--table", metavar="JSON", help="print the Markdown table of figures written earlier, and stop")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker()
    if args.table:
        return print(markdown(json.loads(Path(args.table).read_text())), end="")
    rounds = 3 if args.quick else args.rounds
    devices = {b: _device(b) for b in args.backends}
    gpu = any(d not in ("CPU", "cpu", "?") for d in devices.values())
    todo = [c for c in cases(args.quick, gpu) if not args.only or c["case"].startswith(tuple(args.only))]
    started = time.perf_counter()
    workers = {b: Worker(b) for b in args.backends}
    print(f"backends: {', '.join(f'{b} on {devices[b]}' for b in args.backends)}; {rounds} rounds of >= "
          f"{MIN_ROUND_S} s; seed 0", flush=True)
    results: dict[str, dict] = {}
    for c in todo:
        for b, w in workers.items():
            got = w.ask(op="setup", **c)
            results.setdefault(c["case"], {}).setdefault(c["variant"], {})[b] = {**got, "times": []}
    for r in range(rounds):
        order = list(workers)[r % len(workers):] + list(workers)[:r % len(workers)]
        for c in todo:
            for b in order:
                cell = results[c["case"]][c["variant"]][b]
                if "error" in cell:
                    continue
                got = workers[b].ask(op="round", **c)
                if "error" in got:
                    cell["error"] = got["error"]
                else:
                    cell["times"].append(got["step_s"])
        print(f"  round {r + 1} of {rounds} done ({time.perf_counter() - started:.0f} s)", flush=True)
    for w in workers.values():
        w.close()
    table = summarise(results)
    report(table, args.backends)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": platform.node(), "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "devices": devices, "date": datetime.date.today().isoformat(), "seed": 0,
            "rounds": rounds, "versions": {b: w.versions for b, w in workers.items()},
            "seconds": round(time.perf_counter() - started, 1), "cases": table}, indent=1))


def summarise(results: dict) -> dict:
    """Median step time per case, variant and backend; the pair ratio; each backend's ratio to TensorFlow."""
    table = {}
    for case, variants in results.items():
        row: dict = {"median_ms": {}, "first_step_s": {}, "errors": {}}
        for variant, per_backend in variants.items():
            for b, cell in per_backend.items():
                if "error" in cell:
                    row["errors"][f"{variant}/{b}"] = cell["error"]
                elif cell["times"]:
                    row["median_ms"].setdefault(variant, {})[b] = statistics.median(cell["times"]) * 1e3
                    row["first_step_s"].setdefault(variant, {})[b] = cell["first_step_s"]
        names = list(variants)
        if len(names) == 2:  # compiled / hand-written, rnndsl / keras: within each backend
            a, z = (row["median_ms"].get(n, {}) for n in names)
            row["pair"] = f"{names[0]}/{names[1]}"
            row["pair_ratio"] = {b: a[b] / z[b] for b in a if b in z}
        ours = row["median_ms"].get(names[0], {})
        if "tensorflow" in ours:
            row["vs_tensorflow"] = {b: ours[b] / ours["tensorflow"] for b in ours if b != "tensorflow"}
        table[case] = row
    return table


def markdown(figures: dict) -> str:
    """The Markdown table docs/benchmarks.md shows, generated from the JSON `--json` writes."""
    backends = [b for b in BACKENDS if b in figures["versions"]]
    head = "| case | variant | " + " | ".join(f"{b} ms" for b in backends) + " | " + \
        " | ".join(f"{b}/tensorflow" for b in backends if b != "tensorflow" and "tensorflow" in backends) + \
        " | pair ratio (" + ", ".join(backends) + ") |"
    cols = head.count("|") - 1
    lines = [head, "|" + "---|" * cols]
    for case, row in figures["cases"].items():
        first = True
        for variant, per in row["median_ms"].items():
            cells = [case if first else "", variant] + [f"{per[b]:.1f}" if b in per else "-" for b in backends]
            vs = row.get("vs_tensorflow", {}) if first else {}
            cells += [f"{vs[b]:.2f}" if b in vs else "" for b in backends if b != "tensorflow"
                      and "tensorflow" in backends]
            pair = row.get("pair_ratio", {}) if first else {}
            cells.append(", ".join(f"{pair[b]:.2f}" if b in pair else "-" for b in backends) if pair else "")
            lines.append("| " + " | ".join(cells) + " |")
            first = False
    return "\n".join(lines) + "\n"


def report(table: dict, backends: list[str]) -> None:
    print("\ncase            variant      " + "".join(f"{b:>12}" for b in backends) + "   (median ms per step)")
    for case, row in table.items():
        for variant, per in row["median_ms"].items():
            print(f"{case:15s} {variant:12s} " + "".join(f"{per[b]:12.1f}" if b in per else f"{'-':>12}"
                                                          for b in backends))
        for where, err in row["errors"].items():
            print(f"{case:15s} {where}: {err}")
    print()
    for case, row in table.items():
        for b, ratio in row.get("pair_ratio", {}).items():
            print(f"{case} on {b}: {row['pair']} step time ratio {ratio:.2f}")
    for case, row in table.items():
        for b, ratio in row.get("vs_tensorflow", {}).items():
            print(f"{case}: {b}/tensorflow step time ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
