"""Train the five MNIST specs of the first post on real MNIST and write docs/results.md.

    python benchmarks/mnist_table.py [--epochs 8] [--seeds 0 1] [--data-dir ../shared/data/mnist]

Each run goes through the real command (`rnndsl compile --train`), so this measures what a
user gets.  The original runs used 55,000 training images (the TF reader's split), batch
100, 31 epochs; pass --epochs 31 to repeat them in full.

`rnndsl compare` (docs/commands.md) now runs the same table with intervals and significance
tests; docs/results.md's 3-seed section was made with it.  This script remains for the
per-epoch table and the seed-0 curves of the first section.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ["vanilla", "multistream", "concat", "internal_conv", "lag2"]
# seed-cases.md section 3: (final test acc, best test acc, epoch of best), 31 epochs
ORIGINAL = {"vanilla": (0.9453, 0.9527, 29), "multistream": (0.9534, 0.9634, 25),
            "concat": (0.0958, 0.0958, 0), "internal_conv": (0.9414, 0.9414, 30), "lag2": (0.9494, 0.9526, 29)}


def run(case: str, seed: int, epochs: int, data_dir: str, out: Path) -> list[dict[str, float]]:
    cmd = [sys.executable, "-m", "rnndsl", "compile", str(ROOT / "specs" / f"{case}.rnn"), "--train",
           "--data", "mnist", "--data-dir", data_dir, "--limit", "55000", "--epochs", str(epochs),
           "--seed", str(seed), "--out", str(out), "--no-summary"]
    print("$", " ".join(cmd[1:]), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("rnndsl: epoch") or line.startswith("rnndsl: final"):
            print("  " + line, flush=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{case} seed {seed} failed")
    with open(out / "metrics.csv") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def mean_spread(xs: list[float]) -> str:
    if len(xs) == 1:
        return f"{xs[0]:.4f}"
    return f"{statistics.mean(xs):.4f} ± {(max(xs) - min(xs)) / 2:.4f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--runs", default="/tmp/rnndsl-mnist-runs")
    ap.add_argument("--cases", nargs="+", default=CASES)
    args = ap.parse_args()
    runs = Path(args.runs)
    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[list[dict[str, float]]]] = {}
    started = time.time()
    for case in args.cases:
        results[case] = []
        for seed in args.seeds:
            out = runs / f"{case}-s{seed}"
            if out.exists():
                shutil.rmtree(out)
            results[case].append(run(case, seed, args.epochs, args.data_dir, out))
            if seed == args.seeds[0]:
                shutil.copy(out / "curves.png", img / f"curves-{case}.png")
    rows = []
    for case, per_seed in results.items():
        final = [m[-1]["test_acc"] for m in per_seed]
        best = [max(r["test_acc"] for r in m) for m in per_seed]
        train = [m[-1]["train_acc"] for m in per_seed]
        secs = [r["seconds"] for m in per_seed for r in m]
        orig = ORIGINAL[case]
        rows.append(f"| {case} | {mean_spread(final)} | {mean_spread(best)} | {mean_spread(train)} | "
                    f"{len(per_seed[0])} | {statistics.median(secs):.1f} | {orig[0]:.4f} | {orig[1]:.4f} ({orig[2]}) |")
    spread = {case: (max(m[-1]["test_acc"] for m in r) - min(m[-1]["test_acc"] for m in r)) / 2
              for case, r in results.items()}
    table = "\n".join([
        f"| case | final test acc | best test acc | final train acc | epochs | s/epoch | original final test (31 ep) | original best test (epoch) |",
        "|---|---|---|---|---|---|---|---|", *rows])
    (ROOT / "docs" / "results-table.md").write_text(
        f"<!-- written by benchmarks/mnist_table.py: seeds {args.seeds}, {args.epochs} epochs, "
        f"{time.time() - started:.0f} s in all -->\n{table}\n", encoding="utf-8")
    (ROOT / "docs" / "results-runs.json").write_text(json.dumps(
        {"epochs": args.epochs, "seeds": args.seeds, "seconds": round(time.time() - started),
         "spread": spread, "runs": results}, indent=1), encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
