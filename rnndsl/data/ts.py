"""The UEA & UCR archive's `.ts` format: X_TRAIN.ts and X_TEST.ts, read into one DataSet.

    # comment
    @problemName JapaneseVowels
    @univariate false
    @dimensions 12
    @equalLength false
    @classLabel true 1 2 3
    @data
    1.8,1.9,1.9:-0.2,-0.1,-0.2:...:3        <- channels separated by ':', values by ',', the label last

Result: input "x" (N, T, C) float32, T the longest series over both files, zero-padded after
each series' length (`lengths`, None when all fill T); target "y" (N,) int32 class indices in
the order of `@classLabel` (or, for `@targetLabel true` files, (N, 1) float32 reals).
Timestamped series (`@timeStamps true`) and missing values (`?`) are refused with a DataError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .dataset import DataSet, Split, full_lengths
from .errors import (FLOAT32_MAX, DataError, at, check_array_bytes, check_file, is_number, not_a_number,
                     parse_list, partner, read_text, show)

__all__ = ["read_ts"]

_BOOL_KEYS = ("timestamps", "missing", "univariate", "equallength", "targetlabel")
_INT_KEYS = ("dimensions", "serieslength")
_KEYS = ("problemname", "classlabel", "data") + _BOOL_KEYS + _INT_KEYS
_SPELLING = {"problemname": "@problemName", "timestamps": "@timeStamps", "missing": "@missing",
             "univariate": "@univariate", "dimensions": "@dimensions", "equallength": "@equalLength",
             "serieslength": "@seriesLength", "classlabel": "@classLabel", "targetlabel": "@targetLabel",
             "data": "@data"}


@dataclass
class _Parsed:
    path: Path
    name: str | None = None
    labels: tuple[str, ...] | None = None  # class labels; None for a real-valued target
    dims: int | None = None
    cases: list[np.ndarray] = field(default_factory=list)  # (C, L) each
    targets: list = field(default_factory=list)  # class index (int) or real value (float)
    header_line: dict[str, int] = field(default_factory=dict)


def read_ts(path: str | Path) -> DataSet:
    """Read X_TRAIN.ts and X_TEST.ts (either name may be given; the other must lie beside it)."""
    given = check_file(path)
    if not given.name.lower().endswith(".ts"):
        raise DataError(f"{given}: not a .ts file")
    train_path, test_path = partner(given, ".ts")
    for p in (train_path, test_path):
        if p != given and not p.exists():
            raise DataError(f"{p}: missing: the {'test' if p == test_path else 'training'} split of {given} "
                            f"is read from it, and it must lie beside {given.name}")
    train = _parse(train_path)
    test = _parse(test_path)
    _compatible(train, test)
    steps = max(c.shape[1] for c in train.cases + test.cases)
    split_train, split_test = _split(train, steps), _split(test, steps)
    name = train.name or train_path.name[: -len("_TRAIN.ts")]
    classes = {} if train.labels is None else {"y": train.labels}
    return DataSet(name, f"{train_path} and {test_path}", split_train, split_test, classes)


def _split(parsed: _Parsed, steps: int) -> Split:
    n, channels = len(parsed.cases), parsed.dims or 1
    check_array_bytes(parsed.path, (n, steps, channels))
    x = np.zeros((n, steps, channels), np.float32)
    lengths = np.empty(n, np.int32)
    for i, case in enumerate(parsed.cases):
        lengths[i] = case.shape[1]
        x[i, : case.shape[1]] = case.T
    if parsed.labels is None:
        y = np.asarray(parsed.targets, np.float32).reshape(n, 1)
    else:
        y = np.asarray(parsed.targets, np.int32)
    return Split({"x": x}, {"y": y}, full_lengths(lengths, steps))


def _compatible(train: _Parsed, test: _Parsed) -> None:
    if (train.labels is None) != (test.labels is None):
        raise DataError(f"{test.path}: its targets are {'real values' if test.labels is None else 'classes'}, "
                        f"but {train.path}'s are {'real values' if train.labels is None else 'classes'}")
    if train.labels != test.labels:
        raise DataError(f"{at(test.path, test.header_line.get('classlabel'))} @classLabel "
                        f"{' '.join(test.labels or ())} differs from {train.path}'s {' '.join(train.labels or ())}")
    if train.dims != test.dims:
        raise DataError(f"{test.path}: {test.dims} channel(s), but {train.path} has {train.dims}")


def _bool(path: Path, line: int, key: str, value: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise DataError(f"{at(path, line)} {_SPELLING[key]} must be true or false, not '{show(value.strip())}'")
    return v == "true"


def _parse(path: Path) -> _Parsed:
    text = read_text(path, "empty file: expected a .ts header (@problemName ... @data) and cases")
    lines = text.split("\n")
    out = _Parsed(path)
    header: dict[str, object] = {}
    data_at = None
    for i, line in enumerate(lines, 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not s.startswith("@"):
            raise DataError(f"{at(path, i)} a case before the @data line (the header must end with @data)")
        key, _, value = s[1:].partition(" ")
        key = key.lower()
        if key not in _KEYS:
            raise DataError(f"{at(path, i)} unknown header '@{show(key)}' (expected one of "
                            f"{', '.join(_SPELLING[k] for k in _KEYS)})")
        if key in header:
            raise DataError(f"{at(path, i)} {_SPELLING[key]} repeated (first on line {out.header_line[key]})")
        out.header_line[key] = i
        if key == "data":
            data_at = i
            break
        if key in _BOOL_KEYS:
            header[key] = _bool(path, i, key, value)
        elif key in _INT_KEYS:
            v = value.strip()
            if not v.isdigit() or int(v) < 1 or len(v) > 9:
                raise DataError(f"{at(path, i)} {_SPELLING[key]} must be a whole number of at least 1, not '{show(v)}'")
            header[key] = int(v)
        elif key == "problemname":
            header[key] = value.strip()
        else:  # classlabel
            words = value.split()
            if not words or words[0].lower() not in ("true", "false"):
                raise DataError(f"{at(path, i)} @classLabel must be 'true' followed by the class labels, or 'false'")
            if words[0].lower() == "true":
                labels = tuple(words[1:])
                if not labels:
                    raise DataError(f"{at(path, i)} @classLabel true lists no class labels")
                dup = sorted({w for w in labels if labels.count(w) > 1})
                if dup:
                    raise DataError(f"{at(path, i)} @classLabel lists '{show(dup[0])}' twice")
                header[key] = labels
            else:
                header[key] = None
    if data_at is None:
        raise DataError(f"{path}: no @data line: the header is incomplete, or this is not a .ts file")
    if header.get("timestamps"):
        raise DataError(f"{at(path, out.header_line['timestamps'])} timestamped series (@timeStamps true) "
                        f"are not supported")
    if "dimensions" in header and header.get("univariate") and header["dimensions"] != 1:
        raise DataError(f"{at(path, out.header_line['dimensions'])} @dimensions {header['dimensions']}, "
                        f"but @univariate says true")
    labels = header.get("classlabel")
    real = bool(header.get("targetlabel"))
    if labels is not None and real:
        raise DataError(f"{at(path, out.header_line['targetlabel'])} both @classLabel true and @targetLabel true")
    if labels is None and not real:
        raise DataError(f"{path}: no '@classLabel true <labels>' (or '@targetLabel true') line: "
                        f"only labelled data can be read")
    out.name = str(header["problemname"]) if header.get("problemname") else None
    out.labels = labels  # type: ignore[assignment]
    out.dims = header.get("dimensions") or (1 if header.get("univariate") else None)  # type: ignore[assignment]
    equal = header.get("equallength")
    series_length = header.get("serieslength")
    index = {label: k for k, label in enumerate(labels or ())}

    last = len(lines)
    while last > data_at and not lines[last - 1].strip():
        last -= 1
    unterminated = not text.endswith("\n")
    for i in range(data_at + 1, last + 1):
        s = lines[i - 1].strip()
        if not s or s.startswith("#"):
            continue
        try:
            case, target = _case(path, i, s, out, index, equal, series_length)
        except DataError as err:
            if i == last and unterminated:
                raise DataError(f"{err} (this last line has no newline: is the file truncated?)") from None
            raise
        out.cases.append(case)
        out.targets.append(target)
    if not out.cases:
        raise DataError(f"{at(path, data_at)} no cases after @data")
    return out


def _case(path: Path, i: int, s: str, out: _Parsed, index: dict[str, int], equal, series_length):
    if s.startswith("@"):
        raise DataError(f"{at(path, i)} a header line after @data")
    parts = s.split(":")
    if len(parts) < 2:
        raise DataError(f"{at(path, i)} no class label: a case is channel:channel:...:label")
    label = parts[-1].strip()
    chans = parts[:-1]
    if out.dims is None:
        out.dims = len(chans)
    elif len(chans) != out.dims:
        said = "@dimensions says" if "dimensions" in out.header_line else "the file has"
        raise DataError(f"{at(path, i)} {len(chans)} channel(s), but {said} {out.dims}")
    rows = []
    for c, chan in enumerate(chans, 1):
        if not chan.strip():
            raise DataError(f"{at(path, i)} channel {c} is empty")
        if chan.lstrip().startswith("("):
            raise DataError(f"{at(path, i)} channel {c}: timestamped values '(t,v)' are not supported")
        rows.append(parse_list(path, i, chan, f"channel {c}"))
    sizes = [r.size for r in rows]
    if len(set(sizes)) > 1:
        k = next(k for k, n in enumerate(sizes) if n != sizes[0])
        raise DataError(f"{at(path, i)} channels of one case differ in length: channel 1 has {sizes[0]} values, "
                        f"channel {k + 1} has {sizes[k]}")
    if series_length is not None and equal and sizes[0] != series_length:
        raise DataError(f"{at(path, i)} {sizes[0]} values per channel, but @seriesLength says {series_length}")
    if equal and out.cases and sizes[0] != out.cases[0].shape[1]:
        raise DataError(f"{at(path, i)} {sizes[0]} values per channel, but the first case has "
                        f"{out.cases[0].shape[1]} and @equalLength says true")
    if out.labels is None:
        if not is_number(label):
            raise not_a_number(path, i, label, "target value: ")
        value = float(label)
        if abs(value) > FLOAT32_MAX:
            raise DataError(f"{at(path, i)} target value '{show(label)}' is too large for float32")
        return np.stack(rows), value
    if label not in index:
        raise DataError(f"{at(path, i)} class label '{show(label)}' is not one of @classLabel ({' '.join(out.labels)})")
    return np.stack(rows), index[label]
