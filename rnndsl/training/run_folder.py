"""The run folder: model, specs, metrics, curves, diagram and manifest; its one writer and its one reader.

`RunFolder` writes it as the run goes; `read_run_folder` reads it back (for `compile --resume`,
`export RUN`, `compare`), checking every piece the caller needs and the manifest's `format`.
Reading imports no TensorFlow (only writing does), so commands that read run folders stay light.
"""

from __future__ import annotations

import csv
import io
import math
import os
import hashlib
import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .. import fileio
from ..checks import Checked
from ..data import DataArgs, DataSet
from ..errors import RnndslError
from ..limits import MAX_SPEC_BYTES
from ..semantics.symbols import Bindings
from .binding import from_record, recorded
from .config import RunConfig
from .files import atomic_write

if TYPE_CHECKING:
    import keras

    from ..backends.keras import KerasModels
    from .loop import EpochRow, RunResult

__all__ = ["RunFolder", "SavedRun", "RunFolderError", "read_run_folder", "FORMAT", "device_description",
           "versions"]

FORMAT = 2  # the manifest's layout.  1: before it was numbered (no "format"; bindings and lowering optional)
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 16 * 1024 ** 2
NEEDS = {"weights": "weights.npz", "checkpoint": "checkpoints/state.json"}  # what a reader may require
LOWERINGS = ("unrolled", "looped")
BACKENDS = ("tensorflow", "jax", "torch")  # training/backend.py's (that module is not imported here)


def device_description() -> str:
    """The device the Keras backend trains on, in words."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        devices = jax.devices()
        kind = devices[0].platform.upper()
        if kind != "CPU":
            return f"{kind}: " + ", ".join(getattr(d, "device_kind", str(d)) for d in devices)
        return f"CPU: {platform.processor() or platform.machine()}, {len(devices)} device(s)"
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return "GPU: " + ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s)"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for g in gpus:
            details = tf.config.experimental.get_device_details(g)
            names.append(details.get("device_name", g.name))
        return "GPU: " + ", ".join(names)
    return f"CPU: {platform.processor() or platform.machine()}, {len(tf.config.list_physical_devices('CPU'))} device(s)"


def versions() -> dict[str, str]:
    """The versions of what trained: python, keras and its backend's packages, numpy, lark, networkx, rnndsl."""
    import sys

    import keras
    import lark
    import networkx
    import numpy as np

    from ..version import __version__

    found = {"python": platform.python_version(), "keras": keras.__version__, "numpy": np.__version__,
             "lark": lark.__version__, "networkx": networkx.__version__, "rnndsl": __version__}
    for package in ("tensorflow", "jax", "jaxlib", "optax", "torch"):  # those this process loaded
        module = sys.modules.get(package)
        if module is not None and getattr(module, "__version__", None):
            found[package] = module.__version__
    return found


class RunFolderError(RnndslError):
    """A run folder that cannot be used: not one, missing a piece the command needs, or a damaged or unknown
    manifest (exit 2; the message names the folder and the piece)."""


@dataclass(frozen=True)
class SavedRun:
    """A run folder as `read_run_folder` found it: every piece checked."""

    folder: Path
    format: int
    manifest: Mapping[str, Any]
    spec_text: str
    bindings: Bindings | None  # what the data bound when the model was built (None: an old folder without them)
    lowering: str | None  # unrolled | looped (None: an old folder without it)
    backend: str  # the Keras backend it trained on: tensorflow | jax | torch (tensorflow: a folder from before)
    weights: Path | None  # weights.npz, written when the run ends (or stops)
    checkpoint: Path | None  # checkpoints/state.json, once a checkpoint was saved

    @property
    def spec_path(self) -> Path:
        return self.folder / "spec.rnn"

    @property
    def status(self) -> str | None:
        return self.manifest.get("status")

    @property
    def epochs_done(self) -> int:
        return int(self.manifest.get("epochs_done") or 0)

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.manifest.get("settings") or {})

    @property
    def data_args(self) -> DataArgs:
        return DataArgs.from_record(self.manifest.get("data_args"))


