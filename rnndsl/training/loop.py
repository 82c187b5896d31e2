"""Training: the train step over shuffled mini-batches, a test pass after every epoch, progress."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import tensorflow as tf

from ..backends.keras import KerasModels
from .config import RunConfig
from .data import LoadedData
from .step import make_eval_step, make_optimizer, make_train_step

__all__ = ["EpochRow", "RunResult", "fit", "evaluate"]


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


def _batches(n: int, batch: int, order: np.ndarray | None = None):
    idx = np.arange(n) if order is None else order
    for i in range(0, n, batch):
        yield idx[i:i + batch]


def evaluate(step, x: np.ndarray, y: np.ndarray, batch: int) -> tuple[float, float]:
    """Mean loss and accuracy over a whole set, in batches."""
    total_loss = total_correct = 0.0
    for idx in _batches(len(x), batch):
        loss, correct = step(tf.constant(x[idx]), tf.constant(y[idx]))
        total_loss += float(loss) * len(idx)
        total_correct += float(correct)
    return total_loss / max(len(x), 1), total_correct / max(len(x), 1)


class _Progress:
    """A progress line within the epoch: rewritten in place on a terminal, a few plain lines otherwise."""

    def __init__(self, total: int, epoch: int, epochs: int, stream=sys.stdout):
        self.total, self.epoch, self.epochs, self.stream = total, epoch, epochs, stream
        self.tty = stream.isatty()
        self.started = self.last = time.perf_counter()
        self.every = 2.0 if self.tty else 30.0

    def update(self, done: int, loss: float) -> None:
        now = time.perf_counter()
        if now - self.last < (0.2 if self.tty else self.every) and done < self.total:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        left = (self.total - done) / max(rate, 1e-9)
        text = (f"rnndsl: epoch {self.epoch}/{self.epochs}: step {done}/{self.total}, {rate:.1f} steps/s, "
                f"{left:.0f} s left, loss {loss:.4f}")
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K")
            if done >= self.total:
                self.stream.write("\r\x1b[K")
        elif done < self.total:
            self.stream.write(text + "\n")
        self.stream.flush()


def fit(models: KerasModels, data: LoadedData, cfg: RunConfig, on_epoch: Callable[[EpochRow], None] | None = None,
        progress: bool = True) -> RunResult:
    """Train the logits model with the train step; test after every epoch.

    Ctrl-C stops after the current step and keeps the epochs done.
    """
    model = models.logits
    optimizer = make_optimizer(cfg.optimizer, cfg.optimizer_params)
    train_step = make_train_step(model, optimizer, cfg.xla)
    eval_step = make_eval_step(model, cfg.xla)
    rng = np.random.default_rng(cfg.seed)
    result = RunResult()
    n = len(data.x_train)
    steps = -(-n // cfg.batch)
    try:
        for epoch in range(1, cfg.epochs + 1):
            started = time.perf_counter()
            bar = _Progress(steps, epoch, cfg.epochs) if progress else None
            total_loss = total_correct = 0.0
            for i, idx in enumerate(_batches(n, cfg.batch, rng.permutation(n)), 1):
                loss, correct = train_step(tf.constant(data.x_train[idx]), tf.constant(data.y_train[idx]))
                total_loss += float(loss) * len(idx)
                total_correct += float(correct)
                if bar is not None:
                    bar.update(i, total_loss / (i * cfg.batch if i < steps else n))
            test_loss, test_acc = evaluate(eval_step, data.x_test, data.y_test, max(cfg.batch, 100))
            row = EpochRow(epoch, total_loss / n, total_correct / n, test_loss, test_acc,
                           time.perf_counter() - started)
            result.rows.append(row)
            if on_epoch is not None:
                on_epoch(row)
    except KeyboardInterrupt:
        result.interrupted = True
    return result
