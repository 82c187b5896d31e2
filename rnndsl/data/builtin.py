"""The built-in image sets: MNIST (idx files), CIFAR-10 (python batches), and generated look-alikes.

Each gives input "image" (N, H, W, C) float32 and target "out" (N,) int32 with classes "0".."9":
MNIST pixels in [0, 1], CIFAR-10 raw 0-255 values, as the specs expect. Every file is checked
in full before anything trains: a damaged file is a DataError that names it.

Nothing is downloaded (Keras' downloader needs Keras): mnist and cifar10 need a directory.
"""

from __future__ import annotations

import gzip
import io
import math
import pickle
import pickletools
import struct
from pathlib import Path

import numpy as np

from ..catalogue import DATASETS, Dataset
from . import errors
from .dataset import DataSet, Split
from .errors import DataError, check_array_bytes, check_file, read_bytes, show

__all__ = ["load_builtin", "read_idx", "synthetic", "BUILTIN_NAMES"]

BUILTIN_NAMES = ("mnist", "cifar10", "synthetic_mnist", "synthetic_cifar10")
_CLASSES = {"out": tuple(str(k) for k in range(10))}
_MNIST_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte")


def load_builtin(name: str, data_dir: str | None, limit: int | None = None, seed: int = 0) -> DataSet:
    """Load a built-in set: "mnist" or "cifar10" from `data_dir`, or "synthetic_mnist" / "synthetic_cifar10".

    `limit` keeps the first `limit` training examples (for the synthetic sets: generates that
    many, and a quarter as many test examples, at least 100); `seed` seeds the generator.
    """
    if name not in BUILTIN_NAMES:
        raise DataError(f"unknown built-in data set '{show(name)}' (choose from {', '.join(BUILTIN_NAMES)})")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise DataError(f"{name}: the training limit must be a whole number of at least 1, not {limit!r}")
    if name.startswith("synthetic_"):
        n_train = int(limit) if limit is not None else 2000
        return synthetic(DATASETS[name[len("synthetic_"):]], n_train=n_train,
                         n_test=max(min(n_train // 4, 2000), 100), seed=seed)
    if data_dir is None:
        if name == "mnist":
            how = "a directory holding the four MNIST idx files (e.g. --data-dir ../shared/data/mnist)"
        else:
            how = "a directory holding the CIFAR-10 python batches (data_batch_1..5, test_batch)"
        raise DataError(f"{name} is read from disk, and no data directory was given: pass {how}, or use "
                        f"the generated set (--data synthetic) to try a spec on data of the same shape")
    directory = Path(data_dir)
    if not directory.is_dir():
        raise DataError(f"{data_dir}: no such directory")
    loaded = _mnist(directory) if name == "mnist" else _cifar(directory)
    return loaded.limit(int(limit)) if limit is not None else loaded


# ---------------------------------------------------------------- MNIST


def _gunzip(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzipped (by content, or by its .gz name)."""
    raw = read_bytes(path)
    if not raw:
        raise DataError(f"{path}: empty file")
    if raw[:2] != b"\x1f\x8b":
        if path.suffix == ".gz":
            raise DataError(f"{path}: not a gzip file (it does not start with the gzip magic bytes 1f 8b)")
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            data = fh.read(errors.MAX_FILE_BYTES + 1)
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (the compressed data ends early)") from None
    except Exception as err:  # gzip.BadGzipFile, zlib.error, OSError: damaged compressed data
        raise DataError(f"{path}: damaged gzip file ({type(err).__name__}: {str(err)[:200]})") from None
    if len(data) > errors.MAX_FILE_BYTES:
        raise DataError(f"{path}: unpacks to more than the {errors.MAX_FILE_BYTES:,}-byte limit on data files")
    return data


def read_idx(path: str | Path, kind: str) -> np.ndarray:
    """One MNIST idx file (gzipped or not), checked in full: kind "images" (N, 28, 28) or "labels" (N,), uint8."""
    p = check_file(path)
    data = _gunzip(p)
    ndim, magic_want = (3, 0x00000803) if kind == "images" else (1, 0x00000801)
    if not data:
        raise DataError(f"{p}: empty once unpacked: expected an idx file of MNIST {kind}")
    if len(data) < 4:
        raise DataError(f"{p}: {len(data)} byte(s), too short for an idx header: truncated")
    magic = struct.unpack(">I", data[:4])[0]
    if magic != magic_want:
        other = {0x801: "labels", 0x803: "images"}.get(magic)
        hint = f" (that is an idx file of {other}: are the files swapped?)" if other else ""
        raise DataError(f"{p}: wrong magic number 0x{magic:08x}; an MNIST {kind} file starts with "
                        f"0x{magic_want:08x}{hint}")
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DataError(f"{p}: truncated in its header ({len(data)} bytes; the header alone is {head})")
    dims = struct.unpack(">" + "I" * ndim, data[4:head])
    if kind == "images" and dims[1:] != (28, 28):
        raise DataError(f"{p}: images of {dims[1]}x{dims[2]} pixels; MNIST's are 28x28")
    if dims[0] == 0:
        raise DataError(f"{p}: its header says it holds no {kind}")
    need = int(np.prod(dims, dtype=np.int64))
    have = len(data) - head
    if have < need:
        raise DataError(f"{p}: truncated: its header says {dims[0]:,} {kind} ({need:,} bytes), but it holds "
                        f"{have:,} bytes ({have // max(need // dims[0], 1):,} {kind})")
    if have > need:
        raise DataError(f"{p}: {have - need:,} bytes more than its header says ({dims[0]:,} {kind}): damaged, "
                        f"or not an MNIST file")
    return np.frombuffer(data, np.uint8, count=need, offset=head).reshape(dims)


def _find(directory: Path, stem: str) -> Path | None:
    for base in (directory, directory / "mnist"):
        for name in (f"{stem}.gz", stem):
            if (base / name).is_file():
                return base / name
    return None


def _labels(path: Path, y: np.ndarray, n_images: int, images: Path) -> np.ndarray:
    if len(y) != n_images:
        raise DataError(f"{path}: {len(y):,} labels, but {images} holds {n_images:,} images")
    bad = np.flatnonzero(y > 9)
    if bad.size:
        raise DataError(f"{path}: label {int(y[bad[0]])} of item {int(bad[0]):,} is outside 0..9"
                        + (f" ({bad.size:,} such labels)" if bad.size > 1 else ""))
    return y.astype(np.int32)


def _mnist(directory: Path) -> DataSet:
    paths = [_find(directory, s) for s in _MNIST_STEMS]
    missing = [s for s, p in zip(_MNIST_STEMS, paths) if p is None]
    if missing:
        raise DataError(f"{directory}: missing MNIST file(s) {', '.join(m + '.gz' for m in missing)}")
    tri, trl, tei, tel = paths  # type: ignore[misc]
    x_train, x_test = read_idx(tri, "images"), read_idx(tei, "images")
    y_train = _labels(trl, read_idx(trl, "labels"), len(x_train), tri)
    y_test = _labels(tel, read_idx(tel, "labels"), len(x_test), tei)
    split = lambda x, y: Split({"image": (x.astype(np.float32) / 255.0)[..., None]}, {"out": y})  # noqa: E731
    return DataSet("mnist", f"idx files in {directory}", split(x_train, y_train), split(x_test, y_test),
                   dict(_CLASSES))


# ---------------------------------------------------------------- CIFAR-10
#
# CIFAR-10's python batches are pickles (a dict of a uint8 array and a list of labels), and
# unpickling can run arbitrary code. They are read with an Unpickler whose find_class resolves
# only the globals a pickled numpy array names, and maps each to a stand-in of ours: numpy's
# _reconstruct / ndarray / dtype (the original Python 2 batches; protocols 2-4) and
# _frombuffer (protocol 5) only record what the pickle says, and _codecs.encode (how Python
# 3's protocol 2 writes bytes) only encodes str to latin-1, so nothing of numpy's own pickle
# support sees the file's bytes. Afterwards `_Array.array` builds the array with np.frombuffer
# from plain bytes, for a few plain numeric dtypes only, and the batch is checked: type, shape,
# dtype, label range. Before unpickling, pickletools.genops walks the opcodes (see _cifar_batch).

_SIMPLE_DTYPES = {"u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8", "b1", "uint8", "int64", "int32"}


def _text(v) -> str | None:
    if isinstance(v, bytes):
        try:
            return v.decode("ascii")
        except UnicodeDecodeError:
            return None
    return v if isinstance(v, str) else None


class _DType:
    """Stands in for numpy.dtype(name, align, copy) and its __setstate__ (which holds the byte order)."""

    def __init__(self, name=None, *_args):
        self.name, self.order = _text(name), "|"

    def __setstate__(self, state) -> None:
        if isinstance(state, tuple) and len(state) > 1 and _text(state[1]) in ("<", ">", "|", "="):
            self.order = _text(state[1])

    def dtype(self) -> np.dtype:
        if self.name not in _SIMPLE_DTYPES:
            raise ValueError(f"dtype {self.name!r} is not a plain numeric type")
        dt = np.dtype(self.name)
        return dt.newbyteorder(self.order) if self.order in "<>" and dt.itemsize > 1 else dt


class _Array:
    """Stands in for a pickled numpy array: `_reconstruct(...)` then `__setstate__(state)`, or `_frombuffer`."""

    def __init__(self, *_args):
        self.shape = self.dtype = self.data = None
        self.fortran = False

    def __setstate__(self, state) -> None:  # (version, shape, dtype, fortran, raw data)
        if isinstance(state, tuple) and len(state) == 5:
            _, self.shape, self.dtype, self.fortran, self.data = state

    def array(self) -> np.ndarray:
        shape, data = self.shape, self.data
        if not (isinstance(shape, tuple) and all(isinstance(d, int) and 0 <= d < 2 ** 40 for d in shape)):
            raise ValueError(f"bad array shape {shape!r}"[:100])
        if not isinstance(self.dtype, _DType):
            raise ValueError("bad array dtype")
        if isinstance(data, str):
            data = data.encode("latin-1")
        if not isinstance(data, (bytes, bytearray)):
            raise ValueError("array data is not bytes")
        dt = self.dtype.dtype()
        if len(data) != math.prod(shape) * dt.itemsize:  # exact: Python ints do not overflow
            raise ValueError(f"array of shape {shape} {dt} does not match its {len(data):,} bytes of data")
        return np.frombuffer(bytes(data), dt).reshape(shape, order="F" if self.fortran is True else "C")


def _frombuffer(buf, dtype, shape, order) -> _Array:
    a = _Array()
    a.data, a.dtype, a.shape, a.fortran = buf, dtype, shape, order == "F"
    return a


def _latin1(text, encoding) -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("refused _codecs.encode other than of a str to latin-1")
    return text.encode("latin-1")


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _Array,
    ("numpy._core.multiarray", "_reconstruct"): _Array,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _Array,
    ("numpy", "dtype"): _DType,
    ("_codecs", "encode"): _latin1,
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D401 - pickle's hook
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: a CIFAR-10 batch holds only a numpy "
                                         f"array and lists") from None


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    check_file(path)
    raw = read_bytes(path)
    if not raw:
        raise DataError(f"{path}: empty file")
    try:
        # First walk the opcodes without building anything: this finds a truncated pickle or a
        # length that overruns the file before the C unpickler allocates for it (a bytearray8
        # that claims exabytes makes CPython's _pickle print a SystemError on the way out).
        for op, _, _ in pickletools.genops(raw):
            if op.name in ("NEXT_BUFFER", "READONLY_BUFFER"):
                raise pickle.UnpicklingError("out-of-band buffers are refused")
        d = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as err:  # a damaged or hostile pickle raises many kinds; none may escape
        raise DataError(f"{path}: not a CIFAR-10 python batch ({type(err).__name__}: {str(err)[:200]})") from None
    if not isinstance(d, dict):
        raise DataError(f"{path}: not a CIFAR-10 python batch (holds a {type(d).__name__}, not a dict)")
    data = d.get(b"data", d.get("data"))
    labels = d.get(b"labels", d.get("labels"))
    try:
        data = data.array() if isinstance(data, _Array) else data
        labels = labels.array() if isinstance(labels, _Array) else labels
    except (ValueError, TypeError, OverflowError, MemoryError) as err:
        raise DataError(f"{path}: not a CIFAR-10 python batch ({err})") from None
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "iu" or data.ndim != 2 or data.shape[1] != 3072:
        what = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: its 'data' must be an integer array of shape (N, 3072), not {what}")
    if len(data) == 0:
        raise DataError(f"{path}: holds no images")
    check_array_bytes(path, data.shape)  # as float32
    if data.min() < 0 or data.max() > 255:
        raise DataError(f"{path}: pixel values outside 0..255")
    if not isinstance(labels, (list, np.ndarray)) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels):
        raise DataError(f"{path}: its 'labels' must be a list of whole numbers")
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(y) != len(data):
        raise DataError(f"{path}: {len(y):,} labels for {len(data):,} images")
    bad = np.flatnonzero((y < 0) | (y > 9))
    if bad.size:
        raise DataError(f"{path}: label {int(y[bad[0]])} of item {int(bad[0]):,} is outside 0..9")
    x = data.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x.astype(np.float32), y.astype(np.int32)


def _cifar(directory: Path) -> DataSet:
    base = directory / "cifar-10-batches-py" if (directory / "cifar-10-batches-py").is_dir() else directory
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not (base / n).is_file()]
    if missing:
        raise DataError(f"{base}: missing CIFAR-10 python batch(es) {', '.join(missing)}")
    parts = [_cifar_batch(base / n) for n in names[:5]]
    x_test, y_test = _cifar_batch(base / "test_batch")
    train = Split({"image": np.concatenate([p[0] for p in parts])}, {"out": np.concatenate([p[1] for p in parts])})
    return DataSet("cifar10", f"python batches in {base}", train, Split({"image": x_test}, {"out": y_test}),
                   dict(_CLASSES))


# ---------------------------------------------------------------- generated


def synthetic(ds: Dataset, n_train: int = 2000, n_test: int = 500, seed: int = 0) -> DataSet:
    """Generated images with a learnable class structure, in the shape and value range of `ds`.

    Each class has a smooth random prototype; an example is its class prototype, shifted by
    up to 3 pixels, scaled by a random contrast and buried in noise.  A good model reaches
    well above chance; a model that ignores the input stays at chance. (The same numbers as
    rnndsl.training.data.synthetic for the same seed.)
    """
    rng = np.random.default_rng(seed)
    h, w, c = ds.shape
    check_array_bytes(Path(f"synthetic_{ds.name}"), (n_train, h, w, c))
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    protos = np.zeros((ds.classes, h, w, c), np.float32)
    for k in range(ds.classes):
        for ch in range(c):
            f = rng.uniform(1, 4, size=(3, 2))
            ph = rng.uniform(0, 2 * np.pi, size=3)
            protos[k, :, :, ch] = sum(np.sin(2 * np.pi * (f[i, 0] * yy + f[i, 1] * xx) + ph[i]) for i in range(3)) / 3

    def sample(n: int) -> Split:
        y = rng.integers(0, ds.classes, size=n).astype(np.int32)
        shifts = rng.integers(-3, 4, size=(n, 2))
        x = np.stack([np.roll(protos[y[i]], tuple(shifts[i]), axis=(0, 1)) for i in range(n)])
        x = x * rng.uniform(0.5, 1.0, size=(n, 1, 1, 1)) + rng.normal(0, 0.6, size=x.shape)
        x = 1 / (1 + np.exp(-2 * x))  # into (0, 1), like pixels
        if ds.name == "cifar10":
            x = x * 255.0
        return Split({"image": x.astype(np.float32)}, {"out": y})

    train, test = sample(n_train), sample(n_test)
    return DataSet(f"synthetic_{ds.name}", f"generated in memory, shaped like {ds.name}, seed {seed}", train, test,
                   {"out": tuple(str(k) for k in range(ds.classes))})
