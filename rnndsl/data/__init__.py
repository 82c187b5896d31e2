"""Data: users' sequence files (.ts, .npz, .csv) and the built-in image sets, read into one DataSet.

Every reader checks the data before anything trains: bad or missing data is a DataError whose
message names the file (and the line, where one applies). No reader imports TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

from .builtin import BUILTIN_NAMES, load_builtin, read_idx, synthetic
from .csv import read_csv
from .dataset import DataSet, Split
from .errors import MAX_FILE_BYTES, DataError
from .npz import read_npz
from .ts import read_ts

__all__ = ["DataError", "Split", "DataSet", "read", "read_ts", "read_npz", "read_csv", "load_builtin", "read_idx",
           "synthetic", "BUILTIN_NAMES", "MAX_FILE_BYTES", "SUFFIXES"]

SUFFIXES = (".ts", ".npz", ".csv")


def read(path: str | Path, *, window: int | None = None, seed: int = 0) -> DataSet:
    """Read a data file, by its suffix: .ts (with its _TRAIN/_TEST partner), .npz, or .csv.

    `window` is for a .csv series (forecasting windows); `seed` is accepted so that callers can
    pass the run's seed to every loader alike: the file readers are deterministic (no shuffling),
    so it changes nothing today.
    """
    del seed  # the file readers neither shuffle nor sample
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        if p.is_dir():
            raise DataError(f"{p}: is a directory; expected a .ts, .npz or .csv file")
        raise DataError(f"{p}: unknown kind of data file '{p.suffix or p.name}' (expected .ts, .npz or .csv)")
    if window is not None and suffix != ".csv":
        raise DataError(f"{p}: a window applies only to a .csv series, not to a {suffix} file")
    if suffix == ".ts":
        return read_ts(p)
    if suffix == ".npz":
        return read_npz(p)
    return read_csv(p, window=window)
