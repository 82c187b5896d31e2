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

__all__ = ["bind", "recorded", "from_record"]


def _match(kind: str, wanted: list[str], given: list[str], source: str) -> dict[str, str]:
    """spec name -> data name: by name, or the only one to the only one."""
    if set(wanted) <= set(given):
        return {w: w for w in wanted}
    if len(wanted) == 1 and len(given) == 1:
        return {wanted[0]: given[0]}
    raise DataError(f"{source}: the spec's {kind}s are {', '.join(wanted)} but the data has "
                    f"{', '.join(given) or 'none'}; name the arrays after the spec's {kind}s")


def bind(program: Program, data: DataSet, heads: dict[str, tuple[int, ...]] | None = None) -> tuple[Bindings, DataSet]:
    """The bindings the data gives the program, and the data renamed and shaped as the program reads it.

    `heads` (output name -> shape, from the check without data) lets a label outside the
    spec's head be named as bad data rather than read as a larger class count.
    """
    heads = {k: v[0] for k, v in (heads or {}).items() if len(v) == 1}
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
        head = heads.get(out.name) if heads else None  # the spec's head width, when the spec fixes it
        y_train, y_test = data.train.targets[name], data.test.targets[name]
        if out.target is TargetKind.CLASS:
            y_train, y_test = (_class_labels(y, out, split, data.source, steps or program.steps)
                               for y, split in ((y_train, "y_train"), (y_test, "y_test")))
            named = len(data.classes.get(name, ()))
            want = out.size or head
            classes = named or int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
            limit = want or classes
            for split, y in (("train", y_train), ("test", y_test)):
                bad = np.argwhere((y < 0) | (y >= limit))
                if len(bad):
                    where = ", ".join(str(int(i)) for i in bad[0])
                    whose = (f"the spec's '{out.name}' gives {limit} classes" if want else f"{limit} classes")
                    raise DataError(f"{data.source}: {name}_{split}[{where}] = {int(y[tuple(bad[0])])} is outside "
                                    f"0..{limit - 1} ({whose})")
            if out.size is not None and named and named != out.size:
                raise DataError(f"{data.source}: target '{out.name}' declares {out.size} classes but the data names "
                                f"{named}")
            sizes[out.name] = out.size or (named if named else (head or classes))
        else:
            y_train, y_test = (_real_values(y, out, split, data.source)
                               for y, split in ((y_train, "y_train"), (y_test, "y_test")))
            width = int(y_train.shape[-1])
            if out.size is not None and width != out.size:
                raise DataError(f"{data.source}: target '{out.name}' declares {out.size} values but the data has "
                                f"{width}")
            sizes[out.name] = out.size or width
        train_t[out.name], test_t[out.name] = y_train, y_test
    masked = data.train.lengths is not None or data.test.lengths is not None

    def split(s: Split, targets: dict[str, np.ndarray]) -> Split:
        return Split({d: s.inputs[ins[d]] for d in ins}, targets, s.lengths)

    bound = dataclasses.replace(data, train=split(data.train, train_t), test=split(data.test, test_t),
                                classes={o: data.classes[outs[o]] for o in outs if outs[o] in data.classes})
    return Bindings(steps=steps, shapes=shapes, sizes=sizes, masked=masked), bound


def recorded(program: Program) -> dict:
    """What the data bound in a checked program, as JSON: a run folder's manifest keeps it, so that the
    spec is checked again exactly as it was built (`from_record`)."""
    return {"steps": program.steps, "masked": program.masked,
            "shapes": {i.name: list(i.shape) for i in program.inputs if i.shape is not None},
            "sizes": {o.name: o.size for o in program.outputs if o.size is not None}}


def from_record(record: dict) -> Bindings:
    """The Bindings `recorded` wrote; a damaged record is a ValueError saying what is wrong."""
    if not isinstance(record, dict):
        raise ValueError(f"not an object: {record!r}")

    def whole(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    steps, masked = record.get("steps"), record.get("masked", False)
    shapes, sizes = record.get("shapes") or {}, record.get("sizes") or {}
    if steps is not None and not whole(steps):
        raise ValueError(f"'steps' is {steps!r}, not a whole number of at least 1")
    if not isinstance(masked, bool):
        raise ValueError(f"'masked' is {masked!r}, not true or false")
    if not isinstance(shapes, dict) or not all(isinstance(v, list) and all(map(whole, v)) for v in shapes.values()):
        raise ValueError(f"'shapes' is {shapes!r}, not input name -> a list of sizes")
    if not isinstance(sizes, dict) or not all(map(whole, sizes.values())):
        raise ValueError(f"'sizes' is {sizes!r}, not target name -> a size")
    return Bindings(steps, {k: tuple(v) for k, v in shapes.items()}, dict(sizes), masked)


def _per_step(y: np.ndarray, steps: int | None, name: str, source: str) -> np.ndarray:
    """A class per sequence given to a per-step target applies at every step."""
    if y.ndim == 2:
        return y
    if steps is None:
        raise DataError(f"{source}: target '{name}' is per step, but no input gives the number of steps")
    return np.repeat(y[:, None], steps, axis=1).astype(np.int32)


def _class_labels(y: np.ndarray, out, split: str, source: str, steps: int | None) -> np.ndarray:
    """Class indices as int32: (N,) per sequence, (N, T) per step; whole numbers only."""
    if y.ndim >= 2 and y.shape[-1] == 1 and (y.ndim == 3 or not out.per_step):
        y = y[..., 0]  # (N, 1) or (N, T, 1): one label per example or step
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            i = np.argwhere(~np.isfinite(y) | (y != np.round(y)))[0]
            raise DataError(f"{source}: {split}[{', '.join(str(int(k)) for k in i)}] = {y[tuple(i)]:g} is not a class "
                            f"index: class targets need whole numbers")
    if y.ndim == 2 and not out.per_step:
        raise DataError(f"{source}: target '{out.name}' has a class per sequence, but the data gives one per step "
                        f"({split} is {tuple(y.shape)}); declare it per step: target {out.name}[t]: class")
    if y.ndim > 2:
        raise DataError(f"{source}: {split} has shape {tuple(y.shape)}: a class target needs one index per "
                        f"{'step' if out.per_step else 'example'}")
    y = y.astype(np.int32)
    return _per_step(y, steps, out.name, source) if out.per_step else y


def _real_values(y: np.ndarray, out, split: str, source: str) -> np.ndarray:
    """Reals as float32: (N, K) per sequence, (N, T, K) per step; labels must be 0 or 1."""
    y = np.asarray(y, dtype=np.float32)
    if out.per_step:
        if y.ndim == 2:
            y = y[..., None]
        if y.ndim != 3:
            raise DataError(f"{source}: target '{out.name}' is per step but the data gives one value per sequence "
                            f"({split} is {tuple(y.shape)})")
    else:
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2:
            raise DataError(f"{source}: target '{out.name}' has one value per sequence, but the data gives them per "
                            f"step ({split} is {tuple(y.shape)}); declare it per step: target {out.name}[t]: "
                            f"{out.target.value}({y.shape[-1]})")
    if out.target is TargetKind.LABELS and not np.isin(y, (0.0, 1.0)).all():
        i = np.argwhere(~np.isin(y, (0.0, 1.0)))[0]
        raise DataError(f"{source}: {split}[{', '.join(str(int(k)) for k in i)}] = {y[tuple(i)]:g}: labels targets "
                        f"take 0 or 1")
    return y