def read_run_folder(folder: str | Path, need: Iterable[str] = ()) -> SavedRun:
    """Read a run folder `rnndsl compile` wrote: its manifest (format 1 or 2), spec, bindings, lowering, and
    the pieces in `need` ("weights", "checkpoint"); raise RunFolderError naming what is missing or damaged."""
    run = Path(folder)
    if not run.is_dir():
        raise RunFolderError(f"{run}: {'is a file, not a' if run.exists() else 'no such'} run folder")
    text = _read(run, MANIFEST, MAX_MANIFEST_BYTES, "run manifest")
    try:
        manifest = json.loads(text)
    except ValueError as err:
        raise RunFolderError(f"{run / MANIFEST}: not valid JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise RunFolderError(f"{run / MANIFEST}: not a run manifest (a JSON object)")
    fmt = manifest.get("format", 1)
    if isinstance(fmt, bool) or not isinstance(fmt, int) or not 1 <= fmt <= FORMAT:
        raise RunFolderError(f"{run}: its manifest has format {fmt!r}; this rnndsl reads formats 1 to {FORMAT} "
                             f"(a newer rnndsl wrote it?)")
    for key in ("bindings", "lowering") if fmt >= 2 else ():
        if key not in manifest:
            raise RunFolderError(f"{run / MANIFEST}: format {fmt} but no '{key}'")
    try:
        bindings = _bindings(manifest)
        DataArgs.from_record(manifest.get("data_args"))
        lowering = manifest.get("lowering")
        if lowering is not None and lowering not in LOWERINGS:
            raise ValueError(f"'lowering' is {lowering!r}, not {' or '.join(LOWERINGS)}")
        backend = manifest.get("backend", "tensorflow")
        if backend not in BACKENDS:
            raise ValueError(f"'backend' is {backend!r}, not {', '.join(BACKENDS)}")
        if not isinstance(manifest.get("settings") or {}, dict):
            raise ValueError(f"'settings' is {manifest['settings']!r}, not an object")
    except ValueError as err:
        raise RunFolderError(f"{run / MANIFEST}: damaged: {err}") from None
    found = {key: run / path for key, path in NEEDS.items() if (run / path).is_file()}
    for key in need:
        if key not in found:
            raise RunFolderError(f"{run}: the run folder has no {NEEDS[key]}"
                                 + ("; nothing to continue from" if key == "checkpoint" else
                                    " (rnndsl compile writes it when the run ends)"))
    spec_text = _read(run, "spec.rnn", MAX_SPEC_BYTES, "spec")
    return SavedRun(run, fmt, manifest, spec_text, bindings, lowering, backend, found.get("weights"),
                    found.get("checkpoint"))


def _bindings(manifest: dict) -> Bindings | None:
    record = manifest.get("bindings")
    if record is None:
        return None
    if isinstance(record, dict) and "masked" not in record:  # format 1 kept masking with the dataset
        record = {**record, "masked": bool((manifest.get("dataset") or {}).get("masked"))}
    try:
        return from_record(record)
    except ValueError as err:
        raise ValueError(f"'bindings': {err}") from None


def _read(run: Path, name: str, limit: int, what: str) -> str:
    try:
        return fileio.read_text(run / name, limit=limit, what=what)
    except fileio.FileError as err:
        if err.reason == fileio.MISSING:
            why = f"not a run folder (it has no {name})" if name == MANIFEST else f"the run folder has no {name}"
            raise RunFolderError(f"{run}: {why}") from None
        raise RunFolderError(str(err)) from None


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


class RunFolder:
    """A run folder written as the run goes: never half a file, always a manifest.

    `start` writes the specs and a manifest saying `running`; `epoch` rewrites the metrics,
    TensorBoard scalars and the manifest after every epoch; `finish` writes the model and the
    curves and the final status (finished, interrupted, diverged).  Every file is written to a
    temporary name and renamed, so a crash or a full disk never leaves a truncated model.keras.
    """

    def __init__(self, out: Path, checked: Checked, spec_text: str, resolved_spec: str, data: DataSet | None,
                 settings: RunConfig, *, lowering: str, backend: str = "tensorflow", data_args: DataArgs = DataArgs(),
                 extra: Mapping[str, Any] | None = None):
        self.out, self.checked, self.spec_text, self.resolved = Path(out), checked, spec_text, resolved_spec
        self.data, self.settings, self.extra = data, settings, dict(extra or {})
        # what `read_run_folder` needs to build the same model again: the checked program's bindings (masking
        # included), the lowering, the Keras backend, where the data came from
        self.rebuild = {"format": FORMAT, "bindings": recorded(checked.program), "lowering": lowering,
                        "backend": backend, "data_args": data_args.record()}
        self.status = "running"
        self.result: RunResult | None = None
        self.board = None

    def start(self, resumed: bool = False) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        if not resumed:
            atomic_write(self.out / "spec.rnn", self.spec_text.encode("utf-8"))
        atomic_write(self.out / "resolved.rnn", self.resolved.encode("utf-8"))
        self._manifest()
        if self.data is not None and _has_tensorflow():  # (TensorBoard's writer is TensorFlow's, on any backend)
            self.board = _TensorBoard(self.out / "tensorboard", self.checked, self.settings, self.data)

    def graph(self, models: KerasModels) -> None:
        """The training model's forward graph, for TensorBoard's Graphs tab (traced by TensorFlow: its backend only)."""
        import keras

        if self.board is not None and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            inputs = models.logits.inputs
            specs = {t.name: tf.TensorSpec(t.shape, t.dtype) for t in inputs}
            example = next(iter(specs.values())) if len(specs) == 1 else specs
            self.board.graph(models.logits, example)

    def epoch(self, result: RunResult) -> None:
        self.result = result
        self._metrics()
        if self.board is not None and result.rows:
            self.board.epoch(result.rows[-1])
        self._manifest()

    def finish(self, models: KerasModels, result: RunResult | None, status: str) -> None:
        self.result, self.status = result, status
        tmp = self.out / ".model.tmp.keras"
        models.model.save(tmp)
        os.replace(tmp, self.out / "model.keras")
        from ..backends.keras.export import save_weights  # every weight by weight id: `rnndsl export RUN` reads them

        save_weights(models, self.out / ".weights.tmp.npz")
        os.replace(self.out / ".weights.tmp.npz", self.out / "weights.npz")
        if result is not None:
            self._metrics()
            if result.rows and self.data is not None:
                _curves(result, f"{self.checked.program.name} on {self.data.name}", self.out / ".curves.tmp.png")
                os.replace(self.out / ".curves.tmp.png", self.out / "curves.png")
        if self.board is not None:
            self.board.close()
        self._manifest()

    def _metrics(self) -> None:
        result = self.result
        if result is None:
            return
        cols = _columns(result)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["epoch", *cols, "seconds"])
        for r in result.rows:
            w.writerow([r.epoch, *(f"{r.values.get(c, float('nan')):.6f}" for c in cols), f"{r.seconds:.3f}"])
        atomic_write(self.out / "metrics.csv", buf.getvalue().encode("utf-8"))
        atomic_write(self.out / "metrics.json", json.dumps(_records(result), indent=1).encode("utf-8"))

    def _manifest(self) -> None:
        checked, result, data, settings = self.checked, self.result, self.data, self.settings
        program = checked.program
        rows = result.rows if result else []
        records = _records(result) if result else []
        manifest = {
            "spec": program.name,
            "title": program.title,
            "status": self.status,
            "spec_sha256": hashlib.sha256(self.spec_text.encode("utf-8")).hexdigest(),
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
            "interrupted": self.status == "interrupted",
            "final": records[-1] if records else None,
            **self.extra,
            **self.rebuild,
        }
        atomic_write(self.out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))


