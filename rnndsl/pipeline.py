"""The front end as one call: text -> AST -> IR -> checked IR (plus the spec's train block).

    parse (syntax/) -> lower (semantics/) -> check (checks/) -> prepare (passes/) -> backend (backends/)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .checks import Checked, check
from .errors import Diagnostic, SpecError
from .semantics import TrainBlock, lower
from .semantics.symbols import Bindings
from .syntax import parse

__all__ = ["Analysed", "Bindings", "analyse", "compile_text", "diagnostics_of"]


@dataclass(frozen=True, eq=False)
class Analysed:
    """A spec that passed every check, and the training settings it asks for."""

    checked: Checked
    train: TrainBlock


def analyse(text: str, bindings: Bindings | None = None) -> Analysed:
    """Parse, lower and check spec text; raise SpecError with every diagnostic on failure.

    `bindings` are what the data says (sequence length, input shapes, class counts, masking).
    """
    lowered = lower(parse(text), bindings)
    program = dataclasses.replace(lowered.program, source=text)
    return Analysed(check(program, lowered.diagnostics), lowered.train)


def compile_text(text: str) -> Checked:
    """Parse, lower and check spec text (the checked program only)."""
    return analyse(text).checked


def diagnostics_of(text: str) -> tuple[Diagnostic, ...]:
    """Every diagnostic for `text` (errors and warnings), without raising."""
    try:
        return compile_text(text).warnings
    except SpecError as err:
        return err.diagnostics
