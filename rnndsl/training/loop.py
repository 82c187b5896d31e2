"""Training: the train step over shuffled mini-batches, a test pass after every epoch, progress.

Backend-neutral: batches are numpy arrays, the steps (training/step.py) return python floats.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..backends.keras import LENGTHS, KerasModels
from ..data import DataSet, Split
from .checkpoint import Checkpointer, Resume
from .config import ConfigError, RunConfig
from .step import make_eval_step, make_optimizer, make_train_step, metric_names
from ..errors import ExitCode, RnndslError

__all__ = ["EpochRow", "RunResult", "Diverged", "fit", "evaluate", "batch_inputs", "epoch_order"]


class Diverged(RnndslError):
    """The loss became NaN or infinite (the message is user-facing)."""

    exit_code = ExitCode.DIVERGED

    def __init__(self, epoch: int, step: int, loss: float, last_good: tuple[int, int] | None):
        self.epoch, self.step, self.loss, self.last_good = epoch, step, loss, last_good
        super().__init__(f"the loss became {loss} at epoch {epoch}, step {step}")


@dataclass(frozen=True)
class EpochRow:
    """One epoch: `values` holds train_loss, train_<metric>, test_loss, test_<metric> (acc, mse, mae, ...)."""

    epoch: int
    values: dict[str, float]
    seconds: float

    def __getattr__(self, name: str) -> float:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class RunResult:
    rows: list[EpochRow] = field(default_factory=list)
    interrupted: bool = False
    metrics: list[str] = field(default_factory=list)  # acc / mse, mae / ..., in column order


def batch_inputs(models: KerasModels, split: Split, idx: np.ndarray):
    """The model's input for examples `idx`: one tensor, or a dict by input name (with lengths when masked)."""
    feed = {name: arr[idx] for name, arr in split.inputs.items() if name in models.input_names}
    if LENGTHS in models.input_names:
        lengths = split.lengths if split.lengths is not None else np.full(len(split), _steps(split), np.int32)
        feed[LENGTHS] = lengths[idx]
    return next(iter(feed.values())) if len(models.input_names) == 1 else feed


def _steps(split: Split) -> int:
    return next((a.shape[1] for a in split.inputs.values() if a.ndim >= 2), 1)


def _batch(models: KerasModels, split: Split, idx: np.ndarray):
    heads = models.heads
    ys = {h.output.name: split.targets[h.output.name][idx] for h in heads}
    y = next(iter(ys.values())) if len(heads) == 1 else ys
    lengths = None if split.lengths is None else split.lengths[idx]
    return batch_inputs(models, split, idx), y, lengths


def _batches(n: int, batch: int, order: np.ndarray | None = None):
    idx = np.arange(n) if order is None else order
    for i in range(0, n, batch):
        yield idx[i:i + batch]


class _Totals:
    """Running sums of the loss and of each metric over an epoch."""

    def __init__(self, names: list[str]):
        self.names = names
        self.loss = self.n = 0.0
        self.sums = [0.0] * len(names)
        self.counts = [0.0] * len(names)

    def add(self, loss, stats, size: int) -> None:
        self.loss += float(loss) * size
        self.n += size
        for i, (s, c) in enumerate(stats):
            self.sums[i] += float(s)
            self.counts[i] += float(c)

    def state(self) -> dict:
        return {"loss": self.loss, "n": self.n, "sums": list(self.sums), "counts": list(self.counts)}

    def load(self, state: dict) -> None:
        if state:
            self.loss, self.n = state["loss"], state["n"]
            self.sums, self.counts = list(state["sums"]), list(state["counts"])

    def values(self, prefix: str) -> dict[str, float]:
        out = {f"{prefix}_loss": self.loss / max(self.n, 1.0)}
        for name, s, c in zip(self.names, self.sums, self.counts):
            out[f"{prefix}_{name}"] = s / max(c, 1.0)
        return out


def evaluate(models: KerasModels, step, split: Split, batch: int) -> dict[str, float]:
    """Loss and metrics over a whole split, in batches (prefixed `test_`)."""
    totals = _Totals(metric_names(models.heads))
    for idx in _batches(len(split), batch):
        loss, stats = step(*_batch(models, split, idx))
        totals.add(loss, stats, len(idx))
    return totals.values("test")


