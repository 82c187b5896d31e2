"""The front half as one call: text -> AST -> IR -> checked IR."""

from __future__ import annotations

from .check import Checked, check
from .errors import Diagnostic, SpecError
from .lower import lower
from .parse import parse

__all__ = ["compile_text"]


def compile_text(text: str) -> Checked:
    """Parse, lower and check spec text; raise SpecError with every diagnostic on failure."""
    spec = parse(text)
    program, diagnostics = lower(spec)
    return check(program, diagnostics)


def diagnostics_of(text: str) -> tuple[Diagnostic, ...]:
    """Every diagnostic for `text` (errors and warnings), without raising."""
    try:
        return compile_text(text).warnings
    except SpecError as err:
        return err.diagnostics
