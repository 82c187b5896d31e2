"""Parameter values of layer kinds, optimizers and train settings; shapes and their text."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterator, Mapping
from ..errors import RnndslError

__all__ = [
    "Shape", "ShapeError", "Init", "INIT_KINDS", "REQUIRED", "ParamType", "Param", "Params",
    "fmt_value", "fmt_shape", "size",
]

Shape = tuple[int, ...]  # one sample's shape, without the batch axis


class ShapeError(RnndslError):
    """A layer cannot take the shapes it was given (message is user-facing)."""


@dataclass(frozen=True)
class Init:
    """A weight initialiser such as normal(0.05) or glorot."""

    name: str
    args: tuple[float, ...] = ()

    def __str__(self) -> str:
        return self.name + (f"({', '.join(fmt_value(a) for a in self.args)})" if self.args else "")


INIT_KINDS: Mapping[str, int] = {  # name -> number of numeric arguments
    "glorot": 0, "he": 0, "zeros": 0, "ones": 0,
    "normal": 1, "truncnormal": 1, "uniform": 1,
}

REQUIRED: Any = object()


class ParamType(str, Enum):
    """What a parameter accepts."""

    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    CHOICE = "choice"
    INIT = "init"
    FLOATRANGE = "floatrange"  # a number or lo..hi
    INTS = "ints"  # one or more whole numbers, all positional (reshape)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Param:
    """One parameter: its type, default (REQUIRED for none), bounds and a short doc."""

    name: str
    type: ParamType
    default: Any = REQUIRED
    positional: bool = True
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


class Params(Mapping[str, Any]):
    """Resolved parameter values of one layer use: an immutable, ordered mapping."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | tuple[tuple[str, Any], ...] = ()):
        pairs = tuple(items.items()) if isinstance(items, Mapping) else tuple(items)
        object.__setattr__(self, "_items", pairs)

    def __getitem__(self, key: str) -> Any:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Params) and self._items == other._items

    def __repr__(self) -> str:
        return "Params(" + ", ".join(f"{k}={v!r}" for k, v in self._items) + ")"


def size(shape: Shape) -> int:
    """Number of elements of a shape (1 for a scalar)."""
    return int(math.prod(shape)) if shape else 1


def fmt_value(v: Any) -> str:
    """A parameter value as the language writes it: true, 0.05, 0..0.5."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "..".join(fmt_value(x) for x in v)
    return str(v)


def fmt_shape(s: Shape) -> str:
    """A shape as users read it: (28, 28, 1), (10,), () for a scalar."""
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"
