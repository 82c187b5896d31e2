"""What every sub-command shares: reading a spec safely, printing its diagnostics, usage errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import fileio
from ..errors import RnndslError, SpecError, render_all
from ..pipeline import Analysed, Bindings, analyse

__all__ = ["UsageError", "read_spec", "decode_spec", "load", "check_output_path", "write_atomic"]


class UsageError(RnndslError):
    """Bad usage or unreadable input: exit 2."""


def read_spec(path: str) -> str:
    """Read a spec file: a regular file of at most MAX_SPEC_BYTES in UTF-8 (never a FIFO or a device)."""
    try:
        return fileio.read_text(path)
    except fileio.FileError as err:
        raise UsageError(str(err)) from None


def decode_spec(data: bytes, path: str) -> str:
    """Spec bytes as text: at most MAX_SPEC_BYTES, UTF-8 (the error names the line)."""
    try:
        return fileio.decode_text(data, path)
    except fileio.FileError as err:
        raise UsageError(str(err)) from None


def load(path: str, bindings: Bindings | None = None, note: str = "") -> tuple[Analysed, str]:
    """Read and check one spec (completed by what the data says); print its diagnostics; raise SpecError."""
    text = read_spec(path)
    try:
        analysed = analyse(text, bindings)
    except SpecError as err:
        print(render_all(err.diagnostics, text, path), file=sys.stderr)
        if note:
            print(f"rnndsl: (checked {note})", file=sys.stderr)
        raise
    if analysed.checked.warnings:
        print(render_all(analysed.checked.warnings, text, path), file=sys.stderr)
    return analysed, text


def check_output_path(out: str, protect: tuple[str, ...] = ()) -> Path:
    """Fail early (exit 2) for an output file that cannot be written, or that would replace an input."""
    path = Path(out)
    if path.is_dir():
        raise UsageError(f"{out}: is a directory; name a file")
    if path.exists() and not path.is_file():
        raise UsageError(f"{out}: exists and is not a regular file (a device or a pipe); name a file")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{out}: the folder {parent} is not writable")
    for other in protect:
        try:
            if path.exists() and os.path.samefile(path, other):
                raise UsageError(f"{out}: is the input {other}; refusing to overwrite it")
        except OSError:
            continue
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename (fileio.write_atomic); an OS error is a usage error."""
    try:
        fileio.write_atomic(path, data)
    except OSError as err:
        raise UsageError(f"{path}: cannot write: {err.strerror or err}") from None
