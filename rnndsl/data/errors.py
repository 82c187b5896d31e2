"""DataError and the checks every reader shares: file size, numbers, where a problem is.

A DataError's message is user-facing: it starts with the file (and `:line` where one
applies), then says what is wrong. Readers never let another exception out for bad data.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from ..errors import RnndslError

__all__ = ["DataError", "MAX_FILE_BYTES", "MAX_ARRAY_BYTES", "MAX_CLASSES", "check_file", "read_bytes", "at",
           "decode", "show", "partner", "to_float32", "parse_list", "is_number", "not_a_number", "check_array_bytes", "FLOAT32_MAX"]

MAX_FILE_BYTES = 2 * 1024 ** 3  # a file (or an archive's unpacked contents) larger than this is not read
MAX_ARRAY_BYTES = 4 * 1024 ** 3  # one array a reader builds (padded sequences, images)
MAX_CLASSES = 100_000  # integer targets with a larger class index are refused (most likely not class labels)
FLOAT32_MAX = float(np.finfo(np.float32).max)

# A plain decimal number: no nan/inf, no '?', no underscores or hex that Python's float() would accept.
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
NUMBER_RE = re.compile(rf"[ \t]*{NUMBER}[ \t]*", re.ASCII)  # ASCII digits; spaces and tabs around it only
LIST_RE = re.compile(rf"[ \t]*{NUMBER}[ \t]*(?:,[ \t]*{NUMBER}[ \t]*)*", re.ASCII)


class DataError(RnndslError):
    """Bad or missing data; the message is user-facing and names the file (and the line, where it applies)."""


def show(text: object, width: int = 40) -> str:
    """User text to echo in a message: cut to `width` characters, control characters as escapes."""
    t = str(text)
    t = t if len(t) <= width else t[: width - 3] + "..."
    return t if t.isprintable() else t.encode("unicode_escape").decode("ascii")


def at(path: str | Path, line: int | None = None) -> str:
    """The `file:line:` (or `file:`) prefix of a message."""
    return f"{path}:{line}:" if line else f"{path}:"


def check_file(path: str | Path, what: str = "file") -> Path:
    """`path` as a Path, after checking it is a readable regular file no larger than MAX_FILE_BYTES."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DataError(f"{p}: no such {what}") from None
    except OSError as err:
        raise DataError(f"{p}: cannot read it ({err.strerror or err})") from None
    if p.is_dir():
        raise DataError(f"{p}: is a directory, not a {what}")
    if st.st_size > MAX_FILE_BYTES:
        raise DataError(f"{p}: {st.st_size:,} bytes, larger than the {MAX_FILE_BYTES:,}-byte limit on data files")
    if not os.access(p, os.R_OK):
        raise DataError(f"{p}: cannot read it (permission denied)")
    return p


def read_bytes(path: Path) -> bytes:
    """The whole file; OS errors become DataErrors."""
    try:
        return path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({err.strerror or err})") from None


def read_text(path: Path, empty: str = "empty file") -> str:
    """A checked, non-empty UTF-8 text file (what the .ts and .csv readers start from)."""
    check_file(path)
    raw = read_bytes(path)
    if not raw.strip():
        raise DataError(f"{path}: {empty}")
    return decode(path, raw)


def is_number(text: str) -> bool:
    return NUMBER_RE.fullmatch(text) is not None


def not_a_number(path: Path, line: int | None, value: str, where: str = "") -> DataError:
    """The error for a value that is not a plain number, saying what it is when that helps."""
    v = value.strip(" \t\r")
    shown = show(v)
    if v == "?":
        why = "a missing value ('?'); fill or drop the case, missing values are not supported"
    elif v.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        why = f"'{shown}' is not a finite number"
    elif v == "":
        why = "an empty value"
    else:
        why = f"'{shown}' is not a number"
    return DataError(f"{at(path, line)} {where}{why}")


def to_float32(path: Path, line: int | None, values: list[str], where: str = "", item: str = "value",
               first: int = 1) -> np.ndarray:
    """Parse plain decimal numbers into float32; the first bad one is a DataError naming it and its place.

    The place reads `{where}, {item} {k}: ` (k counted from `first`), e.g. "channel 2, value 17: ".
    """
    match = NUMBER_RE.fullmatch
    for k, v in enumerate(values):
        if match(v) is None:
            raise not_a_number(path, line, v, _place(where, item, k + first))
    arr = np.array([float(v) for v in values], dtype=np.float64)
    if arr.size and np.abs(arr).max() > FLOAT32_MAX:
        k = int(np.argmax(np.abs(arr)))
        raise DataError(f"{at(path, line)} {_place(where, item, k + first)}'{show(values[k].strip())}' is too large "
                        f"for float32 (at most {FLOAT32_MAX:.3g})")
    return arr.astype(np.float32)


def parse_list(path: Path, line: int | None, text: str, where: str = "") -> np.ndarray:
    """Comma-separated plain numbers into float32 (one regex for the whole list; to_float32 says what is wrong)."""
    if LIST_RE.fullmatch(text) is None:
        return to_float32(path, line, text.split(","), where)
    arr = np.array([float(v) for v in text.split(",")], dtype=np.float64)
    if np.abs(arr).max() > FLOAT32_MAX:
        return to_float32(path, line, text.split(","), where)
    return arr.astype(np.float32)


def _place(where: str, item: str, k: int) -> str:
    return f"{where}, {item} {k}: " if where else f"{item} {k}: "


def decode(path: Path, raw: bytes) -> str:
    """UTF-8 text (a BOM is dropped); bytes that are not UTF-8 are a DataError naming the line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{at(path, line)} not UTF-8 text (byte 0x{raw[err.start]:02x}): is this a text file?") from None


def partner(path: Path, suffix: str) -> tuple[Path, Path]:
    """(train, test) paths from either one: X_TRAIN<suffix> <-> X_TEST<suffix>, in the name's own case."""
    stem = path.name[: -len(suffix)] if path.name.lower().endswith(suffix.lower()) else path.stem
    m = re.search(r"_(train|test)$", stem, re.IGNORECASE)
    if m is None:
        raise DataError(f"{path}: expected a name ending in _TRAIN{suffix} or _TEST{suffix} "
                        f"(the test split is read from the _TEST file beside the _TRAIN one)")
    word = m.group(1)
    other = "test" if word.lower() == "train" else "train"
    other = other.upper() if word.isupper() else other if word.islower() else other.capitalize()
    other_path = path.with_name(stem[: m.start()] + "_" + other + path.name[len(stem):])
    return (path, other_path) if word.lower() == "train" else (other_path, path)


def check_array_bytes(path: Path, shape: tuple[int, ...], itemsize: int = 4) -> None:
    """Refuse arrays (e.g. after padding) larger than MAX_ARRAY_BYTES before allocating them."""
    total = itemsize
    for d in shape:
        total *= int(d)
    if total > MAX_ARRAY_BYTES:
        raise DataError(f"{path}: the data would need an array of shape {shape} ({total / 2**30:.1f} GiB), "
                        f"more than the {MAX_ARRAY_BYTES / 2**30:.0f} GiB limit")
