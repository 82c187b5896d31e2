"""The run folder: model, specs, metrics, curves, diagram and manifest."""

from __future__ import annotations

import csv
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
from .data import LoadedData
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


def _curves(rows: list[EpochRow], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r.epoch for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), sharex=True)
    panels = [("train cost", [r.train_loss for r in rows]), ("train accuracy", [r.train_acc for r in rows]),
              ("test cost", [r.test_loss for r in rows]), ("test accuracy", [r.test_acc for r in rows])]
    for ax, (name, ys) in zip(axes.flat, panels):
        ax.plot(epochs, ys, marker="o", ms=3)
        ax.set_title(name)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_run(out: Path, checked: Checked, models: KerasModels, spec_text: str, resolved_spec: str,
              data: LoadedData | None, settings: RunConfig, result: RunResult | None, extra: dict[str, Any]) -> None:
    """Write the run folder: model, specs, metrics, curves and the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    models.model.save(out / "model.keras")
    (out / "spec.rnn").write_text(spec_text, encoding="utf-8")
    (out / "resolved.rnn").write_text(resolved_spec, encoding="utf-8")
    rows = result.rows if result else []
    if result is not None:
        with open(out / "metrics.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"])
            for r in rows:
                w.writerow([r.epoch, f"{r.train_loss:.6f}", f"{r.train_acc:.6f}", f"{r.test_loss:.6f}",
                            f"{r.test_acc:.6f}", f"{r.seconds:.3f}"])
        (out / "metrics.json").write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")
        if rows and data is not None:
            _curves(rows, f"{checked.program.name} on {data.name}", out / "curves.png")
    manifest = {
        "spec": checked.program.name,
        "title": checked.program.title,
        "spec_sha256": hashlib.sha256(spec_text.encode("utf-8")).hexdigest(),
        "parameters": checked.total_params,
        "seed": settings.seed,
        "settings": asdict(settings),
        "dataset": None if data is None else {"name": data.name, "source": data.source,
                                              "train": int(len(data.x_train)), "test": int(len(data.x_test))},
        "device": device_description(),
        "versions": versions(),
        "epochs_done": len(rows),
        "interrupted": bool(result.interrupted) if result else False,
        "final": asdict(rows[-1]) if rows else None,
        **extra,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
