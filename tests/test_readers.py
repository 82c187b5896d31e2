"""rnndsl.data: the readers on real files, every kind of bad data, and a little fuzzing.

Bad data must be a DataError naming the file (and `file:line:` where a line applies), found
before anything trains; no other exception may come out of a reader for any input.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import MNIST_DIR, ROOT
from rnndsl import data as rdata
from rnndsl.data import (DataError, DataSet, Split, load_builtin, read, read_csv, read_idx, read_npz, read_ts)

TS_DIR = ROOT.parent / "shared" / "data" / "timeseries"
SHIPPED = ROOT / "data" / "ItalyPowerDemand"
needs_ts = pytest.mark.skipif(not TS_DIR.exists(), reason="../shared/data/timeseries is not beside the checkout")
needs_mnist = pytest.mark.skipif(not MNIST_DIR.exists(), reason="../shared/data/mnist is not beside the checkout")


def raises(fn, *args, **kwargs) -> str:
    """The message of the DataError `fn` raises (and fails if it raises something else or nothing)."""
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def only_data_errors(fn, *args, **kwargs) -> None:
    """Fuzzing: success and DataError are both fine; any other exception fails the test."""
    try:
        fn(*args, **kwargs)
    except DataError as err:
        assert str(err), "a DataError without a message"


def mutants(raw: bytes, n: int, seed: int, head: int = 0):
    """n truncations at random offsets and n single-byte flips (half of them in the first `head` bytes)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield raw[: int(rng.integers(0, len(raw)))]
    for k in range(n):
        b = bytearray(raw)
        top = head if head and k % 2 == 0 else len(raw)
        b[int(rng.integers(0, top))] ^= int(rng.integers(1, 256))
        yield bytes(b)


# ---------------------------------------------------------------- .ts on the real files


@needs_ts
def test_japanese_vowels_is_padded_to_the_longest_series_over_both_files() -> None:
    d = read_ts(TS_DIR / "JapaneseVowels_TRAIN.ts")
    x, xt = d.train.inputs["x"], d.test.inputs["x"]
    assert (d.name, x.shape, xt.shape, x.dtype) == ("JapaneseVowels", (270, 29, 12), (370, 29, 12), np.float32)
    lens = np.concatenate([d.train.lengths, d.test.lengths])
    assert (lens.min(), lens.max(), d.train.lengths.dtype) == (7, 29, np.int32)
    assert d.classes == {"y": tuple("123456789")} and d.train.targets["y"].dtype == np.int32
    assert d.train.targets["y"][0] == 0 and d.train.targets["y"][-1] == 8
    # the first case: channel 1 starts 1.860936,1.891651; channel 2 starts -0.207383; zeros after its length
    assert x[0, :2, 0].tolist() == pytest.approx([1.860936, 1.891651]) and x[0, 0, 1] == pytest.approx(-0.207383)
    n0 = d.train.lengths[0]
    assert n0 == 20 and not x[0, n0:].any() and x[0, n0 - 1].all()
    assert "lengths 7..29" in d.describe() and "9 classes" in d.describe() and "270 train / 370 test" in d.describe()


@needs_ts
def test_basic_motions_and_gunpoint_shapes_and_classes_in_header_order() -> None:
    d = read_ts(TS_DIR / "BasicMotions_TEST.ts")  # the _TEST name reads the same pair
    assert d.train.inputs["x"].shape == (40, 100, 6) and d.test.inputs["x"].shape == (40, 100, 6)
    assert d.classes["y"] == ("Standing", "Running", "Walking", "Badminton")
    assert d.train.lengths is None and d.test.lengths is None
    assert d.train.targets["y"][-1] == 3  # the file's last case is Badminton
    g = read(TS_DIR / "GunPoint_TRAIN.ts")
    assert g.train.inputs["x"].shape == (50, 150, 1) and g.test.inputs["x"].shape == (150, 150, 1)
    assert g.classes == {"y": ("1", "2")} and len(g.train) == 50 and len(g.test) == 150


@needs_ts
@pytest.mark.parametrize("problem,accuracy", [("GunPoint", 0.9133), ("ItalyPowerDemand", 0.9553)])
def test_values_are_read_exactly_one_nn_matches_the_archive(problem: str, accuracy: float) -> None:
    d = read_ts(TS_DIR / f"{problem}_TRAIN.ts")  # 1-NN Euclidean figures from the archive (README there)
    a, b = d.train.inputs["x"][..., 0].astype(np.float64), d.test.inputs["x"][..., 0].astype(np.float64)
    dist = (b ** 2).sum(1)[:, None] - 2 * b @ a.T + (a ** 2).sum(1)[None, :]
    pred = d.train.targets["y"][dist.argmin(1)]
    assert round(float((pred == d.test.targets["y"]).mean()), 4) == accuracy


def test_the_shipped_demo_data_set() -> None:
    d = read_ts(SHIPPED / "ItalyPowerDemand_TRAIN.ts")
    assert (len(d.train), len(d.test)) == (67, 1029)
    assert d.train.inputs["x"].shape[1:] == (24, 1) and d.train.lengths is None
    assert d.classes == {"y": ("1", "2")}
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for f in SHIPPED.iterdir():
        assert f"{hashlib.sha256(f.read_bytes()).hexdigest()}  ItalyPowerDemand/{f.name}" in readme


