"""NumPy `.npz` archives (as `numpy.savez` writes them): arrays in `<name>_train` / `<name>_test` pairs.

    x_train, y_train, x_test, y_test            the simple case
    lengths_train, lengths_test                 optional: valid steps of each sequence (1..T)
    x_train, x_meta_train, y_train, y_speaker_train, ... and their _test partners

Every key ends in `_train` or `_test` and has its partner. `lengths` are the lengths; a name
starting with `y` is a target; any other name is an input (read as float32). Integer targets
are class indices, (N,) or (N, T), named "0".."K-1"; boolean targets are 0/1 labels (float32);
float targets are reals ((N,) is read as (N, 1)).

Arrays holding Python objects are refused (they would need pickle, which can run code): the
archive is read with `allow_pickle=False`, after every array's header was checked against the
bytes the archive holds, so a damaged or hostile file is a DataError, not a huge allocation.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import errors
from .dataset import DataSet, Split, full_lengths
from .errors import DataError, check_file, show

__all__ = ["read_npz"]

_NUMERIC = "biuf"  # bool, signed, unsigned, float
# What zipfile, zlib and numpy's .npy parser raise for a damaged archive (a programming error is not caught).
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, TypeError,
            SyntaxError, NotImplementedError, RuntimeError, struct.error, UnicodeDecodeError, MemoryError,
            OverflowError, IndexError)


def read_npz(path: str | Path) -> DataSet:
    """Read one .npz archive holding both splits."""
    p = check_file(path)
    arrays = _load(p)
    order = list(arrays)
    strange = [k for k in order if not (k.endswith("_train") or k.endswith("_test"))]
    if strange:
        raise DataError(f"{p}: array '{show(strange[0], 60)}' is neither <name>_train nor <name>_test "
                        f"(expected x_train, y_train, x_test, y_test, ...)")
    bases: list[str] = []
    for k in order:
        base = k.rsplit("_", 1)[0]
        if base not in bases:
            bases.append(base)
    for base in bases:
        for a, b in (("train", "test"), ("test", "train")):
            if f"{base}_{a}" in arrays and f"{base}_{b}" not in arrays:
                raise DataError(f"{p}: '{base}_{a}' has no '{base}_{b}' partner")
    inputs = [b for b in bases if b != "lengths" and not b.startswith("y")]
    targets = [b for b in bases if b.startswith("y")]
    if not inputs:
        raise DataError(f"{p}: no input arrays (such as x_train and x_test)")
    if not targets:
        raise DataError(f"{p}: no target arrays (names starting with y, such as y_train and y_test)")
    for k in order:
        _check_array(p, k, arrays[k])
    splits = {}
    for split in ("train", "test"):
        keys = [f"{b}_{split}" for b in bases]
        n = len(arrays[keys[0]])
        for k in keys[1:]:
            if len(arrays[k]) != n:
                raise DataError(f"{p}: '{k}' has {len(arrays[k]):,} examples, but '{keys[0]}' has {n:,}")
        splits[split] = n
    for base in bases:
        a, b = arrays[f"{base}_train"], arrays[f"{base}_test"]
        if base != "lengths" and a.shape[1:] != b.shape[1:]:
            raise DataError(f"{p}: '{base}_test' examples are {b.shape[1:]}, "
                            f"but '{base}_train' examples are {a.shape[1:]}")
    for base in targets:
        a, b = arrays[f"{base}_train"], arrays[f"{base}_test"]
        if (a.dtype.kind in "iu") != (b.dtype.kind in "iu"):
            raise DataError(f"{p}: '{base}_train' is {a.dtype} but '{base}_test' is {b.dtype}: "
                            f"class indices must be integers in both")
    result = {split: _split(p, split, arrays, inputs, targets, "lengths" in bases) for split in ("train", "test")}
    classes: dict[str, tuple[str, ...]] = {}
    for base in targets:
        if arrays[f"{base}_train"].dtype.kind in "iu":
            top = max(int(result[s].targets[base].max()) for s in ("train", "test"))
            classes[base] = tuple(str(k) for k in range(top + 1))
    return DataSet(p.stem, str(p), result["train"], result["test"], classes)


def _split(p: Path, split: str, arrays: dict[str, np.ndarray], inputs: list[str], targets: list[str],
           has_lengths: bool) -> Split:
    xs: dict[str, np.ndarray] = {}
    for base in inputs:
        key = f"{base}_{split}"
        xs[base] = _finite(p, key, arrays[key])
    lengths = None
    steps = None
    if has_lengths:
        key = f"lengths_{split}"
        raw = arrays[key]
        if raw.dtype.kind not in "iu" or raw.ndim != 1:
            raise DataError(f"{p}: '{key}' must be a 1-D array of whole numbers, not {raw.dtype} {raw.shape}")
        seq = [b for b in inputs if xs[b].ndim >= 2]
        flat = [b for b in inputs if xs[b].ndim < 2]
        if flat:
            raise DataError(f"{p}: '{key}' is given, but input '{flat[0]}_{split}' of shape "
                            f"{arrays[f'{flat[0]}_{split}'].shape} is not a sequence (N, T, ...)")
        steps_of = {b: xs[b].shape[1] for b in seq}
        if len(set(steps_of.values())) > 1:
            raise DataError(f"{p}: '{key}' is given, but the inputs differ in steps T: {steps_of}")
        steps = next(iter(steps_of.values()))
        bad = np.flatnonzero((raw < 1) | (raw > steps))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{p}: {key}[{i}] = {int(raw[i])} is outside 1..{steps} (T, the inputs' steps)"
                            + (f" ({bad.size} such)" if bad.size > 1 else ""))
        lengths = raw.astype(np.int32)
    ys: dict[str, np.ndarray] = {}
    for base in targets:
        key = f"{base}_{split}"
        y = arrays[key]
        if y.dtype.kind in "iu":
            if y.ndim > 2:
                raise DataError(f"{p}: '{key}' has shape {y.shape}: class targets are (N,) or (N, T)")
            valid = np.ones(y.shape, bool)
            if y.ndim == 2 and lengths is not None and y.shape[1] == steps:  # padded steps may hold anything
                valid = np.arange(steps)[None, :] < lengths[:, None]
            bad = np.flatnonzero(((y < 0) | (y >= errors.MAX_CLASSES)) & valid)
            if bad.size:
                i = np.unravel_index(int(bad[0]), y.shape)
                raise DataError(f"{p}: {key}[{', '.join(str(int(j)) for j in i)}] = {int(y[i])} is not a class "
                                f"index (0..{errors.MAX_CLASSES - 1})")
            ys[base] = np.where(valid, y, 0).astype(np.int32)
        elif y.dtype.kind == "b":
            ys[base] = y.astype(np.float32).reshape(len(y), -1) if y.ndim == 1 else y.astype(np.float32)
        else:
            if y.ndim > 3:
                raise DataError(f"{p}: '{key}' has shape {y.shape}: real targets are (N,), (N, K) or (N, T, K)")
            y = _finite(p, key, y)
            ys[base] = y.reshape(len(y), 1) if y.ndim == 1 else y
    return Split(xs, ys, full_lengths(lengths, steps) if lengths is not None else None)


def _finite(p: Path, key: str, a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        out = a.astype(np.float32)
    if out.dtype.kind == "f":
        bad = ~np.isfinite(out)
        if bad.any():
            i = np.unravel_index(int(np.argmax(bad)), a.shape)
            raise DataError(f"{p}: '{key}' holds {int(bad.sum()):,} NaN or infinite value(s) (or values too large "
                            f"for float32), the first at [{', '.join(str(int(j)) for j in i)}]")
    return out


def _check_array(p: Path, key: str, a: np.ndarray) -> None:
    if a.dtype.kind not in _NUMERIC:
        raise DataError(f"{p}: '{key}' has dtype {a.dtype}: only numbers (bool, integer, float) can be read")
    if a.ndim == 0:
        raise DataError(f"{p}: '{key}' is a single value, not an array of examples")
    if a.size == 0:
        raise DataError(f"{p}: '{key}' is empty (shape {a.shape})")


def _load(p: Path) -> dict[str, np.ndarray]:
    """The archive's arrays, in file order; every damaged or hostile archive is a DataError."""
    if p.stat().st_size == 0:
        raise DataError(f"{p}: empty file, not an .npz archive")
    if not zipfile.is_zipfile(p):
        raise DataError(f"{p}: not an .npz archive: no zip directory at its end (is it truncated, or another kind "
                        f"of file?)")
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            if not infos:
                raise DataError(f"{p}: the archive holds no arrays")
            total = sum(i.file_size for i in infos)
            if total > errors.MAX_FILE_BYTES:
                raise DataError(f"{p}: its arrays unpack to {total:,} bytes, more than the "
                                f"{errors.MAX_FILE_BYTES:,}-byte limit")
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise DataError(f"{p}: member '{show(info.filename, 60)}' is not a .npy array: not an archive "
                                    f"written by numpy.savez")
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version not in ((1, 0), (2, 0)):
                        raise DataError(f"{p}: '{show(info.filename, 60)}' is in .npy format version {version[0]}."
                                        f"{version[1]}; versions 1.0 and 2.0 (numpy.savez's) can be read")
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(fh)
                key = info.filename[:-4]
                if dtype.hasobject:
                    raise DataError(f"{p}: '{key}' holds Python objects (dtype {dtype}); they are refused because "
                                    f"loading them runs pickle code: save plain numeric arrays")
                need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if need > info.file_size:
                    raise DataError(f"{p}: '{key}': its header says {shape} {dtype} ({need:,} bytes), but the "
                                    f"archive holds {info.file_size:,}: the file is damaged")
            arrays = {}
            for info in infos:
                with zf.open(info) as fh:
                    arrays[info.filename[:-4]] = np.lib.format.read_array(fh, allow_pickle=False)
            return arrays
    except DataError:
        raise
    except _DAMAGED as err:
        msg = str(err).splitlines()[0][:200] if str(err) else ""
        raise DataError(f"{p}: not a readable .npz archive, damaged or truncated ({type(err).__name__}"
                        f"{': ' + msg if msg else ''})") from None
