"""The Keras backend's way in: a program's models, built by the driver its schedule names.

A lowering is a driver over the shared rules (ops.py); a new schedule kind is one more entry
in DRIVERS.
"""

from __future__ import annotations

from typing import Callable

from ...passes import Prepared, ScheduleKind, prepare
from ..costs import KERAS_TENSORFLOW
from .looped import emit_looped
from .models import KerasModels
from .unrolled import emit_keras

__all__ = ["DRIVERS", "build_models"]

DRIVERS: dict[ScheduleKind, Callable[[Prepared], KerasModels]] = {
    ScheduleKind.UNROLLED: emit_keras,
    ScheduleKind.LOOPED: emit_looped,
}


def build_models(checked, lowering: str = "auto") -> KerasModels:
    """Build the Keras models (the usual way in) of a checked program, or of a prepared one.

    A `Checked` program runs the passes first with `lowering` (`unrolled`, `looped`, or `auto`:
    chosen by this backend's cost facts); a `Prepared` one is built as its schedule says.
    """
    prep = checked if isinstance(checked, Prepared) else prepare(checked, lowering=lowering, costs=KERAS_TENSORFLOW)
    return DRIVERS[prep.schedule.kind](prep)