# ---------------------------------------------------------------- .ts: bad data

HEAD = ("# a comment\n@problemName Toy\n@univariate false\n@dimensions 2\n@equalLength false\n"
        "@classLabel true a b\n@data\n")  # the first case is line 8
GOOD = "1,2,3:4,5,6:a\n7,8:9,10:b\n"


def write_ts(tmp_path: Path, train: str | bytes, test: str | bytes | None = HEAD + GOOD) -> Path:
    p = tmp_path / "Toy_TRAIN.ts"
    p.write_bytes(train if isinstance(train, bytes) else train.encode())
    if test is not None:
        (tmp_path / "Toy_TEST.ts").write_bytes(test if isinstance(test, bytes) else test.encode())
    return p


def test_a_small_ts_pair_reads_with_lengths_and_zero_padding(tmp_path: Path) -> None:
    d = read(write_ts(tmp_path, HEAD + GOOD, HEAD + "1:2:b\n"))
    x = d.train.inputs["x"]
    assert x.shape == (2, 3, 2) and d.test.inputs["x"].shape == (1, 3, 2)
    assert x[0].tolist() == [[1, 4], [2, 5], [3, 6]] and x[1].tolist() == [[7, 9], [8, 10], [0, 0]]
    assert d.train.lengths.tolist() == [3, 2] and d.test.lengths.tolist() == [1]
    assert d.train.targets["y"].tolist() == [0, 1] and d.classes == {"y": ("a", "b")}
    assert d.limit(1).train.lengths is None  # the first case fills T
    assert len(d.limit(1).train) == 1 and len(d.limit(1).test) == 1 and "first 1 training" in d.limit(1).source


BAD_TS = [  # (file text, line, words the message must hold)
    (HEAD + "1,2,3:4,5:a\n", 8, "channels of one case differ in length"),
    (HEAD + GOOD + "1,2:3,4:c\n", 10, "class label 'c' is not one of @classLabel (a b)"),
    (HEAD + "1,?,3:4,5,6:a\n", 8, "channel 1, value 2: a missing value ('?')"),
    (HEAD + "1,2,3:4,NaN,6:a\n", 8, "channel 2, value 2: 'NaN' is not a finite number"),
    (HEAD + "1,2,3:4,5,-inf:a\n", 8, "'-inf' is not a finite number"),
    (HEAD + "1,2,x3:4,5,6:a\n", 8, "'x3' is not a number"),
    (HEAD + "1,2,,3:4,5,6,7:a\n", 8, "an empty value"),
    (HEAD + "1,2,1e39:4,5,6:a\n", 8, "too large for float32"),
    (HEAD + "1,2,3:4,\u0665,6:a\n", 8, "channel 2, value 2: '\u0665' is not a number"),  # only ASCII digits
    (HEAD + "1,2,3:4,5,\x1f6:a\n", 8, "channel 2, value 3: '\\x1f6' is not a number"),
    (HEAD + "1,2,3:4,5,1_0:a\n", 8, "'1_0' is not a number"),
    (HEAD + "1,2,3:a\n", 8, "1 channel(s), but @dimensions says 2"),
    (HEAD + "1,2,3:4,5,6:7,8,9:a\n", 8, "3 channel(s), but @dimensions says 2"),
    (HEAD + GOOD + "1,2,3,4,5", 10, "no class label"),  # truncated last line, no newline
    (HEAD + GOOD + "1,2,3:4,5,6:", 10, "is the file truncated?"),
    (HEAD + GOOD + "1,2,3:4,5", 10, "is the file truncated?"),
    (HEAD + "1,2:3,4:a\n@data\n", 9, "a header line after @data"),
    (HEAD.replace("@dimensions 2", "@dimensions two"), 4, "@dimensions must be a whole number"),
    (HEAD.replace("@equalLength false", "@equalLength maybe"), 5, "@equalLength must be true or false"),
    (HEAD.replace("@univariate false", "@univariate true"), 4, "@dimensions 2, but @univariate says true"),
    (HEAD.replace("@problemName Toy", "@problem Toy"), 2, "unknown header '@problem'"),
    (HEAD.replace("true a b", "true a b a"), 6, "lists 'a' twice"),
    (HEAD.replace("true a b", "true"), 6, "lists no class labels"),
    (HEAD.replace("@equalLength false", "@timeStamps true"), 5, "timestamped series"),
    (HEAD.replace("@equalLength false", "@equalLength true\n@seriesLength 3") + GOOD, 10,
     "2 values per channel, but @seriesLength says 3"),
    ("# c\n1,2:3\n@data\n", 2, "a case before the @data line"),
    (HEAD, 7, "no cases after @data"),
    (HEAD.replace("@data\n", "@data\n\n# only a comment\n"), 7, "no cases after @data"),
    (HEAD.encode() + b"1,2,3:4,5,\xff:a\n", 8, "not UTF-8 text"),
]


@pytest.mark.parametrize("text,line,words", BAD_TS, ids=[w[:40] for _, _, w in BAD_TS])
def test_bad_ts_files_say_file_line_and_what(tmp_path: Path, text, line: int, words: str) -> None:
    p = write_ts(tmp_path, text)
    msg = raises(read_ts, p)
    assert msg.startswith(f"{p}:{line}: "), msg
    assert words in msg, msg


