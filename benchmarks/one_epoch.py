"""Every seed spec trains one epoch, through the real command; prints a Markdown table.

    python benchmarks/one_epoch.py --limit 512        # all ten (MNIST specs on real MNIST)
    python benchmarks/one_epoch.py --cifar-only       # the five CIFAR-10 specs on the embedded data

MNIST specs read ../shared/data/mnist; the CIFAR-10 specs use the embedded synthetic data
(CIFAR-10 itself cannot be had on these machines), shaped like CIFAR-10.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MNIST = ["vanilla", "multistream", "concat", "internal_conv", "lag2"]
CIFAR = ["dual", "zigzag", "mix", "nontwin", "twin"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int)
    ap.add_argument("--cifar-only", action="store_true")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    args = ap.parse_args()
    specs = CIFAR if args.cifar_only else MNIST + CIFAR
    rows = ["| spec | data | train examples | epoch s | train loss | train acc | test acc | command s |",
            "|---|---|---|---|---|---|---|---|"]
    for spec in specs:
        out = Path(tempfile.mkdtemp()) / spec
        data = ["--data", "mnist", "--data-dir", args.data_dir] if spec in MNIST else ["--data", "synthetic"]
        cmd = [sys.executable, "-m", "rnndsl", "compile", str(ROOT / "specs" / f"{spec}.rnn"), "--train",
               "--epochs", "1", "--out", str(out), "--no-summary", *data]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        secs = time.perf_counter() - t
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"{spec} failed")
        (row,) = list(csv.DictReader(open(out / "metrics.csv")))
        n_train = f"{json.loads((out / 'manifest.json').read_text())['dataset']['train']:,}"
        rows.append(f"| {spec} | {data[1]} | {n_train} | {float(row['seconds']):.1f} | {float(row['train_loss']):.4f} | "
                    f"{float(row['train_acc']):.4f} | {float(row['test_acc']):.4f} | {secs:.1f} |")
        print(rows[-1], flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
