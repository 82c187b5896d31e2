"""The run folder: model, specs, metrics, curves, diagram and manifest."""

from __future__ import annotations

import csv
import math
import hashlib
import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from ..backends.keras import KerasModels
from ..checks import Checked
from .config import RunConfig
from ..data import DataSet
from .loop import EpochRow, RunResult

__all__ = ["write_run", "device_description", "versions"]


def device_description() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for g in gpus:
            details = tf.config.experimental.get_device_details(g)
            names.append(details.get("device_name", g.name))
        return "GPU: " + ", ".join(names)
    return f"CPU: {platform.processor() or platform.machine()}, {len(tf.config.list_physical_devices('CPU'))} device(s)"


def versions() -> dict[str, str]:
    import lark
    import networkx

    from .. import __version__

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "lark": lark.__version__, "networkx": networkx.__version__,
            "rnndsl": __version__}


def _curves(result: RunResult, title: str, path: Path) -> None:
    """One panel per quantity (loss, then each metric), train and test overlaid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result.rows
    names = ["loss", *result.metrics]
    cols = min(len(names), 3)
    fig, axes = plt.subplots((len(names) + cols - 1) // cols, cols, figsize=(4.2 * cols, 3.4 * ((len(names) + cols - 1) // cols)),
                             squeeze=False)
    epochs = [r.epoch for r in rows]
    for ax, name in zip(axes.flat, names):
        for split, style in (("train", "o-"), ("test", "s--")):
            ax.plot(epochs, [r.values.get(f"{split}_{name}", float("nan")) for r in rows], style, ms=3, label=split)
        ax.set_title(_LABELS.get(name.rsplit("_", 1)[-1], name) + (f" ({name.rsplit('_', 1)[0]})" if "_" in name else ""))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


_LABELS = {"loss": "cost", "acc": "accuracy", "mse": "mean squared error", "mae": "mean absolute error",
           "binacc": "binary accuracy"}


def _columns(result: RunResult) -> list[str]:
    names = ["loss", *result.metrics]
    return [f"train_{n}" for n in names] + [f"test_{n}" for n in names]


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None  # JSON has no NaN or Infinity


def write_run(out: Path, checked: Checked, models: KerasModels, spec_text: str, resolved_spec: str,
              data: DataSet | None, settings: RunConfig, result: RunResult | None, extra: dict[str, Any]) -> None:
    """Write the run folder: model, specs, metrics, curves and the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    models.model.save(out / "model.keras")
    (out / "spec.rnn").write_text(spec_text, encoding="utf-8")
    (out / "resolved.rnn").write_text(resolved_spec, encoding="utf-8")
    rows = result.rows if result else []
    if result is not None:
        cols = _columns(result)
        with open(out / "metrics.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["epoch", *cols, "seconds"])
            for r in rows:
                w.writerow([r.epoch, *(f"{r.values.get(c, float('nan')):.6f}" for c in cols), f"{r.seconds:.3f}"])
        records = [{"epoch": r.epoch, **{c: _finite(r.values.get(c, float("nan"))) for c in cols},
                    "seconds": round(r.seconds, 3)} for r in rows]
        (out / "metrics.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
        if rows and data is not None:
            _curves(result, f"{checked.program.name} on {data.name}", out / "curves.png")
    program = checked.program
    manifest = {
        "spec": program.name,
        "title": program.title,
        "spec_sha256": hashlib.sha256(spec_text.encode("utf-8")).hexdigest(),
        "parameters": checked.total_params,
        "seed": settings.seed,
        "settings": asdict(settings),
        "steps": program.steps,
        "targets": [{"name": o.name, "kind": o.target.value, "per_step": o.per_step, "size": o.size,
                     "loss": o.loss.value} for o in program.outputs],
        "metrics": ["loss", *(result.metrics if result else [])],
        "dataset": None if data is None else {"name": data.name, "source": data.source,
                                              "train": len(data.train), "test": len(data.test),
                                              "masked": data.train.lengths is not None},
        "device": device_description(),
        "versions": versions(),
        "epochs_done": len(rows),
        "interrupted": bool(result.interrupted) if result else False,
        "final": records[-1] if result is not None and rows else None,
        **extra,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
