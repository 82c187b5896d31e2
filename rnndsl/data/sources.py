"""Where a run's data comes from: the `--data` value, the flags that go with it, and the reader it picks.

`READERS` is the one table: a built-in set by name (mnist, cifar10, synthetic) or a file by its
suffix (.ts, .npz, .csv), with the flags that apply to it.  `source_of` holds the rules that need
no file read (a spec with its own inputs needs a file, a spec written for MNIST cannot read
CIFAR-10, MNIST is read from --data-dir, a window is for a .csv series); `load` reads;
`choices` is the wording every command's help and message use.  `rnndsl compile`, `rnndsl
compare` (before any worker starts), the playground's compile command and `rnndsl.train` all go
through them, so a rule is written once.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .builtin import load_builtin
from .csv import read_csv
from .dataset import DataSet
from .errors import DataError, show
from .npz import read_npz
from .ts import read_ts

__all__ = ["DataArgs", "Reader", "READERS", "BUILTIN", "SUFFIXES", "choices", "file_kinds", "source_of",
           "check_paths", "load", "read"]

# The flags of a data source, by DataArgs field (the manifest records them under these names).
FLAGS = {"data": "--data", "data_dir": "--data-dir", "window": "--window", "limit": "--limit"}


@dataclass(frozen=True)
class DataArgs:
    """What a command was told about its data: `--data`, `--data-dir`, `--window`, `--limit`."""

    data: str | None = None
    data_dir: str | None = None
    window: int | None = None
    limit: int | None = None

    @classmethod
    def of(cls, namespace: Any) -> "DataArgs":
        """The data flags of a parsed command line (or any object with those attributes)."""
        return cls(*(getattr(namespace, key, None) for key in FLAGS))

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None) -> "DataArgs":
        """DataArgs from a run folder's manifest (`data_args`); a damaged entry is a ValueError."""
        record = dict(record or {})
        for key in ("data", "data_dir"):
            if not isinstance(record.get(key), (str, type(None))):
                raise ValueError(f"'{key}' is {record[key]!r}, not a path")
        for key in ("window", "limit"):
            value = record.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"'{key}' is {value!r}, not a whole number of at least 1")
        return cls(*(record.get(key) for key in FLAGS))

    def record(self) -> dict[str, Any]:
        return asdict(self)

    def absolute(self) -> "DataArgs":
        """The paths made absolute (a built-in name stays), so that another working folder compares equal."""
        data = self.data if self.data is None or self.data in BUILTIN else os.path.abspath(self.data)
        return DataArgs(data, os.path.abspath(self.data_dir) if self.data_dir else None, self.window, self.limit)

    def words(self) -> list[str]:
        """The command-line flags that give these arguments."""
        return [w for key, flag in FLAGS.items() if getattr(self, key) is not None
                for w in (flag, str(getattr(self, key)))]


@dataclass(frozen=True)
class Reader:
    """One kind of data source: a built-in set (`key` is its name) or a kind of file (`key` is the suffix)."""

    key: str
    label: str  # how `choices` names it
    flags: frozenset[str]  # the DataArgs fields, besides `data`, that apply to it
    read: Callable[[str, DataArgs, int], DataSet]  # (what to read, the flags, the seed) -> the data
    builtin: bool = False
    needs_dir: bool = False  # read from --data-dir (nothing is downloaded)


def _builtin(name: str, args: DataArgs, seed: int) -> DataSet:
    return load_builtin(name, args.data_dir, args.limit, seed)


def _file(reader: Callable[..., DataSet], **flags: str) -> Callable[[str, DataArgs, int], DataSet]:
    """A file reader, given the flags it takes (reader keyword -> DataArgs field), then --limit."""

    def read(path: str, args: DataArgs, seed: int) -> DataSet:
        del seed  # the file readers neither shuffle nor sample
        data = reader(path, **{kw: getattr(args, field) for kw, field in flags.items()})
        return data.limit(args.limit) if args.limit else data

    return read


