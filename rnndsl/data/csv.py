"""Comma-separated files, in two layouts.

(a) A series, read with `window=W` (forecasting). One value per row in a column (`column`, a
    header name or a 1-based number; by default the last column that holds a number in the
    first data row). A header row is optional, and other columns (such as a first column of
    dates) are ignored. The series s (L values) is split first at 80%, S = floor(0.8 L), and
    standardised with the training part's mean and std (`DataSet.scale`). Windows:

        input  "x" (N, W, 1) = s[i : i+W]
        target "y" (N, W, 1) = s[i+1 : i+W+1]       the next value at every step

    training windows i = 0 .. S-W-1 (their targets end at s[S-1]); test windows
    i = S-1 .. L-W-1: each starts with the last training value, so every test target lies at
    or after s[S] and no value is a target in both splits.

The first row is a header when it names a column `label`, or when some column holds a word
there and a number in the next row.

(b) Without `window`: one sequence per row (classification). The numeric columns are the
    steps; the class is the column named `label` in a header row, or else the last column if
    it is not a number. The test split is the `_TEST.csv` file beside it (X.csv or
    X_TRAIN.csv -> X_TEST.csv). Class names are in order of first appearance in the
    training file.
"""

from __future__ import annotations

import csv as _csv
import io
import re
from pathlib import Path

import numpy as np

from .dataset import DataSet, Split
from .errors import (DataError, at, is_number, not_a_number, partner, read_text, show,
                     to_float32)

__all__ = ["read_csv"]


class _Table:
    """A parsed file: its header (or None) and its data rows with their line numbers."""

    def __init__(self, path: Path, header: list[str] | None, rows: list[list[str]], lines: list[int],
                 header_line: int | None):
        self.path, self.header, self.rows, self.lines, self.header_line = path, header, rows, lines, header_line

    def name_of(self, j: int) -> str:
        return f"'{self.header[j]}'" if self.header and self.header[j] else f"{j + 1}"


def read_csv(path: str | Path, *, window: int | None = None, column: str | None = None) -> DataSet:
    """Read a series as forecasting windows (`window=W`), or one sequence per row with its _TEST.csv partner."""
    p = Path(path)
    if window is not None:
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
            raise DataError(f"{p}: the window must be a whole number of at least 1, not {window!r}")
        return _windows(_table(p), int(window), column)
    if column is not None:
        raise DataError(f"{p}: column= applies to a series read with window=W; without a window each row is "
                        f"one sequence")
    return _rows(p)


def _table(p: Path) -> _Table:
    text = read_text(p)
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = _csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            fields = [f.strip() for f in row]
            if not any(fields):
                continue
            rows.append(fields)
            lines.append(reader.line_num)
    except _csv.Error as err:
        raise DataError(f"{at(p, reader.line_num)} not readable as CSV ({err})") from None
    if not rows:
        raise DataError(f"{p}: empty file (only blank rows)")
    header = None
    header_line = None
    first = rows[0]
    if any(f.lower() == "label" for f in first):
        is_header = True
    elif len(rows) == 1:
        is_header = not any(is_number(f) for f in first)
    else:
        second = rows[1]
        is_header = any(not is_number(a) and is_number(b) for a, b in zip(first, second))
    if is_header:
        header, header_line = first, lines[0]
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise DataError(f"{at(p, header_line)} a header row but no data rows")
    width = len(header) if header is not None else len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            what = "the header has" if header is not None else "the first row has"
            raise DataError(f"{at(p, line)} ragged rows: {len(row)} field(s), but {what} {width}")
    return _Table(p, header, rows, lines, header_line)


def _column(t: _Table, column: str | None) -> int:
    width = len(t.rows[0])
    if column is None:
        numeric = [j for j, f in enumerate(t.rows[0]) if is_number(f)]
        if not numeric:
            raise DataError(f"{at(t.path, t.lines[0])} no column holds a number: nothing to read as a series")
        return numeric[-1]
    if t.header is not None:
        if column in t.header:
            return t.header.index(column)
        lower = [h.lower() for h in t.header]
        if column.lower() in lower:
            return lower.index(column.lower())
    if re.fullmatch(r"\d+", column.strip()) and 1 <= int(column) <= width:
        return int(column) - 1
    names = ", ".join(t.header) if t.header is not None else "none: the file has no header row"
    raise DataError(f"{t.path}: no column '{show(column, 60)}' (column names: {names}; or give its number, 1..{width})")


