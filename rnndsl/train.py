"""Training: Keras fit over the compiled logits model (one tf.function step), and the run folder."""

from __future__ import annotations

import csv
import hashlib
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .check import Checked
from .data import LoadedData
from .emit_tf import Compiled
from .registry import Params

__all__ = ["Settings", "EpochRow", "make_optimizer", "make_train_step", "compile_for_training", "fit",
           "write_run", "device_description", "versions"]


@dataclass(frozen=True)
class Settings:
    """What a run uses: the spec's train block, overridden by command-line flags."""

    optimizer: str
    optimizer_params: dict[str, float]
    batch: int
    epochs: int
    seed: int
    xla: bool = False


@dataclass(frozen=True)
class EpochRow:
    epoch: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float


@dataclass
class RunResult:
    rows: list[EpochRow] = field(default_factory=list)
    interrupted: bool = False


def make_optimizer(name: str, params: dict[str, float]) -> keras.optimizers.Optimizer:
    """The Keras optimizer for an rnndsl `optimizer` setting."""
    if name == "adam":
        return keras.optimizers.Adam(params["lr"], beta_1=params["beta1"], beta_2=params["beta2"],
                                     epsilon=params["eps"])
    if name == "sgd":
        return keras.optimizers.SGD(params["lr"], momentum=params["momentum"])
    if name == "rmsprop":
        return keras.optimizers.RMSprop(params["lr"], rho=params["rho"])
    raise ValueError(f"unknown optimizer {name}")  # check() rejects these before we get here


def make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, xla: bool = False):
    """One training step as a tf.function: forward, cross-entropy on logits, gradients, update."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(jit_compile=xla)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return loss

    return step


def compile_for_training(compiled: Compiled, settings: Settings) -> keras.Model:
    """Compile the logits model: cross-entropy on logits, accuracy, XLA only when asked."""
    model = compiled.logits
    model.compile(optimizer=make_optimizer(settings.optimizer, settings.optimizer_params),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                  jit_compile=settings.xla)
    return model


class _Recorder(keras.callbacks.Callback):
    def __init__(self, result: RunResult, on_epoch):
        super().__init__()
        self.result, self.on_epoch = result, on_epoch

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        row = EpochRow(epoch + 1, float(logs.get("loss", np.nan)), float(logs.get("accuracy", np.nan)),
                       float(logs.get("val_loss", np.nan)), float(logs.get("val_accuracy", np.nan)),
                       time.perf_counter() - self.started)
        self.result.rows.append(row)
        if self.on_epoch is not None:
            self.on_epoch(row)


def fit(compiled: Compiled, data: LoadedData, settings: Settings, verbose: int = 1, on_epoch=None) -> RunResult:
    """Train; test after every epoch.  Ctrl-C stops after the current step and keeps what was done."""
    model = compile_for_training(compiled, settings)
    result = RunResult()
    try:
        model.fit(data.x_train, data.y_train, batch_size=settings.batch, epochs=settings.epochs,
                  validation_data=(data.x_test, data.y_test), validation_batch_size=max(settings.batch, 100),
                  shuffle=True, verbose=verbose, callbacks=[_Recorder(result, on_epoch)])
    except KeyboardInterrupt:
        result.interrupted = True
    return result


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

    from . import __version__

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


def write_run(out: Path, checked: Checked, compiled: Compiled, spec_text: str, resolved_spec: str,
              data: LoadedData | None, settings: Settings, result: RunResult | None, extra: dict[str, Any]) -> None:
    """Write the run folder: model, specs, metrics, curves and the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    compiled.model.save(out / "model.keras")
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
