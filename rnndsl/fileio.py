"""Files the tools read and write: one safe reader of untrusted text, one atomic writer.

A leaf: it imports nothing from rnndsl but errors.py and limits.py, so every stage may use it
(the CLI for specs and outputs, the playground for the files of its folder, training for the run
folder).

* `read_text` reads a regular file only (never a FIFO, a device or a socket: the open does not
  block, and the file is checked before anything is read), at most `limit` bytes, as UTF-8; a bad
  byte is reported with its line.  `follow_links=False` refuses a symbolic link (O_NOFOLLOW) for
  a caller that has resolved the path itself and wants no link swapped in after.  Every refusal is
  a `FileError` whose `reason` callers turn into their own errors.
* `write_atomic` writes through a temporary file in the target's own folder, flushed to disk, then
  renamed over it, so a crash or a full disk never leaves half a file.  A symbolic link is written
  through (the link stays, its target gets the text); an existing file keeps its mode (and owner,
  where allowed); a read-only file or one that is not a regular file is left as it is.  It raises
  OSError, as `open` would.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from .errors import RnndslError
from .limits import MAX_SPEC_BYTES

__all__ = ["FileError", "ReadOnlyFile", "read_text", "decode_text", "write_atomic", "MISSING", "DIRECTORY", "SPECIAL",
           "LINK", "TOO_LARGE", "NOT_UTF8", "UNREADABLE"]

# FileError.reason
MISSING, DIRECTORY, SPECIAL, LINK, TOO_LARGE, NOT_UTF8, UNREADABLE = (
    "missing", "directory", "special", "link", "too-large", "not-utf8", "unreadable")


class FileError(RnndslError):
    """A file that cannot be read as text: `reason` is one of missing, directory, special (a device,
    pipe or socket), link (with follow_links=False), too-large, not-utf8, unreadable; `str()` says it
    with the name the caller gave."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class ReadOnlyFile(PermissionError):
    """`write_atomic` will not replace a file its owner made read-only (a rename could)."""


def read_text(path: str | os.PathLike, *, name: str | None = None, limit: int = MAX_SPEC_BYTES,
              follow_links: bool = True, what: str = "spec") -> str:
    """The text of a regular file of at most `limit` bytes in UTF-8, or FileError.

    `name` is how messages call the file (default: the path); `what` what it should be ("spec")."""
    name = str(path) if name is None else name
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileError(MISSING, f"{name}: no such file") from None
    except IsADirectoryError:
        raise FileError(DIRECTORY, f"{name}: is a directory, not a {what} file") from None
    except OSError as err:
        if err.errno == errno.ELOOP and not follow_links:
            raise FileError(LINK, f"{name}: is a symbolic link; not following it") from None
        raise FileError(UNREADABLE, f"{name}: cannot read: {err.strerror or err}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise FileError(DIRECTORY, f"{name}: is a directory, not a {what} file")
        if not stat.S_ISREG(st.st_mode):
            raise FileError(SPECIAL, f"{name}: not a regular file (a device, pipe or socket cannot be a {what})")
        if st.st_size > limit:
            raise FileError(TOO_LARGE, f"{name}: {st.st_size:,} bytes; a {what} may have at most {limit:,}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as err:
        raise FileError(UNREADABLE, f"{name}: cannot read: {err.strerror or err}") from None
    finally:
        os.close(fd)
    return decode_text(data, name, limit, what)


def decode_text(data: bytes, name: str, limit: int = MAX_SPEC_BYTES, what: str = "spec") -> str:
    """Bytes as text: at most `limit` of them (a file that grew while it was read), UTF-8 (the error
    names the line of the first bad byte)."""
    if len(data) > limit:
        raise FileError(TOO_LARGE, f"{name}: more than {limit:,} bytes; a {what} may have at most {limit:,}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise FileError(NOT_UTF8, f"{name}:{line}: not UTF-8 text (byte {err.start})") from None


def write_atomic(path: str | os.PathLike, data: bytes, *, before_replace: Callable[[], None] | None = None) -> None:
    """Write `data` to `path` through a temporary file beside it, flushed to disk, then a rename.

    A symbolic link is followed (the link stays, its target is written); an existing file keeps its
    mode and, where this user may, its owner and group; a new one gets 0o666 less the umask.  A
    read-only file (ReadOnlyFile), a directory or a device is left as it is.  `before_replace` runs
    once the data is on disk, just before the rename: it may raise to leave the file as it was (the
    formatter checks that no one saved the file meanwhile)."""
    target = Path(os.path.realpath(path))
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
            raise ReadOnlyFile(errno.EACCES, "is read-only", str(path))
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600
        if st is not None and (st.st_uid, st.st_gid) != _owner(fd):
            try:
                os.fchown(fd, st.st_uid, st.st_gid)
            except OSError:
                pass  # only the mode can be kept
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _sync_folder(target.parent)


def _owner(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_uid, st.st_gid


def _sync_folder(folder: Path) -> None:
    """Flush the rename itself to disk (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
