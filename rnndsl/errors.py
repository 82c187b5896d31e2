"""Diagnostics: errors are data (a span, a message, notes); rendering is separate."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar, Iterable, Sequence


class ExitCode(IntEnum):
    """Every exit code of the `rnndsl` command, in one place (docs/commands.md#exit-codes)."""

    OK = 0
    SPEC = 1  # the spec has errors: diagnostics were printed
    USAGE = 2  # bad flags, unreadable or bad input (spec file, data, run folder), an output that cannot be written
    INTERNAL = 3  # a bug in rnndsl
    DIVERGED = 4  # training stopped on a non-finite or exploding loss
    INTERRUPTED = 130  # Ctrl-C or SIGTERM


class RnndslError(Exception):
    """The base of every error rnndsl raises on purpose; `exit_code` is what the CLI exits with.

    Anything else reaching the CLI is a bug (exit 3).  Subclasses keep their own fields
    (diagnostics, the data file and line, ...); `str(err)` is the one-line message.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.USAGE

__all__ = [
    "ExitCode",
    "RnndslError",
    "Span",
    "Diagnostic",
    "SpecError",
    "did_you_mean",
    "closest",
    "hint_for",
    "render_diagnostic",
    "render_all",
]


@dataclass(frozen=True, order=True)
class Span:
    """A source range: 1-based line and column, end exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def unknown() -> "Span":
        """A span for things that have no place in the source."""
        return Span(0, 0, 0, 0)

    @property
    def known(self) -> bool:
        return self.line > 0


@dataclass(frozen=True)
class Diagnostic:
    """One user-facing problem: `code` is the stable error kind, `message` lowercase."""

    code: str
    message: str
    span: Span = field(default_factory=Span.unknown)
    notes: tuple[str, ...] = ()
    severity: str = "error"
    suggestion: str | None = None  # a replacement for the text `span` covers ("did you mean"), for quick fixes


class SpecError(RnndslError):
    """A spec could not be accepted; carries every diagnostic found in one pass."""

    exit_code = ExitCode.SPEC

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(_located(d) for d in self.diagnostics))


def _located(d: Diagnostic) -> str:
    return f"{d.span.line}:{d.span.col}: {d.message}" if d.span.known else d.message


_LONGEST_SUGGESTED = 64  # longer names get no "did you mean": comparing two names costs their lengths' product


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate `word` is most likely a typo of (a Diagnostic's `suggestion`), or None when none is close."""
    if len(word) > _LONGEST_SUGGESTED:
        return None
    pool = sorted({c for c in candidates if len(c) <= _LONGEST_SUGGESTED} - {word})
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not close:  # short names: a typo that starts with a known name (`hiden` for `h`)
        close = sorted((c for c in pool if word.startswith(c) or c.startswith(word)), key=len, reverse=True)[:1]
    return close[0] if close else None


def did_you_mean(word: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """A 'did you mean' note for `word`, or nothing when no candidate is close."""
    return hint_for(closest(word, candidates))


def hint_for(suggestion: str | None) -> tuple[str, ...]:
    """The 'did you mean' note of a suggestion (none for None)."""
    return (f"did you mean '{suggestion}'?",) if suggestion is not None else ()


def render_diagnostic(diag: Diagnostic, source: str, filename: str) -> str:
    """Format one diagnostic the compiler way: file:line:col, the line, a caret."""
    span = diag.span
    if not span.known:
        head = f"{filename}: {diag.severity}: {diag.message}"
        return "\n".join([head, *(f"  note: {n}" for n in diag.notes)])
    head = f"{filename}:{span.line}:{span.col}: {diag.severity}: {diag.message}"
    lines = source.splitlines()
    out = [head]
    if 0 < span.line <= len(lines):
        text = lines[span.line - 1].expandtabs(1)
        width = (span.end_col - span.col) if span.end_line == span.line else len(text) - span.col + 1
        width = max(1, width)
        gutter = str(span.line)
        out.append(f"  {gutter} | {text}")
        out.append(f"  {' ' * len(gutter)} | {' ' * (span.col - 1)}{'^' * width}")
    out.extend(f"  note: {n}" for n in diag.notes)
    return "\n".join(out)


def render_all(diags: Sequence[Diagnostic], source: str, filename: str) -> str:
    """Render diagnostics in source order, with a closing count line."""
    ordered = sorted(diags, key=lambda d: (d.span.line, d.span.col, d.code))
    parts = [render_diagnostic(d, source, filename) for d in ordered]
    errors = sum(1 for d in diags if d.severity == "error")
    warnings = len(diags) - errors
    counts = []
    if errors:
        counts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        counts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    if counts:
        parts.append(f"{filename}: {', '.join(counts)}")
    return "\n".join(parts)
