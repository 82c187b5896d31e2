"""Binding data to a spec: labels are checked and shaped before anything is built (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from rnndsl.data import DataError, DataSet, Split
from rnndsl.pipeline import analyse
from rnndsl.training.binding import bind

CLASS = "model c\ninput x[t]: (2,)\ntarget y: class\nh[t] = gru(x[t], 4)\ny = h[last] | dense(2)\n"


def _data(y_train, y_test=None) -> DataSet:
    x = np.zeros((len(y_train), 5, 2), np.float32)
    xt = np.zeros((len(y_test if y_test is not None else y_train), 5, 2), np.float32)
    y_test = y_train if y_test is None else y_test
    return DataSet("d", "d.npz", Split({"x": x}, {"y": y_train}), Split({"x": xt}, {"y": y_test}))


def _bind(text: str, data: DataSet):
    checked = analyse(text).checked
    return bind(checked.program, data, dict(checked.shapes))


def test_labels_shaped_n_by_1_or_stored_as_floats_become_class_indices() -> None:
    y = np.array([0, 1, 1, 0], np.int32)
    for given in (y[:, None], y.astype(np.float32), y[:, None].astype(np.float32)):
        bindings, bound = _bind(CLASS, DataSet("d", "d.npz", Split({"x": np.zeros((4, 5, 2), np.float32)},
                                                                     {"y": given}),
                                               Split({"x": np.zeros((4, 5, 2), np.float32)}, {"y": given})))
        got = bound.train.targets["y"]
        assert got.dtype == np.int32 and got.shape == (4,) and (got == y).all()
        assert bindings.sizes == {"y": 2}


def test_a_fractional_class_label_is_bad_data() -> None:
    with pytest.raises(DataError, match=r"y_train\[2\] = 0.5 is not a class index"):
        _bind(CLASS, _data(np.array([0, 1, 0.5, 0], np.float32)))


def test_a_label_outside_the_head_is_named_as_bad_data() -> None:
    with pytest.raises(DataError, match=r"y_train\[7\] = 5 is outside 0..1 \(the spec's 'y' gives 2 classes\)"):
        _bind(CLASS, _data(np.array([0, 1, 0, 1, 0, 1, 0, 5], np.int32)))
    with pytest.raises(DataError, match=r"y_test\[1\] = 2 is outside 0..1"):
        _bind(CLASS, _data(np.array([0, 1], np.int32), np.array([1, 2], np.int32)))


def test_per_step_data_for_a_per_sequence_target_says_to_declare_it_per_step() -> None:
    with pytest.raises(DataError, match=r"declare it per step: target y\[t\]: class"):
        _bind(CLASS, _data(np.zeros((4, 5), np.int32)))
    real = "model r\ninput x[t]: (1,)\ntarget y: real(1)\nh[t] = gru(x[t], 4)\ny = dense(h[last], 1)\n"
    x = np.zeros((4, 5, 1), np.float32)
    per_step = DataSet("d", "d.npz", Split({"x": x}, {"y": np.zeros((4, 5, 1), np.float32)}),
                       Split({"x": x}, {"y": np.zeros((4, 5, 1), np.float32)}))
    with pytest.raises(DataError, match=r"declare it per step: target y\[t\]: real\(1\)"):
        _bind(real, per_step)


def test_multi_label_targets_take_only_zeros_and_ones() -> None:
    text = "model l\ninput x[t]: (2,)\ntarget y: labels(2)\nh[t] = gru(x[t], 4)\ny = dense(h[last], 2)\n"
    with pytest.raises(DataError, match=r"y_train\[0, 1\] = 2: labels targets take 0 or 1"):
        _bind(text, _data(np.array([[0, 2], [1, 0]], np.float32)))
