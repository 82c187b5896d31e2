"""Data meets spec: match the data's inputs and targets to the spec's, check shapes and sizes, find T.

Everything here runs before a model is built, so a mismatch costs nothing: it is a DataError
naming both sides.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..catalogue import fmt_shape
from ..data import DataError, DataSet, Split
from ..ir import Program, TargetKind
from ..semantics.symbols import Bindings

__all__ = ["bind"]


def _match(kind: str, wanted: list[str], given: list[str], source: str) -> dict[str, str]:
    """spec name -> data name: by name, or the only one to the only one."""
    if set(wanted) <= set(given):
        return {w: w for w in wanted}
    if len(wanted) == 1 and len(given) == 1:
        return {wanted[0]: given[0]}
    raise DataError(f"{source}: the spec's {kind}s are {', '.join(wanted)} but the data has "
                    f"{', '.join(given) or 'none'}; name the arrays after the spec's {kind}s")


def bind(program: Program, data: DataSet) -> tuple[Bindings, DataSet]:
    """The bindings the data gives the program, and the data renamed and shaped as the program reads it."""
    ins = _match("input", [i.name for i in program.inputs], list(data.train.inputs), data.source)
    outs = _match("target", [o.name for o in program.outputs], list(data.train.targets), data.source)
    steps: int | None = None
    shapes: dict[str, tuple[int, ...]] = {}
    for decl in program.inputs:
        arr = data.train.inputs[ins[decl.name]]
        given = tuple(int(d) for d in (arr.shape[2:] if decl.sequence else arr.shape[1:]))
        if decl.sequence:
            if arr.ndim < 3:
                raise DataError(f"{data.source}: input '{decl.name}' is a sequence (input {decl.name}[t]) but the data "
                                f"gives one value per example, of shape {fmt_shape(tuple(arr.shape[1:]))}")
            steps = int(arr.shape[1])
        if decl.shape is not None and given != tuple(decl.shape):
            per = " per step" if decl.sequence else ""
            raise DataError(f"{data.source}: the spec declares input '{decl.name}' of shape {fmt_shape(decl.shape)}{per}, "
                            f"but the data gives {fmt_shape(given)}{per}")
        shapes[decl.name] = given
    if steps is not None and not program.steps_from_data and steps != program.steps:
        raise DataError(f"{data.source}: the spec says `steps {program.steps}` but the data's sequences have {steps} "
                        f"steps; drop the steps line to take them from the data")
    sizes: dict[str, int] = {}
    train_t, test_t = {}, {}
    for out in program.outputs:
        name = outs[out.name]
        y_train, y_test = data.train.targets[name], data.test.targets[name]
        if out.target is TargetKind.CLASS:
            classes = len(data.classes.get(name, ())) or int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
            if out.size is not None and classes != out.size:
                raise DataError(f"{data.source}: target '{out.name}' declares {out.size} classes but the data has "
                                f"{classes}")
            sizes[out.name] = out.size or classes
            for split, y in (("training", y_train), ("test", y_test)):
                bad = (y < 0) | (y >= sizes[out.name])
                if bad.any():
                    raise DataError(f"{data.source}: {split} label {int(y[bad][0])} of target '{out.name}' is outside "
                                    f"0..{sizes[out.name] - 1}")
            if out.per_step:
                y_train, y_test = (_per_step(y, steps or program.steps, out.name, data.source) for y in (y_train, y_test))
        else:
            if out.per_step and y_train.ndim == 2:
                y_train, y_test = y_train[..., None], y_test[..., None]
            width = int(y_train.shape[-1]) if y_train.ndim >= 2 else 1
            if y_train.ndim == 1:
                y_train, y_test = y_train[:, None], y_test[:, None]
            if out.size is not None and width != out.size:
                raise DataError(f"{data.source}: target '{out.name}' declares {out.size} values but the data has "
                                f"{width}")
            sizes[out.name] = out.size or width
            if out.per_step and y_train.ndim != 3:
                raise DataError(f"{data.source}: target '{out.name}' is per step but the data gives one value per "
                                f"sequence")
        train_t[out.name], test_t[out.name] = y_train, y_test
    masked = data.train.lengths is not None or data.test.lengths is not None

    def split(s: Split, targets: dict[str, np.ndarray]) -> Split:
        return Split({d: s.inputs[ins[d]] for d in ins}, targets, s.lengths)

    bound = dataclasses.replace(data, train=split(data.train, train_t), test=split(data.test, test_t),
                                classes={o: data.classes[outs[o]] for o in outs if outs[o] in data.classes})
    return Bindings(steps=steps, shapes=shapes, sizes=sizes, masked=masked), bound


def _per_step(y: np.ndarray, steps: int | None, name: str, source: str) -> np.ndarray:
    """A class per sequence given to a per-step target applies at every step."""
    if y.ndim == 2:
        return y
    if steps is None:
        raise DataError(f"{source}: target '{name}' is per step, but no input gives the number of steps")
    return np.repeat(y[:, None], steps, axis=1).astype(np.int32)