READERS: dict[str, Reader] = {r.key: r for r in (
    Reader("mnist", "mnist", frozenset({"data_dir", "limit"}), _builtin, builtin=True, needs_dir=True),
    Reader("cifar10", "cifar10", frozenset({"data_dir", "limit"}), _builtin, builtin=True, needs_dir=True),
    Reader("synthetic", "synthetic (generated, no network)", frozenset({"limit"}), _builtin, builtin=True),
    Reader(".ts", ".ts with its _TRAIN/_TEST partner", frozenset({"limit"}), _file(read_ts)),
    Reader(".npz", ".npz", frozenset({"limit"}), _file(read_npz)),
    Reader(".csv", ".csv", frozenset({"window", "limit"}), _file(read_csv, window="window")),
)}
BUILTIN = tuple(k for k, r in READERS.items() if r.builtin)
SUFFIXES = tuple(k for k, r in READERS.items() if not r.builtin)
_WHAT = {"data_dir": "a built-in set read from disk (mnist, cifar10)", "window": "a .csv series"}


def _or(words: list[str]) -> str:
    return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]


def file_kinds() -> str:
    """`.ts, .npz or .csv`."""
    return _or(list(SUFFIXES))


def choices() -> str:
    """What `--data` takes, in the words of every help text and message."""
    files = ", ".join(READERS[k].label for k in SUFFIXES)
    return f"a data file ({files}) or a built-in set: {', '.join(READERS[k].label for k in BUILTIN)}"


def _file_reader(path: Path, expected: str) -> Reader:
    reader = READERS.get(path.suffix.lower())
    if reader is None or reader.builtin:
        if path.is_dir():
            raise DataError(f"{path}: is a directory; expected a {file_kinds()} file")
        raise DataError(f"{path}: unknown kind of data file '{show(path.suffix or path.name)}' (expected {expected})")
    return reader


def source_of(args: DataArgs, spec_data: str | None) -> tuple[Reader, str]:
    """The reader a spec's run uses and what it reads (a built-in set's name, or the file), by every rule that
    needs no file read; a DataError says which rule fails.  `spec_data` is the spec's `data` line, if any."""
    source = args.data or spec_data
    if source is None:
        raise DataError(f"the spec reads its data from a file: pass --data FILE ({file_kinds()})")
    if source in BUILTIN:
        reader = READERS[source]
        if spec_data is None:
            raise DataError(f"--data {source}: the spec declares its own inputs; pass a data file ({file_kinds()})")
        if source != "synthetic" and source != spec_data:
            raise DataError(f"the spec is written for {spec_data}, not {source}")
        if reader.needs_dir and not args.data_dir:
            raise DataError(f"{source} is read from --data-dir DIR (nothing is downloaded); or pass --data synthetic "
                            f"to try the spec on generated data of the same shape")
        name = f"synthetic_{spec_data}" if source == "synthetic" else source
        what = source
    else:
        reader = _file_reader(Path(source), choices())
        name, what = source, f"a {reader.key} file"
    for key in _WHAT:  # (--limit applies to every source)
        if getattr(args, key) is not None and key not in reader.flags:
            raise DataError(f"{FLAGS[key]} applies only to {_WHAT[key]}, not to {what}")
    return reader, name


def check_paths(args: DataArgs) -> None:
    """That the data file and the data folder named exist (what `compare` checks before any worker starts)."""
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise DataError(f"--data-dir {args.data_dir}: no such folder")
    if args.data and args.data not in BUILTIN and not Path(args.data).is_file():
        raise DataError(f"--data {args.data}: no such file")


def load(args: DataArgs, spec_data: str | None, seed: int = 0) -> DataSet:
    """The data a spec's run trains on: `source_of`'s reader, read (every file checked before anything trains)."""
    reader, name = source_of(args, spec_data)
    return reader.read(name, args, seed)


def read(path: str | Path, *, window: int | None = None, seed: int = 0) -> DataSet:
    """Read a data file, by its suffix: .ts (with its _TRAIN/_TEST partner), .npz, or .csv.

    `window` is for a .csv series (forecasting windows); `seed` is accepted so that callers can
    pass the run's seed to every loader alike: the file readers are deterministic (no shuffling),
    so it changes nothing today.
    """
    p = Path(path)
    reader = _file_reader(p, file_kinds())
    if window is not None and "window" not in reader.flags:
        raise DataError(f"{p}: a window applies only to a .csv series, not to a {reader.key} file")
    return reader.read(str(p), DataArgs(str(p), window=window), seed)