def _min_length(window: int) -> int:
    n = 1
    while not (n * 4 // 5 - window >= 1 and n - n * 4 // 5 - window + 1 >= 1):
        n += 1
    return n


def _windows(t: _Table, window: int, column: str | None) -> DataSet:
    j = _column(t, column)
    values = np.empty(len(t.rows), np.float64)
    for k, (row, line) in enumerate(zip(t.rows, t.lines)):
        values[k] = to_float32(t.path, line, [row[j]], f"column {t.name_of(j)}", "row", k + 1)[0]
    n = len(values)
    split = n * 4 // 5
    n_train, n_test = split - window, n - split - window + 1
    if n_train < 1 or n_test < 1:
        raise DataError(f"{t.path}: too few values for window {window}: the series has {n}, and windows of {window} "
                        f"need at least {_min_length(window)} (80% to train on, 20% to test on, each holding a "
                        f"window and its next value)")
    train_part = values[:split]
    mean, std = float(train_part.mean()), float(train_part.std())
    if not std > 0:
        std = 1.0
    z = ((values - mean) / std).astype(np.float32)
    view = np.lib.stride_tricks.sliding_window_view(z, window + 1)  # view[i] = z[i : i+W+1]
    train_w, test_w = view[:n_train], view[split - 1: split - 1 + n_test]
    train = Split({"x": np.ascontiguousarray(train_w[:, :-1, None])}, {"y": np.ascontiguousarray(train_w[:, 1:, None])})
    test = Split({"x": np.ascontiguousarray(test_w[:, :-1, None])}, {"y": np.ascontiguousarray(test_w[:, 1:, None])})
    name = t.header[j] if t.header is not None and t.header[j] else f"column {j + 1}"
    stem = re.sub(r"_(train|test)$", "", t.path.stem, flags=re.IGNORECASE)
    source = (f"{t.path}, column '{name}', windows of {window}; test targets are values {split + 1}..{n} "
              f"(the last 20%)")
    return DataSet(stem, source, train, test, {}, {"x": (mean, std), "y": (mean, std)})


def _rows(p: Path) -> DataSet:
    if re.search(r"_(train|test)\.csv$", p.name, re.IGNORECASE):
        train_path, test_path = partner(p, ".csv")
    else:
        train_path, test_path = p, p.with_name(p.stem + "_TEST" + p.suffix)
    if not train_path.exists():
        raise DataError(f"{train_path}: missing: the training split of {p} is read from it")
    if not test_path.exists():
        raise DataError(f"{test_path}: missing: without a window, {train_path.name} is read as one sequence per "
                        f"row, and its test split must lie beside it in {test_path.name} (with window=W a "
                        f"single series is read and split 80/20 instead)")
    train_t, test_t = _table(train_path), _table(test_path)
    xs_train, labels_train, label_lines = _sequences(train_t)
    xs_test, labels_test, test_lines = _sequences(test_t)
    if xs_train.shape[1] != xs_test.shape[1]:
        raise DataError(f"{test_path}: rows have {xs_test.shape[1]} steps, but {train_path}'s have "
                        f"{xs_train.shape[1]}")
    names: list[str] = []
    index: dict[str, int] = {}
    for label in labels_train:
        if label not in index:
            index[label] = len(names)
            names.append(label)
    for label, line in zip(labels_test, test_lines):
        if label not in index:
            raise DataError(f"{at(test_path, line)} class '{show(label)}' does not occur in {train_path}")
    y_train = np.array([index[s] for s in labels_train], np.int32)
    y_test = np.array([index[s] for s in labels_test], np.int32)
    stem = re.sub(r"_(train|test)$", "", train_path.stem, flags=re.IGNORECASE)
    return DataSet(stem, f"{train_path} and {test_path}", Split({"x": xs_train[..., None]}, {"y": y_train}),
                   Split({"x": xs_test[..., None]}, {"y": y_test}), {"y": tuple(names)})


def _sequences(t: _Table) -> tuple[np.ndarray, list[str], list[int]]:
    first = t.rows[0]
    lower = [h.lower() for h in t.header] if t.header is not None else []
    if "label" in lower:
        j = lower.index("label")
    elif not is_number(first[-1]):
        j = len(first) - 1
    else:
        raise DataError(f"{at(t.path, t.lines[0])} no class column: name it 'label' in a header row, or put a "
                        f"non-numeric class last (to read a single series for forecasting, give --window W)")
    steps = [k for k in range(len(first)) if k != j]
    if not steps:
        raise DataError(f"{at(t.path, t.lines[0])} no steps: the only column is the class")
    xs = np.empty((len(t.rows), len(steps)), np.float32)
    labels = []
    for r, (row, line) in enumerate(zip(t.rows, t.lines)):
        for k in steps:
            if not is_number(row[k]):
                raise not_a_number(t.path, line, row[k], f"column {t.name_of(k)}: ")
        xs[r] = to_float32(t.path, line, [row[k] for k in steps], "", "step")
        if not row[j]:
            raise DataError(f"{at(t.path, line)} empty class label (column {t.name_of(j)})")
        labels.append(row[j])
    return xs, labels, t.lines
