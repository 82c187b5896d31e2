"""The folder the playground was started in: its .rnn files, read and written only inside it.

A path comes from the browser, so it is untrusted: it must be relative, name a `.rnn` file, hold
no `..`, no hidden part, no backslash or control character, and once every symlink is resolved it
must still lie inside the folder. Files are read with the limits of `rnndsl check` (a regular
file, at most MAX_SPEC_BYTES, UTF-8) and written through a temporary file and a rename.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from .. import fileio
from ..errors import RnndslError
from ..limits import MAX_SPEC_BYTES

__all__ = ["SpecFolder", "FolderError", "MAX_LISTED"]

MAX_LISTED = 500  # .rnn files listed at most
_MAX_DEPTH = 6  # folders below the root that are searched
# fileio.FileError.reason -> the HTTP status of a refused read (anything else: 403)
_READ_STATUS = {fileio.MISSING: 404, fileio.TOO_LARGE: 413, fileio.NOT_UTF8: 415}


class FolderError(RnndslError):
    """A path or file the folder refuses; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class SpecFolder:
    """The .rnn files below one folder."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve(strict=True)
        if not self.root.is_dir():
            raise NotADirectoryError(str(root))

    def list(self) -> list[str]:
        """The .rnn files below the folder (relative POSIX paths, sorted; hidden folders and symlinks skipped)."""
        found: list[str] = []
        for top, dirs, files in os.walk(self.root, followlinks=False):
            rel_top = Path(top).relative_to(self.root)
            depth = len(rel_top.parts)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < _MAX_DEPTH
                             and not os.path.islink(os.path.join(top, d)))
            for name in sorted(files):
                full = os.path.join(top, name)
                if name.endswith(".rnn") and not name.startswith(".") and not os.path.islink(full) \
                        and os.path.isfile(full):
                    found.append((rel_top / name).as_posix())
                    if len(found) >= MAX_LISTED:
                        return sorted(found)
        return sorted(found, key=lambda p: (p.count("/"), p))

    def first(self) -> str | None:
        """The first spec: the first .rnn at the top, else the first one below."""
        files = self.list()
        return files[0] if files else None

    def resolve(self, rel: object) -> Path:
        """The real path of a .rnn file inside the folder, or FolderError (403 outside it, 404 missing)."""
        if not isinstance(rel, str) or not rel or len(rel) > 1024:
            raise FolderError(400, "a path must be a non-empty string")
        if any(ch in rel for ch in "\\\0") or any(ord(ch) < 32 for ch in rel):
            raise FolderError(403, "a path may not hold backslashes or control characters")
        pure = PurePosixPath(rel)
        if pure.is_absolute() or rel.startswith("~"):
            raise FolderError(403, "a path must be relative to the served folder")
        if any(part in ("..", ".") or part.startswith(".") for part in rel.split("/")):
            raise FolderError(403, "a path may not hold '..' or hidden parts")
        if pure.suffix != ".rnn":
            raise FolderError(403, "only .rnn files are served")
        full = (self.root / pure).resolve(strict=False)  # every symlink resolved
        if full != self.root and self.root not in full.parents:
            raise FolderError(403, "the path leads outside the served folder")
        if full.suffix != ".rnn":
            raise FolderError(403, "only .rnn files are served")
        if not full.exists():
            raise FolderError(404, f"{rel}: no such file")
        if not full.is_file():
            raise FolderError(403, f"{rel}: not a regular file")
        return full

    def read(self, rel: object) -> str:
        """The text of a spec inside the folder, read as `rnndsl check` reads one (and never through a link)."""
        full = self.resolve(rel)
        try:
            return fileio.read_text(full, name=str(rel), follow_links=False)
        except fileio.FileError as err:
            raise FolderError(_READ_STATUS.get(err.reason, 403), str(err)) from None

    def write(self, rel: object, text: str) -> None:
        """Replace an existing spec inside the folder (never create one, never follow a link out)."""
        full = self.resolve(rel)
        data = text.encode("utf-8")
        if len(data) > MAX_SPEC_BYTES:
            raise FolderError(413, f"a spec may have at most {MAX_SPEC_BYTES:,} bytes")
        try:
            fileio.write_atomic(full, data)
        except OSError as err:
            raise FolderError(403, f"{rel}: cannot write: {err.strerror or err}") from None