BAD_TS_FILE = [  # whole-file problems: no line applies
    ("", "empty file"),
    ("\n \n", "empty file"),
    ("# only a comment\n@problemName Toy\n", "no @data line"),
    (HEAD.replace("@classLabel true a b\n", ""), "no '@classLabel true <labels>'"),
]


@pytest.mark.parametrize("text,words", BAD_TS_FILE, ids=[w for _, w in BAD_TS_FILE])
def test_bad_ts_files_without_a_line(tmp_path: Path, text: str, words: str) -> None:
    p = write_ts(tmp_path, text)
    msg = raises(read_ts, p)
    assert msg.startswith(f"{p}: ") and words in msg, msg


def test_ts_pairs_missing_partners_and_disagreements(tmp_path: Path) -> None:
    alone = write_ts(tmp_path, HEAD + GOOD, None)
    msg = raises(read_ts, alone)
    assert msg.startswith(f"{tmp_path / 'Toy_TEST.ts'}: missing") and "beside Toy_TRAIN.ts" in msg
    (tmp_path / "Toy_TRAIN.ts").rename(tmp_path / "Toy_TEST.ts")
    assert raises(read_ts, tmp_path / "Toy_TEST.ts").startswith(f"{tmp_path / 'Toy_TRAIN.ts'}: missing")
    (tmp_path / "x.ts").write_text(HEAD + GOOD)
    assert "expected a name ending in _TRAIN.ts or _TEST.ts" in raises(read, tmp_path / "x.ts")
    assert raises(read, tmp_path / "nope_TRAIN.ts") == f"{tmp_path / 'nope_TRAIN.ts'}: no such file"
    p = write_ts(tmp_path, HEAD + GOOD, HEAD.replace("true a b", "true b a") + GOOD)
    msg = raises(read_ts, p)
    assert msg.startswith(f"{tmp_path / 'Toy_TEST.ts'}:6: @classLabel b a differs"), msg
    p = write_ts(tmp_path, HEAD + GOOD, HEAD.replace("@dimensions 2", "@dimensions 1") + "1,2:a\n")
    assert "1 channel(s), but" in raises(read_ts, p)
    p = write_ts(tmp_path, HEAD + GOOD, HEAD + "1,2:3,4:z\n")
    assert raises(read_ts, p).startswith(f"{tmp_path / 'Toy_TEST.ts'}:8: class label 'z'")


def test_ts_regression_targets(tmp_path: Path) -> None:
    head = HEAD.replace("@classLabel true a b", "@classLabel false\n@targetLabel true")
    d = read_ts(write_ts(tmp_path, head + "1,2:3,4:0.5\n", head + "1:2:-1e3\n"))
    assert d.classes == {} and d.train.targets["y"].tolist() == [[0.5]] and d.test.targets["y"].dtype == np.float32
    assert "'abc' is not a number" in raises(read_ts, write_ts(tmp_path, head + "1,2:3,4:abc\n"))


# ---------------------------------------------------------------- .npz


