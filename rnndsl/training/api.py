"""The Python way in: train a checked spec on numpy arrays, a tf.data.Dataset or a DataSet.

Keras is imported only when the model is built, so `backend=` can still choose it (training/backend.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ..data import DataError, DataSet, Split
from .backend import choose
from .config import run_config
from .session import bind_spec, build, checker, prepare_spec

if TYPE_CHECKING:  # keras loads when a model is built, on the backend asked for (training/backend.py)
    import keras

    from ..backends.keras import KerasModels
    from .loop import RunResult

__all__ = ["Trained", "train_text", "as_dataset"]


@dataclass(frozen=True, eq=False)
class Trained:
    """A trained spec: the Keras models, the per-epoch history and the data it saw."""

    models: "KerasModels"
    result: "RunResult"
    data: DataSet

    @property
    def model(self) -> "keras.Model":
        """The model with the spec's outputs as written (softmax and all), for predict and save."""
        return self.models.model

    @property
    def history(self) -> list[dict[str, float]]:
        """One dict per epoch: train_loss, train_<metric>, test_loss, test_<metric>, seconds."""
        return [{"epoch": r.epoch, **r.values, "seconds": r.seconds} for r in self.result.rows]


def _named(value: Any, what: str) -> dict[str, np.ndarray]:
    if isinstance(value, Mapping):
        return {k: np.asarray(v) for k, v in value.items()}
    return {what: np.asarray(value)}


def _split(x: Any, y: Any, lengths: Any) -> Split:
    inputs = {k: np.asarray(v, dtype=np.float32) for k, v in _named(x, "x").items()}
    targets = {}
    for k, v in _named(y, "y").items():
        targets[k] = v.astype(np.int32) if np.issubdtype(v.dtype, np.integer) else v.astype(np.float32)
    for k, v in {**inputs, **{t: a for t, a in targets.items() if a.dtype == np.float32}}.items():
        if not np.isfinite(v).all():
            raise DataError(f"array '{k}': contains NaN or infinite values")
    return Split(inputs, targets, None if lengths is None else np.asarray(lengths, dtype=np.int32))


def _from_tf(dataset) -> tuple[Any, Any, Any]:
    """Materialise a finite tf.data.Dataset of (x, y) or (x, y, lengths) batches or examples."""
    import tensorflow as tf

    if int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise DataError("the tf.data.Dataset is infinite (it repeats): fit reads it into memory once; "
                        "pass a finite one (no .repeat())")
    xs, ys, ls = [], [], []
    for item in dataset.as_numpy_iterator():
        xs.append(item[0])
        ys.append(item[1])
        if len(item) > 2:
            ls.append(item[2])
    if not xs:
        raise DataError("the tf.data.Dataset is empty")
    join = np.concatenate if _is_batched(dataset) else np.stack

    def merge(parts):
        if isinstance(parts[0], dict):
            return {k: join([p[k] for p in parts]) for k in parts[0]}
        return join(parts)

    return merge(xs), merge(ys), (join(ls) if ls else None)


def _is_batched(dataset) -> bool:
    spec = dataset.element_spec
    first = spec[0] if isinstance(spec, tuple) else spec
    if isinstance(first, dict):
        first = next(iter(first.values()))
    return first.shape.rank is not None and first.shape.rank > 0 and first.shape[0] is None


def as_dataset(x: Any, y: Any = None, *, lengths: Any = None, validation_data: Any = None,
               validation_split: float = 0.2, name: str = "arrays") -> DataSet:
    """A DataSet from numpy arrays (or dicts of them by input / target name), or a tf.data.Dataset.

    Without `validation_data` the last `validation_split` of the examples is the test split.
    """
    if isinstance(x, DataSet):
        return x
    if hasattr(x, "as_numpy_iterator"):
        x, y, lengths = _from_tf(x)
        name = "tf.data.Dataset"
    if y is None:
        raise DataError("fit needs targets: spec.fit(x, y)")
    train = _split(x, y, lengths)
    if validation_data is not None:
        vx, vy, *rest = validation_data if not hasattr(validation_data, "as_numpy_iterator") else _from_tf(validation_data)
        test = _split(vx, vy, rest[0] if rest else None)
    else:
        n = len(train)
        cut = n - max(1, int(round(n * validation_split)))
        if cut < 1:
            raise DataError(f"{n} examples are too few to hold out a test split; pass validation_data")
        idx_train, idx_test = np.arange(cut), np.arange(cut, n)
        train, test = _pick(train, idx_train), _pick(train, idx_test)
    return DataSet(name, f"{len(train)} training and {len(test)} held-out examples from Python", train, test, {})


def _pick(s: Split, idx: np.ndarray) -> Split:
    return Split({k: v[idx] for k, v in s.inputs.items()}, {k: v[idx] for k, v in s.targets.items()},
                 None if s.lengths is None else s.lengths[idx])


def train_text(text: str, data: DataSet, *, epochs: int | None = None, batch_size: int | None = None,
               lr: float | None = None, seed: int | None = None, progress: bool = True, on_epoch=None,
               lowering: str = "auto", backend: str | None = None) -> Trained:
    """Check `text`, bind it to `data`, build the model and train it; return the Trained spec.

    `backend` is the Keras backend, tensorflow, jax or torch (None: the one keras already runs, else
    KERAS_BACKEND, else tensorflow); keras imported with another one is an RnndslError.
    """
    name = choose(backend)
    bound = bind_spec(checker(text), data)
    cfg = run_config(bound.analysed.train, lr=lr, batch=batch_size, epochs=epochs, seed=seed)
    models = build(prepare_spec(bound, cfg, lowering, name), seed=cfg.seed, backend=name)
    from .loop import fit

    return Trained(models, fit(models, bound.data, cfg, on_epoch=on_epoch, progress=progress), bound.data)
