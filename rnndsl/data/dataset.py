"""Split and DataSet: every reader's result, one structure for sequences and whole examples."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import DataError

__all__ = ["Split", "DataSet", "full_lengths"]


def full_lengths(lengths: np.ndarray | None, steps: int) -> np.ndarray | None:
    """`lengths` as int32, or None when every sequence fills all `steps` steps."""
    if lengths is None:
        return None
    lengths = np.asarray(lengths, dtype=np.int32)
    return None if bool((lengths == steps).all()) else lengths


@dataclass(frozen=True, eq=False)
class Split:
    """One split (train or test) of a data set.

    inputs:  name -> float32 array: (N, T, *step_shape) for a sequence (zero-padded after its
             length), (N, *shape) for a whole example.
    targets: name -> (N,) int32 class index | (N, T) int32 class per step | (N, K) float32 real |
             (N, T, K) float32 real per step | (N, K) float32 0/1 labels.
    lengths: (N,) int32 valid steps of each sequence, None when all sequences fill T.
    """

    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    lengths: np.ndarray | None = None

    def __post_init__(self) -> None:
        # The readers check users' files and say where a problem is; this holds the structure for
        # every Split, including those built from Python arrays (rnndsl.training's API).
        arrays = {**self.inputs, **self.targets}
        if not self.inputs:
            raise DataError("a split needs at least one input array")
        counts = {k: (len(v) if getattr(v, "ndim", 0) else None) for k, v in arrays.items()}
        if None in counts.values() or len(set(counts.values())) != 1:
            shown = ", ".join(f"{k} {'a single value' if n is None else n}" for k, n in counts.items())
            raise DataError(f"the arrays of one split must hold the same number of examples: {shown}")
        for k, v in self.inputs.items():
            if v.dtype != np.float32:
                raise DataError(f"input '{k}' is {v.dtype}; inputs are float32")
        for k, v in self.targets.items():
            if v.dtype not in (np.int32, np.float32):
                raise DataError(f"target '{k}' is {v.dtype}; targets are int32 class indices or float32 values")
        if self.lengths is not None:
            n = next(iter(counts.values()))
            if self.lengths.shape != (n,) or self.lengths.dtype != np.int32:
                raise DataError(f"lengths must be ({n},) int32, not {self.lengths.shape} {self.lengths.dtype}")

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def head(self, n: int) -> "Split":
        """The first n examples."""
        lengths = None if self.lengths is None else self.lengths[:n]
        first = next(iter(self.inputs.values()))
        return Split({k: v[:n] for k, v in self.inputs.items()}, {k: v[:n] for k, v in self.targets.items()},
                     full_lengths(lengths, first.shape[1]) if lengths is not None else None)


def _shape(a: np.ndarray) -> str:
    return "(" + ", ".join(str(d) for d in a.shape[1:]) + ("," if a.ndim == 2 else "") + ")"


@dataclass(frozen=True, eq=False)
class DataSet:
    """A data set: where it came from, its train and test splits, its class names.

    classes: class target -> its class names in index order (as written in the file).
    scale:   name -> (mean, std) a series was standardised with: original = value * std + mean.
    """

    name: str
    source: str
    train: Split
    test: Split
    classes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scale: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for what in ("inputs", "targets"):
            a, b = getattr(self.train, what), getattr(self.test, what)
            if a.keys() != b.keys():
                raise DataError(f"{self.source}: the training and test {what} differ: {', '.join(a)} vs {', '.join(b)}")
        for k, v in self.train.inputs.items():
            if v.shape[1:] != self.test.inputs[k].shape[1:]:
                raise DataError(f"{self.source}: input '{k}' has examples of shape {v.shape[1:]} in training but "
                                f"{self.test.inputs[k].shape[1:]} in test")

    def describe(self) -> str:
        """One line: name, source, counts, input shapes, lengths range, classes."""
        parts = [f"{self.name} ({self.source}): {len(self.train):,} train / {len(self.test):,} test"]
        parts.append("input " + ", ".join(f"{k} {_shape(v)}" for k, v in self.train.inputs.items()))
        lens = [s.lengths for s in (self.train, self.test) if s.lengths is not None]
        if lens:
            all_lens = np.concatenate(lens)
            parts.append(f"lengths {int(all_lens.min())}..{int(all_lens.max())}")
        for k, v in self.train.targets.items():
            if k in self.classes:
                names = self.classes[k]
                shown = " ".join(names[:10]) + (" ..." if len(names) > 10 else "")
                parts.append(f"{k}: {len(names)} classes ({shown})")
            else:
                parts.append(f"{k}: real {_shape(v)}")
        for k, (mean, std) in self.scale.items():
            parts.append(f"{k} standardised (mean {mean:.6g}, std {std:.6g})")
        return "; ".join(parts)

    def limit(self, n: int) -> "DataSet":
        """The first n training examples (the test split unchanged)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise DataError(f"{self.name}: the training limit must be a whole number of at least 1, not {n!r}")
        if n >= len(self.train):
            return self
        return replace(self, source=f"{self.source}, first {n:,} training examples", train=self.train.head(int(n)))
