"""Data loading: idx files, CIFAR-10 python batches, the embedded synthetic set, clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from conftest import MNIST_DIR
from rnndsl.training.data import DataError, load_data, read_idx, synthetic
from rnndsl.catalogue import DATASETS


@pytest.mark.skipif(not MNIST_DIR.exists(), reason="../shared/data/mnist is not beside the checkout")
def test_mnist_idx_files_read_as_documented() -> None:
    labels = read_idx(MNIST_DIR / "train-labels-idx1-ubyte.gz")
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    d = load_data("mnist", DATASETS["mnist"], str(MNIST_DIR), limit=100)
    assert d.x_train.shape == (100, 28, 28, 1) and d.x_test.shape == (10000, 28, 28, 1)
    assert d.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert "first 100 training examples" in d.source


def test_cifar_python_batches_are_read_as_nhwc(tmp_path: Path) -> None:
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
        with open(base / name, "wb") as fh:
            pickle.dump({b"data": data, b"labels": [0, 1, 2, 3]}, fh)
    d = load_data("cifar10", DATASETS["cifar10"], str(tmp_path))
    assert d.x_train.shape == (20, 32, 32, 3) and d.x_test.shape == (4, 32, 32, 3)
    first = pickle.load(open(base / "data_batch_1", "rb"))[b"data"][0].reshape(3, 32, 32)
    np.testing.assert_array_equal(d.x_train[0], first.transpose(1, 2, 0))  # channel-last


def test_missing_files_and_wrong_shapes_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing MNIST file"):
        load_data("mnist", DATASETS["mnist"], str(tmp_path))
    with pytest.raises(DataError, match="no such directory"):
        load_data("mnist", DATASETS["mnist"], str(tmp_path / "nope"))
    with pytest.raises(DataError, match="written for cifar10"):
        load_data("mnist", DATASETS["cifar10"], str(tmp_path))


def test_synthetic_data_has_the_spec_shape_and_repeats_with_its_seed() -> None:
    a = synthetic(DATASETS["cifar10"], n_train=50, n_test=10, seed=4)
    b = synthetic(DATASETS["cifar10"], n_train=50, n_test=10, seed=4)
    assert a.x_train.shape == (50, 32, 32, 3) and a.x_train.max() > 1.0  # CIFAR's 0-255 range
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert set(a.y_train.tolist()) <= set(range(10))
    assert "synthetic" in a.describe() and "generated" in a.describe()


@pytest.mark.tf
def test_unavailable_data_says_both_ways_to_get_it(monkeypatch) -> None:
    keras = pytest.importorskip("keras")

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError) as err:
        load_data("mnist", DATASETS["mnist"])
    text = str(err.value)
    assert "--data-dir" in text and "network" in text and "--data synthetic" in text
