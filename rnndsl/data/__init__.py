"""Data: users' sequence files (.ts, .npz, .csv) and the built-in image sets, read into one DataSet.

Every reader checks the data before anything trains: bad or missing data is a DataError whose
message names the file (and the line, where one applies). No reader imports TensorFlow.
`sources.READERS` maps a `--data` value to its reader and the flags that apply to it.
"""

from __future__ import annotations

from .builtin import BUILTIN_NAMES, load_builtin, read_idx, synthetic
from .csv import read_csv
from .dataset import DataSet, Split
from .errors import MAX_FILE_BYTES, DataError
from .npz import read_npz
from .sources import BUILTIN, READERS, SUFFIXES, DataArgs, Reader, choices, file_kinds, load, read, source_of
from .ts import read_ts

__all__ = ["DataError", "Split", "DataSet", "read", "read_ts", "read_npz", "read_csv", "load_builtin", "read_idx",
           "synthetic", "BUILTIN_NAMES", "MAX_FILE_BYTES", "SUFFIXES", "BUILTIN", "READERS", "Reader", "DataArgs",
           "choices", "file_kinds", "source_of", "load"]