def savez(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_npz_simple_and_several_inputs_and_targets(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, xt = rng.normal(size=(6, 5, 2)), rng.normal(size=(3, 5, 2))
    p = savez(tmp_path / "seq.npz", x_train=x, y_train=np.array([0, 1, 2, 0, 1, 2]), x_test=xt,
              y_test=np.array([2, 2, 1]), lengths_train=np.array([5, 3, 1, 5, 5, 2]), lengths_test=np.full(3, 5))
    d = read(p)
    assert d.train.inputs["x"].dtype == np.float32 and d.train.inputs["x"].shape == (6, 5, 2)
    assert d.train.lengths.tolist() == [5, 3, 1, 5, 5, 2] and d.test.lengths is None
    assert d.classes == {"y": ("0", "1", "2")} and d.test.targets["y"].dtype == np.int32
    p = savez(tmp_path / "multi.npz", x_train=x, x_meta_train=np.ones((6, 3)), y_train=np.arange(6) % 2,
              y_speaker_train=rng.normal(size=6), y_tags_train=rng.random((6, 4)) > 0.5,
              x_test=xt, x_meta_test=np.ones((3, 3)), y_test=np.arange(3) % 2, y_speaker_test=np.zeros(3),
              y_tags_test=np.zeros((3, 4), bool))
    d = read_npz(p)
    assert set(d.train.inputs) == {"x", "x_meta"} and set(d.train.targets) == {"y", "y_speaker", "y_tags"}
    assert d.train.targets["y_speaker"].shape == (6, 1) and d.train.targets["y_speaker"].dtype == np.float32
    assert d.train.targets["y_tags"].dtype == np.float32 and set(np.unique(d.train.targets["y_tags"])) <= {0, 1}
    assert set(d.classes) == {"y"} and "x_meta (3,)" in d.describe()


def _npz_cases():
    x, y = np.zeros((4, 3, 1)), np.array([0, 1, 0, 1])
    ok = dict(x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    nan = x.copy()
    nan[2, 1, 0] = np.nan
    yield dict(ok, x_test=None), "'x_train' has no 'x_test' partner"
    yield dict(ok, y_train=y[:3]), "'y_train' has 3 examples, but 'x_train' has 4"
    yield dict(ok, lengths_train=np.array([3, 0, 1, 2]), lengths_test=np.array([1, 1])), "lengths_train[1] = 0 is outside 1..3"
    yield dict(ok, lengths_train=np.array([3, 4, 1, 2]), lengths_test=np.array([1, 1])), "lengths_train[1] = 4 is outside 1..3"
    yield dict(ok, lengths_train=np.array([3, 3, 1]), lengths_test=np.array([1, 1])), "'lengths_train' has 3 examples"
    yield dict(ok, x_train=nan), "'x_train' holds 1 NaN or infinite value(s)"
    yield dict(ok, x_test=np.full((2, 3, 1), np.inf)), "'x_test' holds 6 NaN"
    yield dict(ok, x_train=np.full((4, 3, 1), 1e300)), "too large for float32"
    yield dict(ok, x_train=np.zeros((0, 3, 1)), y_train=np.zeros(0, int)), "'x_train' is empty"
    yield dict(ok, x_test=np.zeros((2, 4, 1))), "'x_test' examples are (4, 1), but 'x_train' examples are (3, 1)"
    yield dict(ok, x_train=np.array(["a", "b", "c", "d"])), "has dtype <U1: only numbers"
    yield dict(ok, z=np.ones(3)), "array 'z' is neither <name>_train nor <name>_test"
    yield dict(x_train=x, x_test=x), "no target arrays"
    yield dict(y_train=y, y_test=y), "no input arrays"
    yield dict(ok, y_test=np.array([0.5, 1.0])), "class indices must be integers in both"
    yield dict(ok, y_train=np.array([0, -1, 0, 1])), "y_train[1] = -1 is not a class index"
    yield dict(ok, x_train=np.float64(3)), "is a single value"


def test_bad_npz_arrays_name_the_file_and_the_array(tmp_path: Path) -> None:
    for k, (arrays, words) in enumerate(_npz_cases()):
        p = savez(tmp_path / f"bad{k}.npz", **{a: v for a, v in arrays.items() if v is not None})
        msg = raises(read_npz, p)
        assert msg.startswith(f"{p}: ") and words in msg, (words, msg)


def test_bad_npz_files_object_arrays_zips_and_truncation(tmp_path: Path) -> None:
    x, y = np.zeros((4, 3)), np.arange(4)
    p = tmp_path / "objects.npz"
    np.savez(p, x_train=np.array([[1], [1, 2]], dtype=object), y_train=y[:2], x_test=x, y_test=y)
    assert "holds Python objects" in raises(read_npz, p)
    z = tmp_path / "plain.npz"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("notes.txt", "hello")
    assert "member 'notes.txt' is not a .npy array" in raises(read_npz, z)
    good = savez(tmp_path / "good.npz", x_train=x, y_train=y, x_test=x, y_test=y).read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good[: len(good) // 2])
    assert raises(read_npz, cut).startswith(f"{cut}: not an .npz archive")
    (tmp_path / "empty.npz").write_bytes(b"")
    assert "empty file" in raises(read_npz, tmp_path / "empty.npz")
    (tmp_path / "text.npz").write_text("x,y\n1,2\n")
    assert "not an .npz archive" in raises(read, tmp_path / "text.npz")
    # a header that claims far more data than the archive holds is refused before any allocation
    lying = tmp_path / "lying.npz"
    with zipfile.ZipFile(lying, "w") as zf:
        zf.writestr("x_train.npy", good_npy_header((10 ** 12,)) + b"\0" * 64)
    assert "its header says (1000000000000,)" in raises(read_npz, lying)


def good_npy_header(shape: tuple[int, ...]) -> bytes:
    header = repr({"descr": "<f8", "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


# ---------------------------------------------------------------- .csv


def airline() -> np.ndarray:
    with open(TS_DIR / "Airline.csv", newline="") as fh:
        return np.array([float(r["Passengers"]) for r in csv.DictReader(fh)])


@needs_ts
def test_airline_windows_targets_are_the_inputs_shifted_by_one_and_tests_lie_after_the_split() -> None:
    d = read(TS_DIR / "Airline.csv", window=12)
    s = airline()
    split = len(s) * 4 // 5  # 115 of 144
    mean, std = d.scale["y"]
    assert d.scale["x"] == d.scale["y"] and mean == pytest.approx(s[:split].mean()) and std == pytest.approx(s[:split].std())
    z = (s - mean) / std
    targets = {}  # split -> the indices into s of its target values
    for name, part, first in (("train", d.train, 0), ("test", d.test, split - 1)):
        x, y = part.inputs["x"][..., 0], part.targets["y"][..., 0]
        assert x.shape[1:] == (12,) and y.shape == x.shape and x.dtype == y.dtype == np.float32
        np.testing.assert_array_equal(y[:, :-1], x[:, 1:])  # the next value at every step
        for k in range(len(x)):  # window k is s[first+k : first+k+12], its targets one step later
            np.testing.assert_allclose(x[k], z[first + k: first + k + 12], rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(y[k], z[first + k + 1: first + k + 13], rtol=1e-5, atol=1e-5)
        targets[name] = {first + k + j for k in range(len(x)) for j in range(1, 13)}
    assert len(d.train) == split - 12 and len(d.test) == len(s) - split - 12 + 1
    assert min(targets["test"]) == split and max(targets["test"]) == len(s) - 1  # no test target before the split
    assert max(targets["train"]) == split - 1  # and no value is a target in both splits
    np.testing.assert_allclose(d.test.targets["y"][-1, -1, 0] * std + mean, s[-1], rtol=1e-5)
    assert d.limit(5).scale == d.scale and "standardised" in d.describe()
    d2 = read_csv(TS_DIR / "Airline.csv", window=12, column="Passengers")
    np.testing.assert_array_equal(d2.train.inputs["x"], d.train.inputs["x"])


def test_csv_series_without_header_with_dates_and_a_chosen_column(tmp_path: Path) -> None:
    p = tmp_path / "s.csv"
    p.write_text("".join(f"2020-01-{k + 1:02d},{k},{10 * k}\n" for k in range(20)))
    d = read_csv(p, window=2)
    assert d.train.inputs["x"][0, :, 0].tolist() == pytest.approx(((np.array([0, 10]) - 75) / np.arange(0, 160, 10).std()).tolist())
    d = read_csv(p, window=2, column="2")
    assert d.scale["x"][0] == pytest.approx(7.5)


BAD_CSV_WINDOW = [  # (text, window, line or None, words)
    ("Date,V\n2020,1\n2021,x\n", 1, 3, "column 'V', row 2: 'x' is not a number"),
    ("Date,V\n2020,1\n2021,nan\n", 1, 3, "'nan' is not a finite number"),
    ("Date,V\n2020,1\n2021,2,3\n", 1, 3, "ragged rows: 3 field(s), but the header has 2"),
    ("1,2\n3\n", 1, 2, "ragged rows: 1 field(s), but the first row has 2"),
    ("Date,V\n" + "".join(f"{k},{k}\n" for k in range(10)), 3, None,
     "too few values for window 3: the series has 10, and windows of 3 need at least 11"),
    ("1\n2\n3\n", 0, None, "the window must be a whole number of at least 1, not 0"),
    ("1\n2\n3\n", -3, None, "not -3"),
    ("", 3, None, "empty file"),
    ("\n\n", 3, None, "empty file"),
    ("Date,V\n", 3, 1, "a header row but no data rows"),
    ("a,b\nc,d\n", 3, 1, "no column holds a number"),
]


@pytest.mark.parametrize("text,window,line,words", BAD_CSV_WINDOW, ids=[w[:40] for *_, w in BAD_CSV_WINDOW])
def test_bad_csv_series(tmp_path: Path, text: str, window: int, line: int | None, words: str) -> None:
    p = tmp_path / "series.csv"
    p.write_text(text)
    msg = raises(read_csv, p, window=window)
    assert msg.startswith(f"{p}:{line}: " if line else f"{p}: "), msg
    assert words in msg, msg


def test_csv_rows_one_sequence_per_row_with_a_test_partner(tmp_path: Path) -> None:
    (tmp_path / "m_TRAIN.csv").write_text("s1,s2,s3,label\n1,2,3,up\n3,2,1,down\n1,1,2,up\n")
    (tmp_path / "m_TEST.csv").write_text("s1,s2,s3,label\n0,1,2,up\n2,1,0,down\n")
    d = read(tmp_path / "m_TEST.csv")
    assert d.name == "m" and d.train.inputs["x"].shape == (3, 3, 1) and d.test.inputs["x"].shape == (2, 3, 1)
    assert d.classes == {"y": ("up", "down")} and d.train.targets["y"].tolist() == [0, 1, 0]
    assert d.train.inputs["x"][1, :, 0].tolist() == [3, 2, 1] and d.train.lengths is None
    (tmp_path / "n.csv").write_text("label,1,2\nA,1,2\nB,3,4\n")  # label column first, named
    (tmp_path / "n_TEST.csv").write_text("0.5,0.25,A\n")  # no header: the last column is the class
    d = read_csv(tmp_path / "n.csv")
    assert d.train.inputs["x"][:, :, 0].tolist() == [[1, 2], [3, 4]] and d.test.targets["y"].tolist() == [0]


def test_bad_csv_rows(tmp_path: Path) -> None:
    lone = tmp_path / "lone.csv"
    lone.write_text("1,2,a\n")
    assert raises(read, lone).startswith(f"{tmp_path / 'lone_TEST.csv'}: missing: without a window")
    cases = [  # (train text, test text, file whose line is named, line, words)
        ("1,2,a\n1,x,b\n", "1,2,a\n", "t", 2, "column 2: 'x' is not a number"),
        ("s1,s2,label\n1,2,a\n1,2\n", "1,2,a\n", "t", 3, "ragged rows: 2 field(s), but the header has 3"),
        ("1,2,a\n1,2,b\n", "1,2,c\n", "t_TEST", 1, "class 'c' does not occur in"),
        ("1,2,3\n4,5,6\n", "1,2,3\n", "t", 1, "no class column"),
        ("1,2,a\n1,2,\n", "1,2,a\n", "t", 2, "empty class label"),
        ("1,2,a\n", "1,2,3,a\n", "t_TEST", None, "rows have 3 steps, but"),
        ("", "1,2,a\n", "t", None, "empty file"),
        ("1,2,a\n", "1,2,a\n\xff", "t_TEST", 2, "not UTF-8"),
    ]
    for train, test, which, line, words in cases:
        (tmp_path / "t.csv").write_bytes(train.encode("latin-1"))
        (tmp_path / "t_TEST.csv").write_bytes(test.encode("latin-1"))
        msg = raises(read_csv, tmp_path / "t.csv")
        where = tmp_path / f"{which}.csv"
        assert msg.startswith(f"{where}:{line}: " if line else f"{where}: "), (words, msg)
        assert words in msg, (words, msg)
    assert "column= applies to a series" in raises(read_csv, tmp_path / "t.csv", column="x")
    (tmp_path / "t.csv").write_text("Date,V\n1,2\n")
    assert "no column 'W' (column names: Date, V" in raises(read_csv, tmp_path / "t.csv", window=1, column="W")


# ---------------------------------------------------------------- read(): dispatch and limits


def test_read_dispatches_on_the_suffix_and_refuses_the_rest(tmp_path: Path, monkeypatch) -> None:
    assert "unknown kind of data file '.txt'" in raises(read, tmp_path / "a.txt")
    assert "is a directory" in raises(read, tmp_path)
    assert "a window applies only to a .csv series" in raises(read, SHIPPED / "ItalyPowerDemand_TRAIN.ts", window=3)
    assert read(SHIPPED / "ItalyPowerDemand_TEST.ts", seed=5).name == "ItalyPowerDemand"
    monkeypatch.setattr(rdata.errors, "MAX_FILE_BYTES", 10_000)
    msg = raises(read, SHIPPED / "ItalyPowerDemand_TRAIN.ts")  # 18,300 bytes
    assert msg.startswith(f"{SHIPPED / 'ItalyPowerDemand_TRAIN.ts'}: 18,300 bytes, larger than the 10,000-byte limit")
    x = tmp_path / "big.npz"
    np.savez(x, x_train=np.zeros(2000), y_train=np.zeros(2000, int), x_test=np.zeros(1), y_test=np.zeros(1, int))
    assert "larger than the 10,000-byte limit" in raises(read, x)
    bomb = tmp_path / "bomb-labels.gz"  # small when packed, over the limit unpacked
    bomb.write_bytes(gzip.compress(idx("labels", np.zeros(20_000))))
    assert raises(read_idx, bomb, "labels") == f"{bomb}: unpacks to more than the 10,000-byte limit on data files"


def test_dataset_structure_checks_and_limit() -> None:
    s = Split({"x": np.zeros((3, 2), np.float32)}, {"y": np.zeros(3, np.int32)})
    d = DataSet("d", "here", s, s)
    assert len(s) == 3 and d.limit(2).train.inputs["x"].shape == (2, 2) and d.limit(9) is d
    assert "limit must be a whole number" in raises(d.limit, 0)
    assert "input 'x' is float64" in raises(Split, {"x": np.zeros((3, 2))}, {"y": np.zeros(3, np.int32)})
    assert "the same number of examples: x 3, y 2" in raises(Split, {"x": np.zeros((3, 2), np.float32)},
                                                              {"y": np.zeros(2, np.int32)})
    t = Split({"x": np.zeros((2, 5), np.float32)}, {"y": np.zeros(2, np.int32)})
    assert "input 'x' has examples of shape (2,) in training but (5,) in test" in raises(DataSet, "d", "here", s, t)


# ---------------------------------------------------------------- MNIST and CIFAR-10


@pytest.fixture(scope="module")
def mnist() -> DataSet:
    return load_builtin("mnist", str(MNIST_DIR))


@needs_mnist
def test_mnist_from_the_shared_directory(mnist: DataSet) -> None:
    assert mnist.train.targets["out"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.test.targets["out"][:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    x = mnist.train.inputs["image"]
    assert x.shape == (60000, 28, 28, 1) and mnist.test.inputs["image"].shape == (10000, 28, 28, 1)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() == 1.0
    assert mnist.classes == {"out": tuple("0123456789")} and mnist.train.targets["out"].dtype == np.int32
    small = mnist.limit(100)
    assert len(small.train) == 100 and len(small.test) == 10000 and "first 100 training examples" in small.source


def idx(kind: str, items: np.ndarray) -> bytes:
    magic = 0x803 if kind == "images" else 0x801
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in items.shape) + items.astype(np.uint8).tobytes()


def write_mnist(directory: Path, n: int = 6) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    files = {}
    for prefix in ("train", "t10k"):
        files[f"{prefix}-images"] = directory / f"{prefix}-images-idx3-ubyte.gz"
        files[f"{prefix}-images"].write_bytes(gzip.compress(idx("images", rng.integers(0, 256, (n, 28, 28)))))
        files[f"{prefix}-labels"] = directory / f"{prefix}-labels-idx1-ubyte.gz"
        files[f"{prefix}-labels"].write_bytes(gzip.compress(idx("labels", np.arange(n) % 10)))
    return files


def _damage():
    labels = idx("labels", np.arange(6) % 10)
    images = idx("images", np.zeros((6, 28, 28)))
    yield "labels", gzip.compress(labels)[:30], "truncated gzip file"
    yield "images", b"this is not gzip at all", "not a gzip file"
    yield "labels", b"\x1f\x8b" + bytes(range(200)), "damaged gzip file"
    yield "labels", b"", "empty file"
    yield "labels", gzip.compress(b""), "empty once unpacked"
    yield "labels", gzip.compress(b"\0\0"), "too short for an idx header"
    yield "images", gzip.compress(images[:-100]), "truncated: its header says 6 images (4,704 bytes), but it holds 4,604"
    yield "images", gzip.compress(images[:12]), "truncated in its header"
    yield "images", gzip.compress(images + b"\0"), "1 bytes more than its header says"
    yield "labels", gzip.compress(b"\0\0\x08\x07" + labels[4:]), "wrong magic number 0x00000807"
    yield "images", gzip.compress(labels), "(that is an idx file of labels: are the files swapped?)"
    yield "labels", gzip.compress(idx("labels", np.arange(5))), "5 labels, but"
    yield "labels", gzip.compress(idx("labels", np.array([0, 1, 2, 10, 3, 4]))), "label 10 of item 3 is outside 0..9"
    yield "images", gzip.compress(struct.pack(">IIII", 0x803, 6, 27, 28) + bytes(6 * 27 * 28)), "images of 27x28 pixels"
    yield "labels", gzip.compress(idx("labels", np.zeros(0))), "holds no labels"


DAMAGE = list(_damage())


@pytest.mark.parametrize("prefix", ["train", "t10k"])
@pytest.mark.parametrize("kind,content,words", DAMAGE, ids=[w[:30] for *_, w in DAMAGE])
def test_every_damaged_mnist_file_is_a_data_error_naming_it(tmp_path: Path, prefix: str, kind: str,
                                                            content: bytes, words: str) -> None:
    files = write_mnist(tmp_path)
    assert len(load_builtin("mnist", str(tmp_path)).train) == 6  # the undamaged set reads
    target = files[f"{prefix}-{kind}"]
    target.write_bytes(content)
    msg = raises(load_builtin, "mnist", str(tmp_path))
    assert words in msg, msg
    assert msg.startswith(f"{target}: ") or msg.startswith(f"{files[f'{prefix}-labels']}: "), msg


def test_mnist_and_cifar_need_a_directory_and_name_what_is_missing(tmp_path: Path) -> None:
    msg = raises(load_builtin, "mnist", None)
    assert "../shared/data/mnist" in msg and "--data synthetic" in msg
    assert "--data synthetic" in raises(load_builtin, "cifar10", None)
    assert "missing MNIST file(s) train-images-idx3-ubyte.gz" in raises(load_builtin, "mnist", str(tmp_path))
    assert "no such directory" in raises(load_builtin, "mnist", str(tmp_path / "nope"))
    assert "unknown built-in data set 'imagenet'" in raises(load_builtin, "imagenet", None)
    assert "missing CIFAR-10 python batch(es) data_batch_1" in raises(load_builtin, "cifar10", str(tmp_path))
    assert "limit must be a whole number" in raises(load_builtin, "synthetic_mnist", None, limit=0)
    files = write_mnist(tmp_path)
    files["train-labels"].rename(tmp_path / "train-labels-idx1-ubyte")  # not gzipped, no .gz name: fine
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(gzip.decompress(
        (tmp_path / "train-labels-idx1-ubyte").read_bytes()))
    assert len(load_builtin("mnist", str(tmp_path), limit=2).train) == 2


def test_synthetic_sets_have_the_builtin_shapes_and_repeat_with_their_seed() -> None:
    a = load_builtin("synthetic_cifar10", None, limit=30, seed=4)
    b = load_builtin("synthetic_cifar10", None, limit=30, seed=4)
    assert a.train.inputs["image"].shape == (30, 32, 32, 3) and len(a.test) == 100
    np.testing.assert_array_equal(a.train.inputs["image"], b.train.inputs["image"])
    m = load_builtin("synthetic_mnist", None, limit=20)
    assert m.train.inputs["image"].shape == (20, 28, 28, 1) and m.classes == {"out": tuple("0123456789")}


def write_cifar(directory: Path, n: int = 4, labels=None) -> Path:
    base = directory / "cifar-10-batches-py"
    base.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": b"x", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": list(labels if labels is not None else range(n)), b"filenames": [b"a"] * n}
        (base / name).write_bytes(pickle.dumps(batch, protocol=2 if name.endswith(("1", "3", "5")) else 5))
    return base


def py2_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch pickled as the real CIFAR-10 files are: Python 2, protocol 2, numpy.core names, str data."""
    def s(b: bytes) -> bytes:  # SHORT_BINSTRING: how Python 2 writes a str
        return b"U" + bytes([len(b)]) + b
    raw = data.astype(np.uint8).tobytes()
    return (b"\x80\x02}(" + s(b"data")
            + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + s(b"b") + b"\x87R"
            + b"(K\x01M" + struct.pack("<H", len(data)) + b"M\x00\x0c\x86"
            + b"cnumpy\ndtype\n" + s(b"u1") + b"K\x00K\x01\x87R"
            + b"(K\x03" + s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
            + b"\x89T" + struct.pack("<I", len(raw)) + raw + b"tb"
            + s(b"labels") + b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"eu.")


def test_cifar_batches_in_the_original_python2_pickle_format(tmp_path: Path) -> None:
    base = write_cifar(tmp_path)
    data = np.random.default_rng(2).integers(0, 256, (3, 3072), dtype=np.uint8)
    raw = py2_batch(data, [7, 8, 9])
    reference = pickle.loads(raw, encoding="bytes")  # what numpy itself makes of it
    assert reference[b"labels"] == [7, 8, 9] and np.array_equal(reference[b"data"], data)
    (base / "test_batch").write_bytes(raw)
    d = load_builtin("cifar10", str(tmp_path))
    assert d.test.targets["out"].tolist() == [7, 8, 9]
    np.testing.assert_array_equal(d.test.inputs["image"], data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_cifar_batches_are_read_with_a_restricted_unpickler(tmp_path: Path) -> None:
    base = write_cifar(tmp_path)
    d = load_builtin("cifar10", str(tmp_path))
    assert d.train.inputs["image"].shape == (20, 32, 32, 3) and d.test.inputs["image"].shape == (4, 32, 32, 3)
    first = pickle.loads((base / "data_batch_1").read_bytes())[b"data"][0].reshape(3, 32, 32)
    np.testing.assert_array_equal(d.train.inputs["image"][0], first.transpose(1, 2, 0))  # channel-last
    marker = tmp_path / "pwned"
    (base / "test_batch").write_bytes(pickle.dumps({b"data": _Evil(marker), b"labels": []}))
    msg = raises(load_builtin, "cifar10", str(tmp_path))
    assert msg.startswith(f"{base / 'test_batch'}: not a CIFAR-10 python batch") and "refused global" in msg
    assert not marker.exists()
    write_cifar(tmp_path, labels=[0, 1, 2, 11])
    assert "label 11 of item 3 is outside 0..9" in raises(load_builtin, "cifar10", str(tmp_path))
    write_cifar(tmp_path)
    (base / "data_batch_3").write_bytes(pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}))
    assert "(N, 3072)" in raises(load_builtin, "cifar10", str(tmp_path))
    (base / "data_batch_3").write_bytes((base / "data_batch_2").read_bytes()[:500])
    assert raises(load_builtin, "cifar10", str(tmp_path)).startswith(f"{base / 'data_batch_3'}: not a CIFAR-10")


# ---------------------------------------------------------------- fuzzing: only DataError comes out


@needs_ts
def test_fuzz_ts(tmp_path: Path) -> None:
    sources = [(TS_DIR / "ItalyPowerDemand_TRAIN.ts").read_bytes()]
    jv = (TS_DIR / "JapaneseVowels_TRAIN.ts").read_bytes().split(b"\n")
    sources.append(b"\n".join(jv[:15 + 20]) + b"\n")  # header and 20 multichannel cases
    for k, raw in enumerate(sources):
        (tmp_path / "F_TEST.ts").write_bytes(raw)
        for m in mutants(raw, 40, seed=k, head=1500):
            (tmp_path / "F_TRAIN.ts").write_bytes(m)
            only_data_errors(read_ts, tmp_path / "F_TRAIN.ts")


def test_fuzz_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.normal(size=(5, 4, 2)), y_train=np.arange(5), lengths_train=np.array([4, 1, 2, 3, 4]),
                  x_test=rng.normal(size=(2, 4, 2)), y_test=np.arange(2), lengths_test=np.array([2, 2]))
    for k, save in enumerate((np.savez, np.savez_compressed)):
        save(tmp_path / "good.npz", **arrays)
        raw = (tmp_path / "good.npz").read_bytes()
        for m in mutants(raw, 60, seed=k):
            (tmp_path / "f.npz").write_bytes(m)
            only_data_errors(read_npz, tmp_path / "f.npz")


@needs_ts
def test_fuzz_csv(tmp_path: Path) -> None:
    for m in mutants((TS_DIR / "Airline.csv").read_bytes(), 40, seed=0, head=40):
        (tmp_path / "a.csv").write_bytes(m)
        only_data_errors(read_csv, tmp_path / "a.csv", window=12)
    rows = b"s1,s2,s3,label\n1,2,3,up\n3,2,1,down\n1,1,2,up\n"
    (tmp_path / "r_TEST.csv").write_bytes(rows)
    for m in mutants(rows, 40, seed=1):
        (tmp_path / "r_TRAIN.csv").write_bytes(m)
        only_data_errors(read_csv, tmp_path / "r_TRAIN.csv")


@needs_mnist
def test_fuzz_mnist_files(tmp_path: Path) -> None:
    labels = (MNIST_DIR / "train-labels-idx1-ubyte.gz").read_bytes()
    for m in mutants(labels, 30, seed=0, head=64):
        (tmp_path / "l.gz").write_bytes(m)
        only_data_errors(read_idx, tmp_path / "l.gz", "labels")
    images = (MNIST_DIR / "t10k-images-idx3-ubyte.gz").read_bytes()
    rng = np.random.default_rng(1)
    for cut in rng.integers(0, len(images), 3):
        (tmp_path / "i.gz").write_bytes(images[:cut])
        assert "truncated gzip" in raises(read_idx, tmp_path / "i.gz", "images") or cut < 20


def test_fuzz_cifar_batches(tmp_path: Path) -> None:
    base = write_cifar(tmp_path, n=3, labels=[0, 1, 2])
    py2 = py2_batch(np.zeros((3, 3072), np.uint8), [0, 1, 2])
    for k, raw in enumerate([(base / "test_batch").read_bytes(), (base / "data_batch_1").read_bytes(), py2]):
        for m in mutants(raw, 30, seed=k, head=200):
            (base / "test_batch").write_bytes(m)
            only_data_errors(load_builtin, "cifar10", str(tmp_path))
