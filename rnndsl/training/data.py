"""Datasets: MNIST and CIFAR-10 from disk or Keras' loaders, and an embedded synthetic set.

Nothing is substituted silently: a dataset that cannot be had is a DataError that says
how to get it, and every loaded Dataset says where it came from.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..catalogue import DATASETS, Dataset

__all__ = ["DataError", "LoadedData", "load_data", "synthetic", "read_idx", "DATA_NAMES"]

DATA_NAMES = ("mnist", "cifar10", "synthetic")


class DataError(Exception):
    """A dataset could not be loaded (message is user-facing)."""


@dataclass(frozen=True, eq=False)
class LoadedData:
    name: str
    source: str  # where it came from, in words
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def describe(self) -> str:
        return (f"{self.name} ({self.source}): {len(self.x_train):,} training and {len(self.x_test):,} test "
                f"examples of shape {tuple(self.x_train.shape[1:])}")


def read_idx(path: Path) -> np.ndarray:
    """Read one (optionally gzipped) idx file, the format MNIST ships in."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise DataError(f"{path}: not an idx file of unsigned bytes")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _find(directory: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        for base in (directory, directory / "mnist"):
            if (base / name).exists():
                return base / name
    return None


def _mnist_from_dir(directory: Path) -> LoadedData:
    stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    paths = [_find(directory, s) for s in stems]
    missing = [s for s, p in zip(stems, paths) if p is None]
    if missing:
        raise DataError(f"{directory}: missing MNIST file(s) {', '.join(m + '.gz' for m in missing)}")
    xtr, ytr, xte, yte = (read_idx(p) for p in paths)  # type: ignore[arg-type]
    return LoadedData("mnist", f"idx files in {directory}", _mnist_x(xtr), ytr.astype(np.int32),
                      _mnist_x(xte), yte.astype(np.int32))


def _mnist_x(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 255.0)[..., None]


def _cifar_from_dir(directory: Path) -> LoadedData:
    base = directory / "cifar-10-batches-py" if (directory / "cifar-10-batches-py").is_dir() else directory
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not (base / n).exists()]
    if missing:
        raise DataError(f"{base}: missing CIFAR-10 python batch(es) {', '.join(missing)}")

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        with open(base / name, "rb") as fh:
            d = pickle.load(fh, encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x.astype(np.float32), np.asarray(d[b"labels"], dtype=np.int32)

    parts = [read(n) for n in names[:5]]
    xte, yte = read("test_batch")
    return LoadedData("cifar10", f"python batches in {base}", np.concatenate([p[0] for p in parts]),
                      np.concatenate([p[1] for p in parts]), xte, yte)


def _from_keras(name: str) -> LoadedData:
    import keras

    loader = {"mnist": keras.datasets.mnist, "cifar10": keras.datasets.cifar10}[name]
    try:
        (xtr, ytr), (xte, yte) = loader.load_data()
    except Exception as err:  # no network and no cache: say both ways to get it
        hint = ("--data-dir DIR with the four MNIST idx .gz files (e.g. ../shared/data/mnist)" if name == "mnist"
                else "--data-dir DIR with the CIFAR-10 python batches (data_batch_1..5, test_batch)")
        raise DataError(f"{name} is not cached and could not be downloaded ({type(err).__name__}: {err}).\n"
                        f"  Either connect to the network once so Keras can cache it in ~/.keras/datasets,\n"
                        f"  or pass {hint}.\n"
                        f"  To try the spec without real data, use --data synthetic.") from None
    if name == "mnist":
        return LoadedData(name, "Keras loader (~/.keras/datasets)", _mnist_x(xtr), ytr.astype(np.int32),
                          _mnist_x(xte), yte.astype(np.int32))
    return LoadedData(name, "Keras loader (~/.keras/datasets)", xtr.astype(np.float32), ytr.reshape(-1).astype(np.int32),
                      xte.astype(np.float32), yte.reshape(-1).astype(np.int32))


def synthetic(ds: Dataset, n_train: int = 2000, n_test: int = 500, seed: int = 0) -> LoadedData:
    """Generated images with a learnable class structure, in the shape and value range of `ds`.

    Each class has a smooth random prototype; an example is its class prototype, shifted by
    up to 3 pixels, scaled by a random contrast and buried in noise.  A good model reaches
    well above chance; a model that ignores the input stays at chance.
    """
    rng = np.random.default_rng(seed)
    h, w, c = ds.shape
    # smooth prototypes: low-frequency sums of random sinusoids
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    protos = np.zeros((ds.classes, h, w, c), np.float32)
    for k in range(ds.classes):
        for ch in range(c):
            f = rng.uniform(1, 4, size=(3, 2))
            ph = rng.uniform(0, 2 * np.pi, size=3)
            protos[k, :, :, ch] = sum(np.sin(2 * np.pi * (f[i, 0] * yy + f[i, 1] * xx) + ph[i]) for i in range(3)) / 3

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, ds.classes, size=n).astype(np.int32)
        shifts = rng.integers(-3, 4, size=(n, 2))
        x = np.stack([np.roll(protos[y[i]], tuple(shifts[i]), axis=(0, 1)) for i in range(n)])
        x = x * rng.uniform(0.5, 1.0, size=(n, 1, 1, 1)) + rng.normal(0, 0.6, size=x.shape)
        x = 1 / (1 + np.exp(-2 * x))  # into (0, 1), like pixels
        if ds.name == "cifar10":
            x = x * 255.0
        return x.astype(np.float32), y

    xtr, ytr = sample(n_train)
    xte, yte = sample(n_test)
    return LoadedData("synthetic", f"generated in memory, shaped like {ds.name}, seed {seed}", xtr, ytr, xte, yte)


def load_data(name: str, expected: Dataset, data_dir: str | None = None, limit: int | None = None,
              seed: int = 0) -> LoadedData:
    """Load `name` (mnist, cifar10 or synthetic) for a spec whose data line says `expected`."""
    if name not in DATA_NAMES:
        raise DataError(f"unknown dataset '{name}' (choose from {', '.join(DATA_NAMES)})")
    if name == "synthetic":
        n_train = max(limit or 2000, 1)
        loaded = synthetic(expected, n_train=n_train, n_test=max(min(n_train // 4, 2000), 100), seed=seed)
    else:
        if DATASETS[name].shape != expected.shape or DATASETS[name].classes != expected.classes:
            raise DataError(f"the spec is written for {expected.name} {expected.shape}, "
                            f"but --data {name} gives {DATASETS[name].shape}")
        if data_dir is not None:
            directory = Path(data_dir)
            if not directory.is_dir():
                raise DataError(f"--data-dir {data_dir}: no such directory")
            loaded = _mnist_from_dir(directory) if name == "mnist" else _cifar_from_dir(directory)
        else:
            loaded = _from_keras(name)
    if limit is not None:
        loaded = LoadedData(loaded.name, loaded.source + f", first {limit:,} training examples",
                            loaded.x_train[:limit], loaded.y_train[:limit], loaded.x_test, loaded.y_test)
    return loaded