def _has_tensorflow() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def _records(result: RunResult) -> list[dict]:
    cols = _columns(result)
    return [{"epoch": r.epoch, **{c: _finite(r.values.get(c, float("nan"))) for c in cols},
             "seconds": round(r.seconds, 3)} for r in result.rows]


class _TensorBoard:
    """Scalars per epoch, the hyper-parameters and the model graph, for `tensorboard --logdir runs/`."""

    def __init__(self, folder: Path, checked: Checked, settings: RunConfig, data: DataSet):
        import tensorflow as tf

        self.writer = tf.summary.create_file_writer(str(folder))
        hparams = {"spec": checked.program.name, "optimizer": settings.optimizer, "lr": settings.lr,
                   "batch": settings.batch, "epochs": settings.epochs, "seed": settings.seed,
                   "parameters": checked.total_params, "data": data.name}
        with self.writer.as_default():
            try:
                from tensorboard.plugins.hparams import api as hp

                hp.hparams(hparams)
            except ImportError:  # the hparams dashboard needs the tensorboard package; keep them as text
                pass
            tf.summary.text("hparams", json.dumps(hparams), step=0)
        self.writer.flush()

    def epoch(self, row: EpochRow) -> None:
        import tensorflow as tf

        with self.writer.as_default():
            for key, value in row.values.items():
                split, _, name = key.partition("_")
                if math.isfinite(value):
                    tf.summary.scalar(f"{name}/{split}", value, step=row.epoch)
            tf.summary.scalar("seconds/epoch", row.seconds, step=row.epoch)
        self.writer.flush()

    def graph(self, model: keras.Model, example) -> None:
        """The forward graph of the training model (the Graphs tab)."""
        import tensorflow as tf

        fn = tf.function(lambda x: model(x, training=False))
        with self.writer.as_default():
            tf.summary.graph(fn.get_concrete_function(example).graph)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