class _Progress:
    """A progress line within the epoch: rewritten in place on a terminal, a plain line every 30 s otherwise."""

    def __init__(self, total: int, epoch: int, epochs: int, stream=None):
        # (sys.stdout now, not when the module was imported: it may have been replaced since)
        self.total, self.epoch, self.epochs, self.stream = total, epoch, epochs, stream or sys.stdout
        self.tty = self.stream.isatty()
        self.started = self.last = time.perf_counter()

    def update(self, done: int, loss: float) -> None:
        now = time.perf_counter()
        if now - self.last < (0.2 if self.tty else 30.0) and done < self.total:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        left = (self.total - done) / max(rate, 1e-9)
        text = (f"rnndsl: epoch {self.epoch}/{self.epochs}: step {done}/{self.total}, {rate:.1f} steps/s, "
                f"{left:.0f} s left, loss {loss:.4f}")
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K" + ("\r\x1b[K" if done >= self.total else ""))
        elif done < self.total:
            self.stream.write(text + "\n")
        self.stream.flush()


class _StopRequest:
    """Ctrl-C and SIGTERM ask the loop to stop after the batch in progress (never inside one).

    A handler that raised at once could land between a step's update and the bookkeeping, and a
    resumed run would then repeat or skip that batch.  A second signal while stopping is ignored.
    """

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def _ask(self, signum, frame) -> None:
        if not self.requested:
            print("\nrnndsl: stopping after this batch (a checkpoint of where the run stands is saved)",
                  file=sys.stderr, flush=True)
        self.requested = True

    def __enter__(self) -> "_StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._ask)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of the training examples in an epoch: a function of the seed and the epoch alone,
    so a resumed run sees the same batches as an uninterrupted one."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def fit(models: KerasModels, data: DataSet, cfg: RunConfig, on_epoch: Callable[[EpochRow], None] | None = None,
        progress: bool = True, folder: Path | None = None, checkpoint_every: int | None = None,
        resume: bool = False, live: RunResult | None = None, dist=None) -> RunResult:
    """Train the logits model with the train step; test after every epoch.

    With `folder`, a checkpoint is saved after every epoch (and every `checkpoint_every`
    batches) in folder/checkpoints; `resume` continues from the newest one.  A NaN or infinite
    loss raises Diverged (the last checkpoint stays the last good one).  Ctrl-C stops after the
    current step, saves a checkpoint of where it stood, and keeps the epochs done.  `live`, when
    given, is the RunResult filled as epochs finish (the caller still has it if Diverged is raised).
    `dist` (training/distribute.py) trains each global batch across the strategy's replicas; the
    models must have been built in its scope.
    """
    import keras

    model = models.logits
    steps = _steps(data.train)
    backend = keras.backend.backend()
    if dist is not None and backend != "tensorflow":
        raise ConfigError(f"--strategy runs tf.distribute, on the TensorFlow backend only (not {backend})")
    if cfg.xla and backend == "torch":
        raise ConfigError("--xla is TensorFlow's jit_compile (JAX always compiles with XLA); the torch backend "
                          "has no XLA here: leave --xla out")
    if dist is not None:
        with dist.strategy.scope():
            optimizer = make_optimizer(cfg.optimizer, cfg.optimizer_params)
        if cfg.batch < dist.replicas:
            raise ValueError(f"a batch of {cfg.batch} cannot be shared by {dist.replicas} replicas")
    else:
        optimizer = make_optimizer(cfg.optimizer, cfg.optimizer_params)
    if cfg.tbptt and cfg.tbptt < steps:
        if dist is not None:
            raise ValueError("truncated backpropagation (tbptt) runs on one device: leave --strategy out")
        from .tbptt import make_tbptt_step

        train_step = make_tbptt_step(models, optimizer, models.heads, cfg.tbptt, steps)
    else:
        train_step = make_train_step(model, optimizer, models.heads, cfg.xla, steps,
                                     strategy=dist.strategy if dist is not None else None)
    eval_step = make_eval_step(model, models.heads, cfg.xla, steps)
    names = metric_names(models.heads)
    result = live if live is not None else RunResult()
    result.metrics = names
    saver = Checkpointer(folder, model, optimizer, checkpoint_every) if folder is not None else None
    start = (saver.restore() if saver is not None and resume else None) or Resume()
    result.rows = [EpochRow(r["epoch"], r["values"], r["seconds"]) for r in start.rows]
    n = len(data.train)
    n_steps = -(-n // cfg.batch)
    epoch, i = start.epoch, start.step
    totals = _Totals(names)
    stop = _StopRequest()
    stopped_at: tuple[int, int] | None = None  # (epoch, batches done) when a stop was asked for
    try:
        with stop:
            for epoch in range(start.epoch, cfg.epochs + 1):
                started = time.perf_counter()
                bar = _Progress(n_steps, epoch, cfg.epochs) if progress else None
                totals = _Totals(names)
                first = 0
                if epoch == start.epoch and start.step:
                    totals.load(start.totals)
                    first = start.step
                for i, idx in enumerate(_batches(n, cfg.batch, epoch_order(cfg.seed, epoch, n)), 1):
                    if i <= first:
                        continue  # done before the run was interrupted
                    if dist is None:
                        loss, stats = train_step(*_batch(models, data.train, idx))
                    else:
                        loss, stats = train_step(dist.shards(lambda part: _batch(models, data.train, part), idx,
                                                             data.train.lengths, steps))
                    if not math.isfinite(loss):
                        raise Diverged(epoch, i, loss, saver.last if saver else None)
                    totals.add(loss, stats, len(idx))
                    if bar is not None:
                        bar.update(i, totals.loss / totals.n)
                    if stop.requested and i < n_steps:  # this batch is in the weights and in the sums: stop here
                        stopped_at = (epoch, i)
                        break
                    if saver is not None and checkpoint_every and i % checkpoint_every == 0 and i < n_steps:
                        saver.save(Resume(epoch, i, totals.state(), [asdict(r) for r in result.rows]))
                if stopped_at is not None:
                    break
                values = {**totals.values("train"), **evaluate(models, eval_step, data.test, max(cfg.batch, 100))}
                row = EpochRow(epoch, values, time.perf_counter() - started)
                result.rows.append(row)
                if saver is not None:
                    saver.save(Resume(epoch + 1, 0, {}, [asdict(r) for r in result.rows]))
                if on_epoch is not None:
                    on_epoch(row)
                if stop.requested and epoch < cfg.epochs:
                    stopped_at = (epoch + 1, 0)
                    break
    except KeyboardInterrupt:  # not in the main thread: no handler was installed, and the step may be half done
        result.interrupted = True
        return result
    if stopped_at is not None:
        result.interrupted = True
        if saver is not None and stopped_at[1]:  # where it stood: resume continues from here, exactly
            saver.save(Resume(stopped_at[0], stopped_at[1], totals.state(), [asdict(r) for r in result.rows]))
    return result
