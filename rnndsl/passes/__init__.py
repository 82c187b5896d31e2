"""Backend-independent passes over the checked IR, run in order from one tuple."""

from __future__ import annotations

from ..checks import Checked
from .constant_folding import fold_constants
from .prepared import Pass, Prepared
from .zero_state import elide_zero_states

__all__ = ["PASSES", "Prepared", "prepare", "fold_constants", "elide_zero_states"]

PASSES: tuple[Pass, ...] = (
    fold_constants,
    elide_zero_states,
)


def prepare(checked: Checked, passes: tuple[Pass, ...] = PASSES) -> Prepared:
    """Run the passes over a checked program; the result is what every backend compiles."""
    prep = Prepared(checked)
    for run in passes:
        prep = run(prep)
    return prep
