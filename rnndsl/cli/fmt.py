"""`rnndsl fmt [--check] SPEC...`: rewrite specs in the canonical layout, every comment kept (no TensorFlow)."""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Iterable

from ..errors import SpecError, render_all
from ..fileio import ReadOnlyFile, write_atomic
from ..limits import MAX_SPEC_BYTES
from ..syntax.format import format_text
from .common import UsageError, decode_spec, read_spec

__all__ = ["add_parser", "cmd_fmt", "unified_diff"]

STDIN = "-"


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the fmt sub-command."""
    p = sub.add_parser("fmt", help="rewrite specs in the canonical layout, keeping every comment (no TensorFlow)")
    p.add_argument("specs", nargs="+", metavar="SPEC",
                   help=".rnn files, rewritten in place; - reads standard input and writes standard output")
    p.add_argument("--check", action="store_true",
                   help="rewrite nothing: print a diff for each spec that would change and exit 1 if any would")
    p.set_defaults(func=cmd_fmt)


def cmd_fmt(args: argparse.Namespace) -> int:
    """Format every spec (an unreadable one does not stop the rest); exit 2 if any was unreadable or
    unwritable, else 1 if any had a syntax error or (with --check) would change, else 0."""
    if args.specs.count(STDIN) > 1:
        raise UsageError("- (standard input) may be given only once")
    unreadable = failed = changed = 0
    for path in args.specs:
        name = "<stdin>" if path == STDIN else path
        try:
            text = _read_stdin() if path == STDIN else read_spec(path)
        except UsageError as err:
            print(f"rnndsl: error: {err}", file=sys.stderr)
            unreadable += 1
            continue
        try:
            formatted = format_text(text)
        except SpecError as err:  # not a spec: refuse, and touch nothing
            print(render_all(err.diagnostics, text, name), file=sys.stderr)
            failed += 1
            continue
        if args.check:
            if formatted != text:
                changed += 1
                sys.stdout.writelines(unified_diff(text, formatted, name))
                print(f"would reformat {name}", file=sys.stderr)
            continue
        if path == STDIN:
            sys.stdout.write(formatted)
            continue
        if formatted == text:
            continue
        try:
            _rewrite(path, text, formatted)
        except UsageError as err:
            print(f"rnndsl: error: {err}", file=sys.stderr)
            unreadable += 1
            continue
        print(f"reformatted {name}", file=sys.stderr)
    sys.stdout.flush()
    return 2 if unreadable else (1 if failed or changed else 0)


def _split(text: str) -> list[str]:
    """Lines with their ends, split at \\n only (str.splitlines also splits at \\r, \\f, ...)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def unified_diff(old: str, new: str, name: str) -> Iterable[str]:
    """A unified diff from `old` to `new`, every line ending with a newline."""
    for line in difflib.unified_diff(_split(old), _split(new), fromfile=name, tofile=f"{name} (formatted)"):
        yield line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def _read_stdin() -> str:
    stream = getattr(sys.stdin, "buffer", None)
    try:
        data = stream.read(MAX_SPEC_BYTES + 1) if stream is not None else sys.stdin.read(MAX_SPEC_BYTES + 1)
    except OSError as err:
        raise UsageError(f"<stdin>: cannot read: {err.strerror or err}") from None
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return decode_spec(data, "<stdin>")


def _rewrite(path: str, old: str, new: str) -> None:
    """Replace the file's text `old` by `new` atomically (fileio.write_atomic: a temporary file in the
    same folder, then a rename; a symbolic link is followed and stays, the file's mode is kept); a
    read-only file, or one that changed since it was read, is left as it is (a usage error)."""
    def unchanged() -> None:
        if read_spec(path) != old:  # an editor saved it meanwhile: keep that text
            raise UsageError(f"{path}: changed while it was being formatted; left as it is")

    try:
        write_atomic(path, new.encode("utf-8"), before_replace=unchanged)
    except ReadOnlyFile:
        raise UsageError(f"{path}: is read-only; not rewriting it (fmt --check shows what would change)") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot rewrite: {err.strerror or err}") from None
